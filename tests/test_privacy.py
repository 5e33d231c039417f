"""Privacy: PII found with real validators on Faker data across locales, decoys left alone,
declared vs detected, protected features and proxies, k-anonymity, and no raw PII in any output."""

from __future__ import annotations

import json
import random
import re
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from faker import Faker

from conftest import Project
from govkit.checks.privacy.detectors import mask
from govkit.checks.privacy.measurement import PrivacyMeasurement
from shapes import assert_shape

LOCALES = ["en_US", "de_DE", "fr_FR", "en_GB", "es_ES", "it_IT", "nl_NL"]
PII_COLUMNS = {
    "customer_name": "person_name",
    "email": "email",
    "contact": "phone",
    "ssn": "ssn",
    "iban": "iban",
    "card_number": "payment_card",
    "client_ip": "ip_address",
    "date_of_birth": "date_of_birth",
    "home_address": "postal_address",
    "notes": "free text",
}
DECOYS = [
    "account_id",
    "product_code",
    "invoice_number",
    "order_date",
    "amount",
    "product_name",
    "zip",
    "description",
    "sku",
    "balance",
    "score",
]


def luhn_invalid(rng: random.Random) -> str:
    from stdnum import luhn

    while True:
        number = str(rng.randint(10**15, 10**16 - 1))
        if not luhn.is_valid(number):
            return number


def people(n: int = 1400, seed: int = 7) -> pd.DataFrame:
    rng = random.Random(seed)
    fakers = {loc: Faker(loc) for loc in LOCALES}
    Faker.seed(seed)
    us = fakers["en_US"]
    rows = []
    for i in range(n):
        f = fakers[LOCALES[i % len(LOCALES)]]
        note = us.sentence(nb_words=8)
        if i % 3 == 0:
            note += f" Call me at {us.phone_number()} or write to {f.email()}."
        rows.append(
            {
                "customer_name": f.name(),
                "email": f.email(),
                "contact": f.phone_number(),
                "ssn": us.ssn(),
                "iban": f.iban(),
                "card_number": us.credit_card_number(),
                "client_ip": f.ipv4(),
                "date_of_birth": f.date_of_birth(minimum_age=18, maximum_age=90).isoformat(),
                "home_address": f.address(),
                "notes": note,
                "account_id": str(rng.randint(10**8, 10**9 - 1)),
                "product_code": f"{rng.choice('ABCDEFGH')}{rng.choice('XYZW')}-{rng.randint(1000, 9999)}-"
                f"{rng.choice('QRST')}{rng.choice('JKLM')}",
                "invoice_number": luhn_invalid(rng),
                "order_date": f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                "amount": f"{rng.uniform(1, 5000):.2f}",
                "balance": f"{rng.uniform(1e6, 9e7):.2f}",
                "score": f"{rng.random():.6f}",
                "product_name": rng.choice(["Blue Widget", "Steel Bolt Pack", "Garden Hose Pro", "Desk Lamp"]),
                "zip": f"{rng.randint(10000, 99999)}",
                "description": us.sentence(nb_words=10),
                "sku": f"SKU{rng.randint(100000, 999999)}",
                "sex": rng.choice(["female", "male"]),
                "age_band": rng.choice(["18-24", "25-39", "40-59", "60+"]),
            }
        )
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def faker_frame() -> pd.DataFrame:
    return people()


def privacy_project(project: Project, frame: pd.DataFrame, rules: list[dict[str, Any]], **training: Any) -> None:
    frame.to_csv(project.root / "data" / "train.csv", index=False)
    project.manifest(lambda m: m["datasets"]["training"].update(training))
    project.policy(lambda p: p.update(rules=rules))


def rule(check: str, rid: str = "P-PRIV-001", **params: Any) -> dict[str, Any]:
    return {"id": rid, "title": check, "check": check, "params": params, "severity": "high"}


def test_every_pii_column_found_and_no_decoy(project: Project, faker_frame: pd.DataFrame) -> None:
    privacy_project(project, faker_frame, [rule("privacy.no_undeclared_pii", datasets=["training"])])
    code, data = project.check_json()
    assert code == 1
    columns = {c["column"]: c for c in data["measurements"]["privacy"]["datasets"]["training"]["columns"]}
    finding = data["findings"][0]
    for column, kind in PII_COLUMNS.items():
        assert column in finding["message"], (column, columns[column])
        if kind == "free text":
            assert columns[column]["free_text_share"] > 0.25 and set(columns[column]["embedded"]) >= {"email"}
        else:
            assert columns[column]["best"] == kind and columns[column]["share"] >= 0.8, (column, columns[column])
    for decoy in DECOYS:
        assert f"{decoy} (" not in finding["message"], (decoy, columns[decoy])
    assert finding["measured"] == len(PII_COLUMNS)


