"""Person names confirmed against a real name source, case-insensitively.

The source is the US Census Bureau's 1990 name lists (public domain: 88,799 surnames, 5,494
first names) as shipped in the MIT-licensed `names` package; docs/privacy.md says why this one.
A list of words cannot tell a name from a word on its own (`Blue`, `Garden` and `Berlin` are
census surnames), so a value counts as a name only in the shape of one: a full name needs a
first name in front and a surname at the end; a lone word counts only in a column whose name
says which part of a name it holds. The census lists are American: names from elsewhere are
found at column level, where enough of a column's name-shaped values are confirmed (detectors.py).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Literal

Part = Literal["first", "last", "full"]

TOKEN = re.compile(r"^[^\W\d_]+(?:['’\-][^\W\d_]+)*\.?$")
TITLES = {
    "mr",
    "mrs",
    "ms",
    "miss",
    "dr",
    "prof",
    "sir",
    "herr",
    "frau",
    "mme",
    "mlle",
    "m",
    "sr",
    "sra",
    "srta",
    "dott",
    "dott.ssa",
    "ing",
    "jr",
    "sr.",
    "ii",
    "iii",
    "iv",
    "phd",
    "md",
}
# RE2 prefilter (pyarrow.compute) for columns without a name signal: 2-4 words of letters only
FULL_NAME_SHAPE = r"^\pL[\pL'’.\-]*(?:,? \pL[\pL'’.\-]*){1,3}$"


@lru_cache(maxsize=1)
def name_lists() -> tuple[frozenset[str], frozenset[str]]:
    """(first names, surnames), lower-case ASCII."""
    from importlib.resources import files

    root = files("names")

    def read(name: str) -> frozenset[str]:
        return frozenset(
            line.split(None, 1)[0].lower() for line in root.joinpath(name).read_text().splitlines() if line.strip()
        )

    return read("dist.male.first") | read("dist.female.first"), read("dist.all.last")


def fold(word: str) -> list[str]:
    """`O'Brien` -> ['obrien'], `Hans-Jürgen` -> ['hans', 'jurgen']: the forms the census lists spell."""
    ascii_ = unicodedata.normalize("NFKD", word).encode("ascii", "ignore").decode().lower().rstrip(".")
    ascii_ = re.sub(r"['’]", "", ascii_)
    return [p for p in ascii_.split("-") if p]


def _words(value: str) -> list[list[str]] | None:
    """The name words of `value` (titles and suffixes dropped), each folded; None if not shaped like a name."""
    text = value.strip()
    if not text or len(text) > 60:
        return None
    if text.count(",") == 1:  # "Hernandez, Miguel"
        last, first = (t.strip() for t in text.split(","))
        text = f"{first} {last}"
    raw = text.split()
    if not 1 <= len(raw) <= 5 or not all(TOKEN.match(t) for t in raw):
        return None
    words = [fold(t) for t in raw if t.lower().rstrip(".") not in TITLES]
    words = [w for w in words if w]
    return words if 1 <= len(words) <= 4 else None


def name_shaped(value: str, single: bool = False) -> bool:
    """Letters-only words in the shape of a name (one word only if `single`), known to the lists or not."""
    words = _words(value)
    return words is not None and (single or len(words) >= 2)


@lru_cache(maxsize=65_536)
def is_person_name(value: str, part: Part = "full", single: bool = False) -> bool:
    """Whether `value` reads as a person's name (or the `part` of one) in the census lists.

    `single`: a lone word may count (the column's name says it holds names); without it a value
    needs the shape of a full name, first name first and surname last.
    """
    words = _words(value)
    if words is None:
        return False
    first, last = name_lists()
    if part == "first":
        return any(p in first for p in words[0])
    if part == "last":
        return any(p in last for p in words[-1])
    if len(words) == 1:
        return single and any(p in first for p in words[0])
    return any(p in first for p in words[0]) and any(p in last for p in words[-1])
