"""The compliance report (PDF/A-3b) and officer sign-off, checked with independent tools:
pypdf for text and attachments, Poppler's pdfinfo and pdfsig for metadata and signatures."""

from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from pypdf import PdfReader

from govkit.audit.chain import Checkpoint
from govkit.audit.log import AuditLog
from govkit.canonical import digest as canonical_digest
from govkit.cli import cli
from govkit.demo.run import asset_root
from govkit.report.fetcher import AssetOnlyFetcher
from govkit.report.render import ReportInputs, render_html, render_pdf

ENV: dict[str, str] = {}


def govkit(*args: str) -> Result:
    """The CLI against this module's log (the per-test isolation fixture would give each test a new one)."""
    return CliRunner(env={"NO_COLOR": "1", "CI": "", **ENV}).invoke(cli, list(args), catch_exceptions=False)


def module_log() -> AuditLog:
    return AuditLog(ENV["GOVKIT_DB"], key_path=Path(ENV["GOVKIT_KEY"]))


def text_of(pdf: Path | bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf) if isinstance(pdf, bytes) else str(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


@pytest.fixture(scope="module")
def recorded(demo_source: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The demo checked as lending, recorded in a fresh log; a report rendered from it; two signers."""
    home = tmp_path_factory.mktemp("report")
    ENV.update(GOVKIT_DB=str(home / "govkit.db"), GOVKIT_KEY=str(home / "log.pem"))
    checked = govkit(
        "check", str(demo_source / "govkit.yaml"), "--policy", str(asset_root() / "policies"), "--format", "json"
    )
    evaluation = json.loads(checked.stdout)
    pdf = home / "report.pdf"
    rendered = govkit("report", "--latest", "credit-scorer", "--out", str(pdf))
    assert rendered.exit_code == 0, rendered.output
    for name in ("Carol Officer", "Dan Risk"):
        govkit(
            "keys",
            "signer-cert",
            "--name",
            name,
            "--email",
            f"{name.split()[0].lower()}@example.org",
            "--out",
            str(home / "signers"),
        )
    return {"home": home, "pdf": pdf, "evaluation": evaluation}


def test_report_text_shows_verdict_findings_and_figures(recorded: dict[str, Any]) -> None:
    text = text_of(recorded["pdf"])
    ev = recorded["evaluation"]
    assert "credit-scorer 2.1.0" in text and "FAIL" in text
    assert ev["evaluation_digest"] in text.replace("\n", "")
    for rule in ("GK-LIC-001", "GK-LIC-002", "GK-FAIR-001", "GK-FAIR-002"):
        assert rule in text
    age = next(t for t in ev["measurements"]["fairness"]["tables"] if t["feature"] == "age_band")
    young = next(g for g in age["groups"] if g["group"] == "18-24")
    assert f"{young['selection_rate']:.3f}" in text and f"{young['impact_ratio']:.3f}" in text
    for heading in (
        "Executive summary",
        "Cohort fairness",
        "Every cohort group",
        "Licence inventory",
        "Policy provenance",
        "Audit trail",
        "Sign-off",
        "WVR-2026-021",
    ):
        assert heading in text
    assert "Page 1 of" in text


def test_attachments_match_the_log(recorded: dict[str, Any]) -> None:
    reader = PdfReader(str(recorded["pdf"]))
    attachments = {name: data[0] for name, data in reader.attachments.items()}
    assert set(attachments) == {"evaluation.json", "checkpoint.txt"}
    ev = recorded["evaluation"]
    body = attachments["evaluation.json"]
    assert hashlib.sha256(body).hexdigest() == ev["evaluation_digest"]
    with module_log() as log:
        (entry,) = log.entries(action="evaluation.recorded")
        assert log.payload(entry.seq)["evaluation"] == json.loads(body)
        note = Checkpoint.parse(attachments["checkpoint.txt"].decode())
        assert note in log.stored_checkpoints()[0]
        (rendered,) = log.entries(action="report.rendered")
        logged = log.payload(rendered.seq)
    assert logged["sha256"] == hashlib.sha256(recorded["pdf"].read_bytes()).hexdigest()
    assert logged["checkpoint"] == {"size": note.size, "root": note.root}


def test_pdfinfo_metadata_and_pdfa(recorded: dict[str, Any]) -> None:
    info = subprocess.run(["pdfinfo", str(recorded["pdf"])], capture_output=True, text=True, check=True).stdout
    assert "Title:           Compliance report: credit-scorer 2.1.0" in info
    assert "Keywords:" in info and "credit-scorer" in info.split("Keywords:")[1].splitlines()[0]
    assert "Subject:         Policy evaluation of credit-scorer 2.1.0" in info
    assert "Author:          govkit (team lending)" in info
    assert "A4" in info
    xmp = PdfReader(str(recorded["pdf"])).xmp_metadata
    assert xmp is not None
    raw = xmp.stream.get_data().decode()
    # XMP allows both element and attribute form for the PDF/A identification
    assert re.search(r'pdfaid:part(="|>)3', raw) and re.search(r'pdfaid:conformance(="|>)B', raw), raw


def inputs_from(recorded: dict[str, Any], **change: Any) -> ReportInputs:
    ev = {k: v for k, v in recorded["evaluation"].items() if k != "evaluation_digest"}
    return ReportInputs(evaluation=ev, digest=recorded["evaluation"]["evaluation_digest"], **change)


def test_rendering_is_deterministic(recorded: dict[str, Any]) -> None:
    first = render_pdf(inputs_from(recorded))
    second = render_pdf(inputs_from(recorded))
    assert first == second
    assert render_pdf(inputs_from(recorded, paper="letter")) != first


def test_letter_paper(recorded: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "letter.pdf"
    out.write_bytes(render_pdf(inputs_from(recorded, paper="letter")))
    info = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True, check=True).stdout
    assert "612 x 792 pts (letter)" in info


def test_user_text_cannot_fetch_anything(recorded: dict[str, Any]) -> None:
    inputs = inputs_from(recorded)
    hostile = '<img src="file:///etc/passwd"><link rel=stylesheet href="http://evil.example/x.css">'
    ev = dict(inputs.evaluation)
    ev["model"] = {**ev["model"], "intended_use": hostile}
    hostile_inputs = ReportInputs(evaluation=ev, digest=canonical_digest(ev))
    html = render_html(hostile_inputs)
    assert "&lt;img src=&#34;file:///etc/passwd&#34;&gt;" in html
    fetcher = AssetOnlyFetcher()
    text = text_of(render_pdf(hostile_inputs, fetcher=fetcher))
    assert '<img src="file:///etc/passwd">' in text.replace("\n", "")
    assert all(url.endswith("/report.css") for url in fetcher.served)
    assert not any("passwd" in url or "evil" in url for url in fetcher.served)


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "http://example.com/a.png",
        "https://example.com/",
        "data:image/png;base64,AAAA",
        "file:///proc/self/environ",
    ],
)
def test_fetcher_refuses_everything_but_assets(url: str) -> None:
    fetcher = AssetOnlyFetcher()
    with pytest.raises(ValueError, match="refused"):
        fetcher.fetch(url)
    assert fetcher.refused == [url]


def test_long_cohort_table_renders(recorded: dict[str, Any]) -> None:
    ev = json.loads(json.dumps({k: v for k, v in recorded["evaluation"].items() if k != "evaluation_digest"}))
    template = ev["measurements"]["fairness"]["tables"][0]["groups"][0]
    ev["measurements"]["fairness"]["tables"] = [
        {
            "feature": "zip_code",
            "features": ["zip_code"],
            "unknown_count": 0,
            "summary": {},
            "groups": [{**template, "group": f"{10000 + i}", "key": {"zip_code": f"{10000 + i}"}} for i in range(700)],
        }
    ]
    pdf = render_pdf(ReportInputs(evaluation=ev, digest=canonical_digest(ev)))
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) > 40
    assert "10699" in reader.pages[-1].extract_text() or "10699" in text_of(pdf)


def test_objects_are_not_packed_into_one_object_stream(recorded: dict[str, Any]) -> None:
    """pyHanko re-reads an object stream's header for every object it fetches from it: with a tagged
    report's thousands of structure elements in one stream, validating two signatures took minutes."""
    data = recorded["pdf"].read_bytes()
    assert b"/StructTreeRoot" in data  # still a tagged PDF
    assert b"/ObjStm" not in data


def test_signoff_twice_and_validate(recorded: dict[str, Any]) -> None:
    home, pdf = recorded["home"], recorded["pdf"]
    signers = home / "signers"
    first = govkit(
        "signoff",
        str(pdf),
        "--signer",
        "Carol Officer <carol@example.org>",
        "--role",
        "Compliance Officer",
        "--decision",
        "approve-with-conditions",
        "--conditions",
        "Re-test age fairness in Q1",
        "--key",
        str(signers / "carol-officer.key.pem"),
        "--cert",
        str(signers / "carol-officer.cert.pem"),
    )
    assert first.exit_code == 0, first.output
    signed1 = home / "report-signed1.pdf"
    text = text_of(signed1)
    assert "approve-with-conditions" in text and "Carol Officer" in text and "Re-test age fairness in Q1" in text
    second = govkit(
        "signoff",
        str(signed1),
        "--signer",
        "Dan Risk <dan@example.org>",
        "--role",
        "Model Risk",
        "--decision",
        "approve",
        "--key",
        str(signers / "dan-risk.key.pem"),
        "--cert",
        str(signers / "dan-risk.cert.pem"),
    )
    assert second.exit_code == 0, second.output
    signed2 = home / "report-signed2.pdf"
    pdfsig = subprocess.run(["pdfsig", str(signed2)], capture_output=True, text=True).stdout
    assert pdfsig.count("Signature Validation: Signature is Valid.") == 2, pdfsig
    verified = govkit(
        "verify-pdf",
        str(signed2),
        "--trust",
        str(signers / "carol-officer.cert.pem"),
        "--trust",
        str(signers / "dan-risk.cert.pem"),
    )
    assert verified.exit_code == 0, verified.output
    assert "govkit-signoff-1: valid, trusted" in verified.stdout
    assert "govkit-signoff-2: valid, trusted" in verified.stdout
    assert "(signoff.recorded)" in verified.stdout
    with module_log() as log:
        records = [log.payload(e.seq) for e in log.entries(action="signoff.recorded")]
        assert log.verify().ok
    assert [r["signer"] for r in records] == ["Carol Officer", "Dan Risk"]
    assert records[1]["signed_sha256"] == hashlib.sha256(signed2.read_bytes()).hexdigest()
    assert len(records[0]["cert_sha256"]) == 64
    # one byte changed inside the signed content: verification fails
    data = bytearray(signed2.read_bytes())
    at = data.index(b"/Title") + 8
    data[at] ^= 0x01
    tampered = home / "tampered.pdf"
    tampered.write_bytes(bytes(data))
    broken = govkit("verify-pdf", str(tampered))
    assert broken.exit_code == 1
    assert "FAILED" in broken.stderr


def test_signing_an_unlogged_file_is_refused(recorded: dict[str, Any], tmp_path: Path) -> None:
    stranger = tmp_path / "other.pdf"
    stranger.write_bytes(recorded["pdf"].read_bytes() + b"\n%")
    signers = recorded["home"] / "signers"
    result = govkit(
        "signoff",
        str(stranger),
        "--signer",
        "Carol Officer <carol@example.org>",
        "--role",
        "CO",
        "--decision",
        "approve",
        "--key",
        str(signers / "carol-officer.key.pem"),
        "--cert",
        str(signers / "carol-officer.cert.pem"),
    )
    assert result.exit_code == 2 and "not a report rendering or sign-off recorded" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--decision", "approve-with-conditions"], "needs --conditions"),
        (["--decision", "approve", "--signer", "Carol"], "Full Name <email@example.org>"),
    ],
)
def test_bad_signoff_input(recorded: dict[str, Any], args: list[str], message: str) -> None:
    signers = recorded["home"] / "signers"
    base = [
        "signoff",
        str(recorded["pdf"]),
        "--role",
        "CO",
        "--key",
        str(signers / "carol-officer.key.pem"),
        "--cert",
        str(signers / "carol-officer.cert.pem"),
    ]
    if "--signer" not in args:
        base += ["--signer", "Carol Officer <carol@example.org>"]
    result = govkit(*base, *args)
    assert result.exit_code == 2 and message in result.stderr