def test_declared_vs_detected(project: Project, faker_frame: pd.DataFrame) -> None:
    privacy_project(
        project,
        faker_frame,
        [
            rule("privacy.no_undeclared_pii", datasets=["training"]),
            rule("privacy.declared_pii_present", "P-PRIV-002", datasets=["training"]),
        ],
        pii=[*PII_COLUMNS, "account_id"],
    )
    _, data = project.check_json()
    by_rule = {f["rule_id"]: f for f in data["findings"]}
    assert by_rule["P-PRIV-001"]["status"] == "pass"
    assert by_rule["P-PRIV-002"]["status"] == "fail"
    assert by_rule["P-PRIV-002"]["message"].endswith("no PII found in: account_id")


def test_masked_examples_only() -> None:
    assert mask("ericahodges@example.com") == "e***@***.com"
    assert mask("311-37-9627") == "***-**-**27"
    assert mask("DE97083778353374068124") == "********************24"


def test_no_raw_pii_in_json_report_or_log(project: Project, faker_frame: pd.DataFrame, isolated_log: Path) -> None:
    privacy_project(project, faker_frame, [rule("privacy.no_undeclared_pii", datasets=["training"])])
    _, data = project.check_json(log=True)
    text = json.dumps(data, indent=2, ensure_ascii=False)  # byte for byte what `--format json` printed
    html = project.root / "report.html"
    assert project.run(["report", data["evaluation_digest"][:16], "--html", "--out", str(html)]).exit_code == 0
    pdf = project.root / "report.pdf"
    assert project.run(["report", data["evaluation_digest"][:16], "--out", str(pdf)]).exit_code == 0
    from pypdf import PdfReader

    pdf_text = "".join(p.extract_text() for p in PdfReader(str(pdf)).pages).replace("\n", "")
    log_bytes = b"".join(p.read_bytes() for p in isolated_log.glob("govkit.db*"))  # the database and any WAL
    assert len(log_bytes) > 10_000
    surfaces = {"json": text, "html": html.read_text(), "pdf": pdf_text, "log": log_bytes.decode("latin-1")}
    raw = {v for col in PII_COLUMNS for v in faker_frame[col].astype(str) if len(v) >= 8}
    raw |= {part for v in faker_frame["home_address"] for part in v.split("\n") if len(part) >= 8}
    examples = [e for c in data["measurements"]["privacy"]["datasets"]["training"]["columns"] for e in c["examples"]]
    assert examples  # masked examples are shown...
    for name, surface in surfaces.items():
        leaked = [v for v in raw if v in surface]
        assert not leaked, (name, leaked[:3])  # ...and no raw value anywhere


def test_sampling_is_reproducible_and_full_scan_agrees(project: Project) -> None:
    frame = people(n=3000, seed=11)
    privacy_project(project, frame, [rule("privacy.no_undeclared_pii", datasets=["training"])])
    _, first = project.check_json()
    _, second = project.check_json()
    a = first["measurements"]["privacy"]["datasets"]["training"]["columns"]
    assert a == second["measurements"]["privacy"]["datasets"]["training"]["columns"]
    from govkit.checks.privacy.sampling import row_keys

    assert np.array_equal(row_keys(0, 100)[50:], row_keys(50, 50))  # keys don't depend on batching


