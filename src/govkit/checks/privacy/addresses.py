"""Street addresses without a postal code: `123 Main St`, `Hauptstraße 12`, `8, rue Jeanne Henry`.

US-style streets are confirmed by usaddress (datamade's CRF address parser, offline); streets in
other languages by a street-type word beside a house number, since usaddress knows US forms only.
A column named `street` or `address` needs less: a house number beside words.
"""

from __future__ import annotations

import re
from functools import lru_cache

HOUSE_NUMBER = re.compile(r"^\d{1,5}[A-Za-z]?(?:[-/]\d{1,5}[A-Za-z]?)?,?$")
# street types of the languages usaddress does not cover; German and Dutch ones are word endings
STREET_WORDS = {
    "rue",
    "avenue",
    "boulevard",
    "bd",
    "chemin",
    "allée",
    "allee",
    "impasse",
    "place",
    "quai",
    "cours",
    "route",
    "voie",
    "passage",
    "calle",
    "c/",
    "avenida",
    "avda",
    "plaza",
    "paseo",
    "camino",
    "ronda",
    "carretera",
    "callejón",
    "callejon",
    "travesía",
    "travesia",
    "cuesta",
    "urbanización",
    "urbanizacion",
    "glorieta",
    "pasaje",
    "carrer",
    "via",
    "viale",
    "piazza",
    "piazzale",
    "corso",
    "vicolo",
    "largo",
    "strada",
    "contrada",
    "rotonda",
    "borgo",
    "stretto",
    "rua",
    "travessa",
    "alameda",
    "praça",
    "praca",
    "estrada",
    "rodovia",
    "ulica",
    "ul.",
}
STREET_ENDINGS = re.compile(
    r"(?:straße|strasse|str\.|gasse|platz|allee|damm|ufer|weg|straat|laan|plein|gracht|kade|"
    r"dijk|singel|hof|steeg|boulevard)$",
    re.IGNORECASE,
)
# RE2 prefilter (pyarrow.compute): a stand-alone house number before or after a word (never a bare number)
_NUMBER = r"\d{1,5}[A-Za-z]?(?:[-/]\d{1,5}[A-Za-z]?)?"
STREET_SHAPE = rf"(?:^|[\s,]){_NUMBER}[\s,].*\pL\pL|\pL\pL.*[\s,]{_NUMBER}(?:[\s,]|$)"


def _street_word(word: str) -> bool:
    w = word.lower().strip(",")
    return w in STREET_WORDS or (len(w) > 5 and bool(STREET_ENDINGS.search(w)))


@lru_cache(maxsize=65_536)
def is_street(value: str, signal: bool = False) -> bool:
    """Whether `value` is a street line (house number and street); `signal`: the column's name says address."""
    text = " ".join(value.split())
    if not text or len(text) > 120 or text[-1] in "!?":
        return False
    words = text.split()
    if not 2 <= len(words) <= 10 or not any(HOUSE_NUMBER.match(w) for w in words):
        return False
    if not any(sum(c.isalpha() for c in w) >= 3 for w in words):
        return False
    if signal or any(_street_word(w) for w in words):
        return True
    if text.endswith(".") and len(words[-1]) > 4:
        return False  # a sentence, not an abbreviation such as `St.`
    import usaddress

    try:
        parts, kind = usaddress.tag(text)
    except usaddress.RepeatedLabelError:
        return False
    return (
        kind == "Street Address"
        and "AddressNumber" in parts
        and "StreetName" in parts
        and ("StreetNamePostType" in parts or "StreetNamePreType" in parts)
    )