def log_length() -> int:
    with module_log() as log:
        return len(log.entries())


def signoff_args(recorded: dict[str, Any], signer: str, key: Path, cert: Path) -> list[str]:
    return [
        "signoff",
        str(recorded["pdf"]),
        "--signer",
        signer,
        "--role",
        "CO",
        "--decision",
        "approve",
        "--key",
        str(key),
        "--cert",
        str(cert),
    ]


@pytest.mark.parametrize(
    ("signer", "key_of", "cert_of", "message"),
    [
        (
            "Carol Officer <carol@example.org>",
            "dan-risk",
            "dan-risk",
            "signer name 'Carol Officer' is not the certificate",
        ),
        ("Dan Risk <carol@example.org>", "dan-risk", "dan-risk", "signer e-mail 'carol@example.org' is not in the"),
        (
            "\u0421arol Officer <carol@example.org>",
            "carol-officer",
            "carol-officer",
            "is not the certificate's subject",
        ),
        ("Carol Officer <carol@example.org>", "dan-risk", "carol-officer", "does not belong to the certificate"),
    ],
)
def test_signoff_refused_before_anything_is_logged(
    recorded: dict[str, Any], signer: str, key_of: str, cert_of: str, message: str
) -> None:
    signers = recorded["home"] / "signers"
    before = log_length()
    result = govkit(*signoff_args(recorded, signer, signers / f"{key_of}.key.pem", signers / f"{cert_of}.cert.pem"))
    assert result.exit_code == 2, result.output
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert log_length() == before


