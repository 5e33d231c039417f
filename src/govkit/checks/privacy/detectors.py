"""PII detectors: a pattern proposes a candidate, a well-kept library confirms it.

Checksums and number plans come from python-stdnum (IBAN, Luhn, US SSN rules), phonenumbers
and email-validator, person names from the census name lists (names.py), streets from
usaddress (addresses.py); nothing here re-implements them. Column names are a second signal,
needed where values alone cannot tell (a lone first name, undelimited SSNs).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from govkit.checks.privacy.addresses import STREET_SHAPE, is_street
from govkit.checks.privacy.names import FULL_NAME_SHAPE, Part, is_person_name, name_shaped

PHONE_REGIONS = (None, "US", "GB", "DE", "FR", "ES", "IT", "NL", "IN", "CA", "AU", "BR", "JP")

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
PHONE = re.compile(r"^\+?\(?\d[\d\s().\-/]{5,20}\d(\s*(x|ext\.?)\s*\d{1,6})?$", re.IGNORECASE)
SSN_DASHED = re.compile(r"^\d{3}-\d{2}-\d{4}$")
NINE_DIGITS = re.compile(r"^\d{9}$")
CARD = re.compile(r"^(?:\d[ -]?){11,18}\d$")
IBAN = re.compile(r"^[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}$")
IPV4 = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")
IPV6 = re.compile(r"^[0-9A-Fa-f:]{2,39}$")
DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%d.%m.%Y", "%d/%m/%Y", "%Y/%m/%d")
POSTAL_TOKEN = re.compile(r"\b(\d{4,5}|[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}|\d{4} ?[A-Z]{2})\b")
WORDS = re.compile(r"[^\W\d_]{3,}")
EMBEDDED = {
    "email": re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+"),
    "ssn": re.compile(r"\b\d{3}-\d{2}-\d{4}\b"),
    "iban": re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b"),
    "payment_card": re.compile(r"\b(?:\d[ -]?){12,18}\d\b"),
    # with or without separators, a country code (+44, 0044) and an extension
    "phone": re.compile(
        r"(?<![\w.+/\-])(?:\+|00)?\(?\d{1,5}\)?(?:[ .\-/]?\(?\d{1,5}\)?){0,6}\d"
        r"(?:\s*(?:x|ext\.?)\s*\d{1,6})?(?![\w/\-]|\.\d)",
        re.IGNORECASE,
    ),
}
PHONE_CONTEXT = re.compile(
    r"\b(?:phone|tel|call|mobile|cell|fax|whatsapp|sms|text|ring|telefon|téléphone|"
    r"telefono|teléfono|handy|portable|número|numero|nummer)\W{0,3}\s*(?:\w+\W+){0,5}$",
    re.IGNORECASE,
)
THOUSANDS = re.compile(r"^\d{1,3}(?:[.,' ]\d{3})+(?:[.,]\d+)?$")

NAME_SIGNALS: dict[str, set[str]] = {
    "email": {"email", "e_mail", "mail", "emailaddress"},
    "phone": {"phone", "telephone", "tel", "mobile", "cell", "fax", "phonenumber"},
    "ssn": {"ssn", "social_security", "socialsecurity", "sin", "national_id", "nin", "tax_id", "tin"},
    "payment_card": {"card", "cc", "credit_card", "creditcard", "pan", "card_number"},
    "iban": {"iban", "bank_account", "account_number", "bic_iban"},
    "ip_address": {"ip", "ip_address", "ipv4", "ipv6", "ipaddress", "client_ip"},
    "date_of_birth": {"dob", "birth", "birthdate", "birthday", "date_of_birth", "born"},
    "person_name": {
        "name",
        "first_name",
        "last_name",
        "full_name",
        "surname",
        "given_name",
        "family_name",
        "firstname",
        "lastname",
        "fullname",
        "forename",
        "middle_name",
        "maiden_name",
        "nickname",
    },
    "postal_address": {
        "address",
        "street",
        "addr",
        "home_address",
        "postal_address",
        "street_address",
        "mailing_address",
    },
}
NAME_PARTS = {"name", "first", "last", "given", "family", "middle", "full", "sur", "fore"}
FIRST_PART = {"first", "given", "fore", "forename", "firstname", "given_name", "first_name"}
LAST_PART = {"last", "family", "sur", "surname", "lastname", "last_name", "family_name", "maiden_name"}
PERSON_WORDS = {
    "customer",
    "applicant",
    "employee",
    "patient",
    "contact",
    "holder",
    "person",
    "client",
    "user",
    "member",
    "borrower",
    "beneficiary",
    "guarantor",
    "account_holder",
}


def tokens(column: str) -> set[str]:
    """`dateOfBirth`, `Date of Birth`, `date_of_birth` -> the joined forms and each word."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", column)
    words = [w for w in re.split(r"[^a-z0-9]+", spaced.lower()) if w]
    joined = {"_".join(words[i:j]) for i in range(len(words)) for j in range(i + 1, len(words) + 1)}
    return joined | {"".join(words)}


