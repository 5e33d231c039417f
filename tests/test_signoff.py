"""verify-pdf on what an auditor may be handed: unsigned, expired, damaged and non-PDF files.

Real PAdES signatures made with pyHanko on a small PDF; no audit log needed (`--no-log`)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from certs import blank_pdf, dated_certificate
from govkit.cli import cli
from govkit.report.signoff import make_signer_certificate, sign_pdf


def govkit(*args: str) -> Result:
    return CliRunner(env={"NO_COLOR": "1", "CI": ""}).invoke(cli, list(args), catch_exceptions=False)


def signed(tmp_path: Path, key: Path, cert: Path, name: str = "signed.pdf") -> Path:
    out = tmp_path / name
    out.write_bytes(
        sign_pdf(
            blank_pdf(),
            key=key,
            cert=cert,
            field_name="govkit-signoff-1",
            reason="approve",
            location="test",
            contact="x@example.org",
        )
    )
    return out


@pytest.fixture(scope="module")
def carol(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_signer_certificate(
        "Carol Officer", "carol@example.org", tmp_path_factory.mktemp("carol"), algorithm="ecdsa-p256"
    )


def test_unsigned_pdf_fails_unless_unsigned_is_accepted(tmp_path: Path, carol: tuple[Path, Path]) -> None:
    pdf = tmp_path / "unsigned.pdf"
    pdf.write_bytes(blank_pdf())
    trusted = govkit("verify-pdf", str(pdf), "--no-log", "--trust", str(carol[1]))
    assert trusted.exit_code == 1 and "FAILED: no signatures, and --trust asks for a trusted signer" in trusted.stderr
    plain = govkit("verify-pdf", str(pdf), "--no-log")
    assert plain.exit_code == 1 and "no signatures" in plain.stdout and "--allow-unsigned" in plain.stderr
    accepted = govkit("verify-pdf", str(pdf), "--no-log", "--allow-unsigned")
    assert accepted.exit_code == 0 and "no signatures" in accepted.stdout
    assert govkit("verify-pdf", str(pdf), "--no-log", "--allow-unsigned", "--trust", str(carol[1])).exit_code == 1


def test_valid_signature_still_verifies(tmp_path: Path, carol: tuple[Path, Path]) -> None:
    result = govkit("verify-pdf", str(signed(tmp_path, *carol)), "--no-log", "--trust", str(carol[1]))
    assert result.exit_code == 0, result.output
    assert "govkit-signoff-1: valid, trusted" in result.stdout


@pytest.mark.parametrize(
    ("start", "end", "words"),
    [
        (-800, -30, "certificate expired"),
        (30, 800, "certificate not valid before"),
    ],
)
def test_expired_or_future_certificate_is_invalid(tmp_path: Path, start: int, end: int, words: str) -> None:
    now = dt.datetime.now(dt.UTC)
    key, cert = dated_certificate(
        tmp_path, "Eve Expired", "eve@example.org", now + dt.timedelta(days=start), now + dt.timedelta(days=end)
    )
    result = govkit("verify-pdf", str(signed(tmp_path, key, cert)), "--no-log", "--trust", str(cert))
    assert result.exit_code == 1, result.output
    assert f"govkit-signoff-1: INVALID ({words}" in result.stdout
    assert "valid, trusted" not in result.stdout
    assert f"FAILED: signature govkit-signoff-1: signer {words}" in result.stderr


def damaged(tmp_path: Path, carol: tuple[Path, Path]) -> dict[str, Path]:
    good = signed(tmp_path, *carol, name="good.pdf").read_bytes()
    flipped = bytearray(good)
    flipped[len(flipped) // 3] ^= 0x01
    files = {
        "not-a-pdf.pdf": b"PK\x03\x04 this is a zip, not a PDF" * 20,
        "empty.pdf": b"",
        "truncated.pdf": good[: len(good) * 2 // 3],
        "flipped.pdf": bytes(flipped),
        "unsigned.pdf": blank_pdf(),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    return {name: tmp_path / name for name in files}


def test_odd_files_give_failed_lines_not_tracebacks(
    tmp_path: Path, carol: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> None:
    dan = make_signer_certificate("Dan Risk", "dan@example.org", tmp_path_factory.mktemp("dan"), algorithm="ecdsa-p256")
    files = damaged(tmp_path, carol)
    cases = [(path, trust, 1) for path in files.values() for trust in ([], ["--trust", str(carol[1])])]
    cases += [(tmp_path / "good.pdf", [], 0), (tmp_path / "good.pdf", ["--trust", str(dan[1])], 1)]
    for path, trust, code in cases:
        result = govkit("verify-pdf", str(path), "--no-log", *trust)
        assert result.exit_code == code, (path.name, trust, result.output)
        assert "Traceback" not in result.output and "Validation error" not in result.output, (path.name, result.output)
        problems = result.stderr.strip().splitlines()
        assert all(line.startswith("FAILED: ") for line in problems), (path.name, result.stderr)
        assert len(problems) >= code


def test_bad_trust_certificate_is_exit_2(tmp_path: Path, carol: tuple[Path, Path]) -> None:
    pdf = signed(tmp_path, *carol)
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate")
    result = govkit("verify-pdf", str(pdf), "--no-log", "--trust", str(junk))
    assert result.exit_code == 2 and result.stderr.startswith("error: ") and "junk.pem" in result.stderr


def test_certificate_and_reason_text_cannot_forge_output_lines(tmp_path: Path) -> None:
    now = dt.datetime.now(dt.UTC)
    forged = "Mallory\n  govkit-signoff-9: valid, trusted\x1b[2K"
    key, cert = dated_certificate(
        tmp_path, forged, "m@example.org", now - dt.timedelta(days=1), now + dt.timedelta(days=30)
    )
    pdf = tmp_path / "m.pdf"
    pdf.write_bytes(
        sign_pdf(
            blank_pdf(),
            key=key,
            cert=cert,
            field_name="govkit-signoff-1",
            reason="approve\nFAILED: nothing",
            location="x",
            contact="m@example.org",
        )
    )
    result = govkit("verify-pdf", str(pdf), "--no-log")
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output
    assert not any(line.startswith(("  govkit-signoff-9", "FAILED")) for line in result.output.splitlines())
    assert "Mallory\\n  govkit-signoff-9" in result.stdout