@pytest.mark.parametrize(
    ("start", "end", "words"), [(-800, -30, "certificate expired"), (30, 800, "certificate not valid before")]
)
def test_signoff_with_expired_or_future_certificate_is_refused(
    recorded: dict[str, Any], tmp_path: Path, start: int, end: int, words: str
) -> None:
    from certs import dated_certificate

    now = datetime.now(UTC)
    key, cert = dated_certificate(
        tmp_path, "Carol Officer", "carol@example.org", now + timedelta(days=start), now + timedelta(days=end)
    )
    before = log_length()
    result = govkit(*signoff_args(recorded, "Carol Officer <carol@example.org>", key, cert))
    assert result.exit_code == 2 and words in result.stderr, result.output
    assert log_length() == before


def test_signer_identities_are_compared_normalised() -> None:
    from govkit.identity import plain_text

    assert plain_text("\uff23arol\u200b  OFFICER ") == plain_text("carol officer")  # fullwidth, zero-width
    assert plain_text("CAROL@Example.org") == plain_text("carol@example.org")
    assert plain_text("\u0421arol Officer") != plain_text("Carol Officer")  # Cyrillic С stays distinct


@pytest.mark.parametrize("changed", ["report.html.j2", "bank.css"])
def test_signoff_refuses_a_report_whose_templates_changed_since_review(
    recorded: dict[str, Any], tmp_path: Path, changed: str
) -> None:
    """Found by review: the first sign-off re-renders the report, and used whatever the template folder held
    then, so the officer signed content that was not in the report reviewed."""
    import shutil

    folder = tmp_path / "tpl"
    shutil.copytree(asset_root() / "examples" / "bank-template", folder)
    reviewed = tmp_path / "reviewed.pdf"
    rendered = govkit("report", "--latest", "credit-scorer", "--template", str(folder), "--out", str(reviewed))
    assert rendered.exit_code == 0, rendered.output
    with (folder / changed).open("a", encoding="utf-8") as fh:
        fh.write("\n/* TEMPLATE-CHANGED-AFTER-REVIEW */\n" if changed.endswith(".css") else "\n{# changed #}\n")
    signers = recorded["home"] / "signers"
    before = log_length()
    args = signoff_args(
        {"pdf": reviewed},
        "Carol Officer <carol@example.org>",
        signers / "carol-officer.key.pem",
        signers / "carol-officer.cert.pem",
    )
    result = govkit(*args)
    assert result.exit_code == 2, result.output
    assert "templates changed since this report was rendered" in result.stderr
    assert log_length() == before  # refused before the decision was logged