def name_signal(column: str) -> str | None:
    """The PII type a column's name suggests, if any."""
    found = tokens(column)
    words = {w for w in re.split(r"[^a-z0-9]+", re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", column).lower()) if w}
    for pii_type, names in NAME_SIGNALS.items():
        if pii_type != "person_name" and found & names:
            return pii_type
    if found & (NAME_SIGNALS["person_name"] - {"name"}):
        return "person_name"
    # "name", "first" or "last" alone or with a person word (customer_name, applicant_first), or a person
    # word alone (customer); not product_name, file_name, first_purchase_channel, last_login
    if words and (words - NAME_PARTS) <= PERSON_WORDS and words & ({"name", "first", "last", "given"} | PERSON_WORDS):
        return "person_name"
    return None


def name_part(column: str) -> Part:
    """Which part of a person's name a column's name says it holds."""
    found = tokens(column)
    return "first" if found & FIRST_PART else "last" if found & LAST_PART else "full"


def _email(v: str) -> bool:
    if not EMAIL.match(v):
        return False
    from email_validator import EmailNotValidError, validate_email

    try:
        validate_email(v, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


NUMBER = re.compile(r"^-?\d+(\.\d+)?$")  # a leading + marks a country code, not a sign


def _phone(v: str, signal: bool) -> bool:
    if not PHONE.match(v) or (NUMBER.match(v) and (not signal or "." in v)):
        return False  # an amount such as 41234.56 is a number, not a phone
    digits = sum(c.isdigit() for c in v)
    formatted = any(c in v for c in " ()-./+")
    if digits < 7 or digits > 18 or not (formatted or signal):
        return False
    import phonenumbers

    for region in PHONE_REGIONS:
        try:
            number = phonenumbers.parse(v, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_possible_number(number):
            return True
    return False


def _ssn(v: str, signal: bool) -> bool:
    if not (SSN_DASHED.match(v) or (signal and NINE_DIGITS.match(v))):
        return False
    from stdnum.us import ssn

    return bool(ssn.is_valid(v))


def _card(v: str) -> bool:
    if not CARD.match(v):
        return False
    digits = re.sub(r"\D", "", v)
    if not 12 <= len(digits) <= 19 or digits[0] not in "23456":
        return False  # issuer industry: travel (3), banking (4, 5, 2), merchandising and banking (6)
    from stdnum import luhn

    return bool(luhn.is_valid(digits))


def _iban(v: str) -> bool:
    if not IBAN.match(v):
        return False
    from stdnum import iban

    return bool(iban.is_valid(v))


def _ip(v: str) -> bool:
    if not (IPV4.match(v) or (":" in v and IPV6.match(v))):
        return False
    try:
        ipaddress.ip_address(v)
    except ValueError:
        return False
    return True


def parse_date(v: str) -> date | None:
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(v[:10], fmt).date()
        except ValueError:
            continue
    return None


def _address(v: str, signal: bool) -> bool:
    """A full address (lines, or a street then commas, with a postal code), or a street line alone."""
    if len(v) <= 200 and ("\n" in v or "," in v) and POSTAL_TOKEN.search(v) and len(WORDS.findall(v)) >= 2:
        parts = v.split(",")
        if "\n" in v or any(is_street(",".join(parts[:i]), signal) for i in range(1, len(parts))):
            return True
    return is_street(v, signal)


@dataclass
class ColumnEvidence:
    """What the values of one column look like; judged later against a rule's thresholds."""

    column: str
    scanned: int
    name_signal: str | None
    shares: dict[str, float] = field(default_factory=dict)  # PII type -> share of scanned values
    free_text_share: float = 0.0  # share of values that embed a PII value in longer text
    embedded: list[str] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)  # masked, never raw

    def best(self) -> tuple[str | None, float]:
        if not self.shares:
            return None, 0.0
        kind = max(self.shares, key=lambda k: self.shares[k])
        return kind, self.shares[kind]


def mask(value: str) -> str:
    """Keep a hint of the shape, never the value: separators stay, at most 2 trailing characters show."""
    if "@" in value:
        local, _, domain = value.partition("@")
        return f"{local[:1]}***@***.{domain.rsplit('.', 1)[-1]}"
    visible = 2 if len(value) >= 8 else 0
    head = value[: len(value) - visible]
    return "".join(c if not c.isalnum() else "*" for c in head) + value[len(value) - visible :]


# RE2 prefilters (pyarrow.compute): cheap, vectorised, and never stricter than the checks they guard
PREFILTERS = {
    "email": r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$",
    "phone": r"^\+?\(?\d[\d\s().\-/]{5,20}\d(\s*(x|X|ext\.?)\s*\d{1,6})?$",
    "ssn": r"^\d{3}-?\d{2}-?\d{4}$",
    "payment_card": r"^(\d[ -]?){11,18}\d$",
    "iban": r"^[A-Z]{2}\d{2}( ?[A-Z0-9]){11,30}$",
    "ip_address": r"^(\d{1,3}(\.\d{1,3}){3}|[0-9A-Fa-f:]*:[0-9A-Fa-f:]+)$",
    "postal_address": rf"[\n,].*\d|\d.*[\n,]|{STREET_SHAPE}",
    "person_name": FULL_NAME_SHAPE,
    "date": r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{2,4}",
}


# share of a name-like column's name-shaped values the census lists must confirm before every name-shaped value
# counts (names from outside the US are missing from the lists; product names confirm ~1%). Only where the
# column's name says "name": elsewhere places named after people (Virginia Beach) would pass.
NAME_CONFIRM = 0.1

PRECEDENCE = (
    "email",
    "iban",
    "ssn",
    "payment_card",
    "ip_address",
    "date_of_birth",
    "phone",
    "postal_address",
    "person_name",
)


class ColumnScanner:
    """Accumulates evidence over one column, batch by batch (a sample, or every value)."""

    def __init__(self, column: str, as_of: date) -> None:
        self.column = column
        self.as_of = as_of
        self.signal = name_signal(column)
        self.part = name_part(column)
        self.scanned = 0
        self.hits: dict[str, int] = {}
        self.masked: dict[str, list[str]] = {}
        self.ages: list[float] = []
        self.texty = 0
        self.name_shaped = 0
        self.containing = 0
        self.embedded: set[str] = set()
        self.checks: dict[str, Callable[[str], bool]] = {
            "email": _email,
            "phone": lambda v: _phone(v, self.signal == "phone"),
            "ssn": lambda v: _ssn(v, self.signal == "ssn"),
            "payment_card": _card,
            "iban": _iban,
            "ip_address": _ip,
            "postal_address": lambda v: _address(v, self.signal == "postal_address"),
            "person_name": self._person,
        }

    def _hit(self, kind: str, value: str) -> None:
        self.hits[kind] = self.hits.get(kind, 0) + 1
        if len(self.masked.setdefault(kind, [])) < 3:
            self.masked[kind].append(mask(value))

    def feed(self, values: Any) -> None:
        """`values`: a pyarrow string array without nulls.

        Each value counts for one type at most, the most specific first: an SSN or a date also
        parses as a possible phone number, and must not count as one.
        """
        import numpy as np
        import pyarrow.compute as pc

        self.scanned += len(values)
        stripped = pc.utf8_trim_whitespace(values)
        texts = stripped.to_pylist()
        claimed = np.zeros(len(texts), dtype=bool)
        for kind in PRECEDENCE:
            pattern = (
                None
                if kind == "person_name" and self.signal == "person_name"
                else PREFILTERS["date" if kind == "date_of_birth" else kind]
            )
            mask_ = (
                np.ones(len(texts), dtype=bool)
                if pattern is None
                else pc.match_substring_regex(stripped, pattern).to_numpy(zero_copy_only=False)
            )
            for i in np.flatnonzero(mask_ & ~claimed):
                if self._matches(kind, texts[i]):
                    claimed[i] = True
        long_text = stripped.filter(
            pc.and_(pc.greater_equal(pc.utf8_length(stripped), 20), pc.match_substring(stripped, " "))
        )
        self.texty += len(long_text)
        for v in long_text.to_pylist():
            kinds = {
                k
                for k, pattern in EMBEDDED.items()
                if any(_confirm_embedded(k, m.group(0), v[: m.start()]) for m in pattern.finditer(v))
            }
            if kinds:
                self.containing += 1
                self.embedded |= kinds

    def _matches(self, kind: str, v: str) -> bool:
        if kind == "date_of_birth":
            d = parse_date(v)
            if d is None or d > self.as_of or (self.as_of - d).days / 365.25 > 115:
                return False
            self.ages.append((self.as_of - d).days / 365.25)
            if len(self.masked.setdefault(kind, [])) < 3:
                self.masked[kind].append(mask(v))
            return True
        if self.checks[kind](v):
            self._hit(kind, v)
            return True
        return False

    def _person(self, v: str) -> bool:
        """A value the census lists confirm (any case): in a name-like column also the part of a name the column's
        name says (a lone first name); elsewhere only the shape of a full name, known first name and surname.
        Name-shaped values are counted too: evidence() credits them all once enough are confirmed."""
        signal = self.signal == "person_name"
        if name_shaped(v, single=signal):
            self.name_shaped += 1
        return is_person_name(v, self.part, single=True) if signal else is_person_name(v)

    def _dob_share(self) -> float:
        if not self.ages:
            return 0.0
        import numpy as np

        median_age = float(np.median(self.ages))
        low, high = np.percentile(self.ages, [10, 90])
        # birth dates of a population span decades; order or event dates cluster in a few years, whatever a
        # few outliers say (COMPAS custody dates run from the 1970s but 80% lie within two years)
        if self.signal != "date_of_birth" and (high - low < 15 or median_age < 10):
            return 0.0
        return len(self.ages) / self.scanned

    def evidence(self) -> ColumnEvidence:
        result = ColumnEvidence(column=self.column, scanned=self.scanned, name_signal=self.signal)
        if not self.scanned:
            return result
        result.shares = {k: n / self.scanned for k, n in self.hits.items()}
        confirmed = self.hits.get("person_name", 0)
        if self.signal == "person_name" and confirmed and confirmed >= NAME_CONFIRM * self.name_shaped:
            result.shares["person_name"] = max(confirmed, self.name_shaped) / self.scanned
        dob = self._dob_share()
        if dob:
            result.shares["date_of_birth"] = dob
        if self.texty >= self.scanned / 2:
            result.free_text_share = self.containing / self.scanned
            result.embedded = sorted(self.embedded)
        kind, _ = result.best()
        result.examples = self.masked.get(kind, []) if kind else []
        return result


def _embedded_phone(candidate: str, before: str) -> bool:
    """A phone number inside text: formatted or with a country code, or plain digits after a word such as
    `call`; never a date, an amount with thousands separators, or a bare number nobody called a phone."""
    if parse_date(candidate) or THOUSANDS.match(candidate):
        return False
    plain = candidate.isdigit()
    if plain and not PHONE_CONTEXT.search(before):
        return False
    return _phone(candidate, plain)


def _confirm_embedded(kind: str, text: str, before: str) -> bool:
    if kind == "phone":
        return _embedded_phone(text, before)
    return {"email": _email, "ssn": lambda v: _ssn(v, False), "iban": _iban, "payment_card": _card}[kind](text)


PROTECTED_NAMES = {
    "race",
    "ethnicity",
    "ethnic",
    "sex",
    "gender",
    "age",
    "age_band",
    "religion",
    "religious",
    "disability",
    "disabled",
    "marital",
    "marital_status",
    "pregnancy",
    "pregnant",
    "sexual_orientation",
    "orientation",
    "national_origin",
    "nationality",
    "citizenship",
    "color",
    "colour",
    "veteran",
    "genetic",
}


def protected_by_name(column: str) -> bool:
    return bool(tokens(column) & PROTECTED_NAMES)