def test_protected_features_and_proxies(project: Project) -> None:
    rng = np.random.default_rng(3)
    n = 3000
    sex = rng.choice(["female", "male"], n)
    frame = pd.DataFrame(
        {
            "y": rng.integers(0, 2, n),
            "yhat": rng.integers(0, 2, n),
            "score": rng.random(n).round(4),
            "f1": rng.random(n),
            "gender_code": rng.integers(0, 2, n),
            "height_cm": np.where(sex == "male", 178, 165) + rng.normal(0, 6, n),
            "first_purchase_channel": np.where(rng.random(n) < 0.85, np.where(sex == "male", "store", "web"), "app"),
            "sex": sex,
        }
    )
    frame.to_csv(project.root / "data" / "eval.csv", index=False)
    project.manifest(
        lambda m: (
            m["datasets"]["evaluation"].update(
                features=["f1", "gender_code", "height_cm", "first_purchase_channel", "sex"]
            ),
            m.update(sensitive_features=["sex"]),
        )
    )
    project.policy(
        lambda p: p.update(
            rules=[
                rule("privacy.no_protected_features"),
                rule("privacy.proxy_features", "P-PRIV-002", max_association=0.3),
            ]
        )
    )
    _, data = project.check_json()
    by_rule = {f["rule_id"]: f for f in data["findings"]}
    protected = by_rule["P-PRIV-001"]
    assert protected["status"] == "fail" and "sex (listed in sensitive_features)" in protected["message"]
    assert "gender_code (name maps to a protected attribute)" in protected["message"]
    proxies = by_rule["P-PRIV-002"]
    assert proxies["status"] == "fail"
    assert "height_cm~sex" in proxies["message"] and "first_purchase_channel~sex" in proxies["message"]
    assert "f1~sex" not in proxies["message"]
    scores = {(s["feature"], s["method"]) for s in data["measurements"]["privacy"]["proxies"]}
    assert ("height_cm", "correlation_ratio") in scores and ("first_purchase_channel", "cramers_v") in scores
    assert_shape(data["measurements"]["privacy"], PrivacyMeasurement)


def test_k_anonymity_matches_a_direct_count(project: Project, faker_frame: pd.DataFrame) -> None:
    privacy_project(
        project,
        faker_frame,
        [rule("privacy.k_anonymity", k=3, max_share_below_k=0.05)],
        quasi_identifiers=["sex", "age_band", "zip"],
    )
    _, data = project.check_json()
    (finding,) = data["findings"]
    sizes = faker_frame.groupby(["sex", "age_band", "zip"]).size()
    expected = sizes[sizes < 3].sum() / len(faker_frame)
    assert finding["measured"] == pytest.approx(expected, abs=1e-6)
    assert finding["status"] == ("fail" if expected > 0.05 else "pass")
    (k,) = data["measurements"]["privacy"]["k_anonymity"]
    assert k["smallest"] == sizes.min() and k["classes"] == len(sizes)
    assert_shape(data["measurements"]["privacy"], PrivacyMeasurement)


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("unknown-qi", "quasi-identifier 'postcode' is not a column"),
        ("empty", "no rows"),
        ("unreadable", "cannot read"),
    ],
)
def test_bad_privacy_input(project: Project, faker_frame: pd.DataFrame, setup: str, message: str) -> None:
    rules = (
        [rule("privacy.k_anonymity", quasi_identifiers=["postcode"])]
        if setup == "unknown-qi"
        else [rule("privacy.no_undeclared_pii", datasets=["training"])]
    )
    privacy_project(project, faker_frame.head(50), rules)
    path = project.root / "data" / "train.csv"
    if setup == "empty":
        path.write_text(path.read_text().splitlines()[0] + "\n")
    if setup == "unreadable":
        body = path.read_bytes()
        path.write_bytes(body + body.split(b"\n", 1)[1] * 40 + b'"unterminated,\xff\xfe\n1,2\n')  # past the header
    result = project.check("--no-log")
    assert result.exit_code == 2, result.output
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert re.search(r"(train\.csv|govkit\.yaml)", result.stderr)


def test_a_parquet_folder_is_scanned_like_one_file(project: Project, faker_frame: pd.DataFrame) -> None:
    """Training data split into Parquet parts: the same columns are found as PII as from one CSV."""
    privacy_project(project, faker_frame, [rule("privacy.no_undeclared_pii", datasets=["training"])])
    _, whole = project.check_json("--full-scan")
    parts = project.root / "data" / "train-parts"
    parts.mkdir()
    for i, idx in enumerate(np.array_split(np.arange(len(faker_frame)), 3)):
        faker_frame.iloc[idx].astype(str).to_parquet(parts / f"part-{i}.parquet", index=False)
    project.manifest(lambda m: m["datasets"]["training"].update(path="data/train-parts"))
    _, split = project.check_json("--full-scan")

    def found(data: dict[str, Any]) -> dict[str, Any]:
        columns = data["measurements"]["privacy"]["datasets"]["training"]["columns"]
        return {c["column"]: c.get("best") for c in columns}

    assert found(split) == found(whole)
    assert split["findings"][0]["measured"] == whole["findings"][0]["measured"] == len(PII_COLUMNS)


