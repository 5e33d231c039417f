"""How govkit compares the names and addresses people type, in two strengths.

`plain_text` is how a person reads text: NFKC, no invisible format characters, case folded,
whitespace collapsed. A sign-off compares the signer with the certificate this way, so a
Cyrillic look-alike letter still makes a different name (an impersonation is refused).

`identity_key` goes further, for waiver self-approval: a requester must not approve their own
waiver by writing their identity differently, so both sides are reduced to a key: the plain text,
then common Cyrillic and Greek look-alikes mapped to the Latin letters they imitate; when the text
holds an e-mail address (`Name <addr>` or `addr`) only the address counts, without a `+tag` in its
local part. The key is for comparing, never for display.
"""

from __future__ import annotations

import unicodedata
from email.utils import parseaddr

# Cyrillic and Greek letters that render like Latin ones (after casefolding), from Unicode's
# confusables list; enough to stop look-alike spellings of Latin-script names and addresses.
_CONFUSABLES = str.maketrans(
    {
        "а": "a",
        "в": "b",
        "е": "e",
        "ё": "e",
        "к": "k",
        "м": "m",
        "н": "h",
        "о": "o",
        "р": "p",
        "с": "c",
        "т": "t",
        "у": "y",
        "х": "x",
        "ѕ": "s",
        "і": "i",
        "ї": "i",
        "ј": "j",
        "ԁ": "d",
        "ԛ": "q",
        "ԝ": "w",
        "һ": "h",
        "ӏ": "l",
        "ɡ": "g",
        "ь": "b",
        "ү": "y",
        "ս": "u",
        "օ": "o",
        "α": "a",
        "β": "b",
        "ε": "e",
        "η": "n",
        "ι": "i",
        "κ": "k",
        "ν": "v",
        "ο": "o",
        "ρ": "p",
        "τ": "t",
        "υ": "u",
        "χ": "x",
        "γ": "y",
        "ϲ": "c",
        "ϳ": "j",
        "μ": "u",
        "ω": "w",
    }
)


def plain_text(text: str) -> str:
    """`text` as a person reads it: NFKC, no invisible format characters, case folded, one space."""
    text = "".join(c for c in unicodedata.normalize("NFKC", text) if unicodedata.category(c) != "Cf")
    return " ".join(unicodedata.normalize("NFKC", text.casefold()).split())


def identity_key(identity: str) -> str:
    """The comparable form of `identity` ("" if nothing is left): look-alikes and address spellings merged."""
    text = plain_text(identity).translate(_CONFUSABLES)
    _, address = parseaddr(text)
    if "@" in address:
        local, _, domain = address.rpartition("@")
        return f"{local.split('+', 1)[0]}@{domain}"
    return text.strip("<> ").strip()


def same_identity(a: str, b: str) -> bool:
    """Do `a` and `b` name the same person (see `identity_key`)?"""
    return identity_key(a) == identity_key(b)