def messy(faker_frame: pd.DataFrame) -> pd.DataFrame:
    """Real exports: empty cells in text and numeric columns, a column with no value at all."""
    frame = faker_frame.head(300).copy()
    rng = np.random.default_rng(5)
    for column in ["customer_name", "email", "notes", "sex", "zip", "amount", "home_address"]:
        frame.loc[rng.random(len(frame)) < 0.2, column] = None
    frame["nothing"] = None
    frame["f1"] = rng.random(len(frame))
    frame.loc[rng.random(len(frame)) < 0.2, "f1"] = np.nan
    return frame


@pytest.mark.filterwarnings("error::pandas.errors.Pandas4Warning", "error::RuntimeWarning")
@pytest.mark.parametrize("mode", ["sample", "full"])
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_missing_values_never_crash(project: Project, faker_frame: pd.DataFrame, mode: str, fmt: str) -> None:
    """Issue 22: a null in a text column made the validity mask null and the scan crash with exit 3."""
    frame = messy(faker_frame)
    frame["y"] = np.arange(len(frame)) % 2
    frame["yhat"] = (np.arange(len(frame)) // 2) % 2
    frame["score"] = 0.5
    path = project.root / "data" / f"train.{fmt}"
    frame.to_csv(path, index=False) if fmt == "csv" else frame.to_parquet(path, index=False)
    frame.to_csv(project.root / "data" / "eval.csv", index=False)
    project.manifest(
        lambda m: (
            m["datasets"]["training"].update(path=f"data/train.{fmt}", quasi_identifiers=["sex", "zip"]),
            m["datasets"]["evaluation"].update(features=["f1", "zip", "amount", "nothing"]),
        )
    )
    project.policy(
        lambda p: p.update(
            rules=[
                rule("privacy.no_undeclared_pii", datasets=["training"]),
                rule("privacy.k_anonymity", "P-PRIV-002", k=2),
                rule("privacy.proxy_features", "P-PRIV-003"),
            ]
        )
    )
    _, data = project.check_json(*(["--full-scan"] if mode == "full" else []))
    columns = {c["column"]: c for c in data["measurements"]["privacy"]["datasets"]["training"]["columns"]}
    assert columns["nothing"]["non_null"] == 0 and columns["nothing"]["best"] is None
    assert columns["email"]["non_null"] == frame["email"].notna().sum()
    assert columns["email"]["best"] == "email" and columns["customer_name"]["best"] == "person_name"
    (k,) = data["measurements"]["privacy"]["k_anonymity"]
    assert k["rows"] == len(frame)
    assert {s["feature"] for s in data["measurements"]["privacy"]["proxies"]} == {"f1", "zip", "amount", "nothing"}


def column_evidence(column: str, values: list[str]) -> tuple[str | None, float, list[str]]:
    """(best type, its share, embedded types) of one column, scanned like a dataset column."""
    import pyarrow as pa

    from govkit.checks.privacy.detectors import ColumnScanner

    scanner = ColumnScanner(column, date(2026, 11, 25))
    scanner.feed(pa.array(values, pa.string()))
    ev = scanner.evidence()
    return (*ev.best(), ev.embedded if ev.free_text_share >= 0.05 else [])


@pytest.mark.parametrize("locale", ["en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pt_BR"])
def test_names_in_any_case_and_streets_without_postcode(locale: str) -> None:
    """Issue 14: lower-case names in `name`/`first`/`last` and streets without a postcode went undetected."""
    f = Faker(locale)
    Faker.seed(2)
    for column, make in {
        "name": lambda: f.name().lower(),
        "first": lambda: f.first_name().lower(),
        "last": lambda: f.last_name().lower(),
        "Last": f.last_name,
    }.items():
        kind, share, _ = column_evidence(column, [make() for _ in range(200)])
        assert kind == "person_name" and share >= 0.5, (column, kind, share)
    kind, share, _ = column_evidence("street", [f.street_address() for _ in range(200)])
    assert kind == "postal_address" and share >= 0.8, (kind, share)


def test_look_alikes_are_not_names_streets_or_phones() -> None:
    rng = random.Random(4)
    us = Faker("en_US")
    Faker.seed(4)
    products = [f"{us.color_name()} {rng.choice(['Widget', 'Lamp', 'Hose', 'Chair', 'Tea'])}" for _ in range(300)]
    cities = [
        rng.choice(
            [
                "Carson City",
                "San Jose",
                "Santa Clara",
                "Fort Worth",
                "Saint Paul",
                "Virginia Beach",
                "Baton Rouge",
                "Salt Lake City",
                "Des Moines",
                "Grand Rapids",
            ]
        )
        for _ in range(300)
    ]
    for column, values in {
        "name": products,
        "product_name": products,
        "city": cities,
        "company": [us.company() for _ in range(300)],
        "last": [str(rng.randint(10**9, 10**10)) for _ in range(300)],
        "account_id": [str(rng.randint(10**9, 10**10)) for _ in range(300)],
        "item": [f"{us.word().title()} Pro {rng.randint(2, 900)}" for _ in range(300)],
        "description": [us.sentence(nb_words=9) for _ in range(300)],
    }.items():
        kind, share, embedded = column_evidence(column, values)
        assert share < 0.5 and not embedded, (column, kind, share, embedded)


@pytest.mark.parametrize(
    "phone",
    [
        "+1 (415) 555-2671",
        "415-555-2671",
        "+44 20 7946 0958",
        "0044 20 7946 0958",
        "+49 30 1234567",
        "030 1234567",
        "06 12 34 56 78",
        "+33612345678",
        "(415) 555 2671 ext. 12",
    ],
)
def test_phone_inside_free_text(phone: str) -> None:
    """Issue 14: phone numbers embedded in notes were not found (with or without separators, country codes)."""
    notes = [f"Please call the client back tomorrow morning at {phone} about the claim"] * 5
    assert column_evidence("notes", notes)[2] == ["phone"]


def test_plain_digits_in_text_are_a_phone_only_where_the_text_says_so() -> None:
    called = ["Customer asked us to call her on 4155552671 about the claim today"] * 5
    assert column_evidence("notes", called)[2] == ["phone"]
    plain = [f"Order 4155552671 shipped on 2025-03-0{i} for 1,234,567.00 EUR, 12 items" for i in range(1, 6)]
    assert column_evidence("notes", plain)[2] == []
    hotel = ["The booking for hotel 4155552671 was moved during 4155552672 by the agent"] * 5  # `tel`, `ring` inside
    assert column_evidence("notes", hotel)[2] == []
    iban = ["Refund to DE89 3704 0044 0532 0130 00 requested by the customer last week"] * 5
    assert column_evidence("notes", iban)[2] == ["iban"]


def test_duplicate_and_empty_header_names(project: Project, faker_frame: pd.DataFrame) -> None:
    """ProPublica's COMPAS header names `decile_score` twice and ends with a comma (an unnamed column)."""
    frame = faker_frame.head(200)
    header = "email,score,decile,score,\n"
    body = "".join(f"{e},{i % 10},{i % 7},{i % 3},\n" for i, e in enumerate(frame["email"]))
    project.write("data/train.csv", header + body)
    project.policy(lambda p: p.update(rules=[rule("privacy.no_undeclared_pii", datasets=["training"])]))
    for extra in ([], ["--full-scan"]):
        _, data = project.check_json(*extra)
        columns = data["measurements"]["privacy"]["datasets"]["training"]["columns"]
        assert [c["column"] for c in columns] == ["email", "score", "decile", "score (2)", "column 5"]
        assert columns[0]["best"] == "email" and columns[3]["non_null"] == 200 and columns[4]["non_null"] == 0


def test_privacy_reads_a_csv_in_the_dialect_every_engine_uses(project: Project, faker_frame: pd.DataFrame) -> None:
    """A ';'-separated Latin-1 export with CRLF: the same PII as the plain CSV (it used to be one wide column)."""
    privacy_project(project, faker_frame, [rule("privacy.no_undeclared_pii", datasets=["training"])])
    _, plain = project.check_json()
    faker_frame.to_csv(
        project.root / "data" / "train.csv",
        index=False,
        sep=";",
        encoding="latin-1",
        errors="replace",
        lineterminator="\r\n",
    )
    _, exported = project.check_json()

    def found(data: dict[str, Any]) -> dict[str, Any]:
        columns = data["measurements"]["privacy"]["datasets"]["training"]["columns"]
        return {c["column"]: c.get("best") for c in columns}

    assert len(found(exported)) == len(faker_frame.columns)
    assert found(exported) == found(plain)
    assert exported["findings"][0]["measured"] == plain["findings"][0]["measured"] == len(PII_COLUMNS)
