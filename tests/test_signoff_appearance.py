"""Visible signature appearances: each signer's decision, role and conditions on the sign-off page,
added with each incremental signature, every earlier signature still valid.

A real report rendered by weasyprint, real PAdES signatures by pyHanko; checked with pyHanko's
validator, Poppler's pdfsig, and the page as Poppler draws it (pdftoppm, and pdftocairo + pdftotext
for the text of the drawn appearances)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from PIL import Image, ImageChops

from conftest import new_project
from govkit.report.render import ReportInputs, render_pdf
from govkit.report.signoff import make_signer_certificate, sign_pdf, validate_signatures

SIGNERS = [
    ("Carol Officer", "carol@example.org", "Compliance Officer", "approve-with-conditions", "Re-test ages 18-24 by Q1"),
    ("Łukasz Dąbrowski", "lukasz@example.org", "Model Risk", "approve", "%(signer)s\nline two"),
]


def lines(name: str, email: str, role: str, decision: str, conditions: str) -> list[str]:
    return [f"{decision} ({role})", f"{name} <{email}>", f"Conditions: {conditions}", "2026-12-01T10:00:00Z"]


def last_page(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    return int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))


def page_image(pdf: Path, page: int, out: Path) -> Image.Image:
    subprocess.run(["pdftoppm", "-r", "60", "-f", str(page), "-l", str(page), "-png", str(pdf), str(out)], check=True)
    return Image.open(next(out.parent.glob(f"{out.name}*.png"))).convert("L")


def drawn_text(pdf: Path, page: int, tmp: Path) -> str:
    """The page as drawn, annotations included: pdftotext alone skips widget appearances."""
    flat = tmp / f"flat-{pdf.stem}.pdf"
    subprocess.run(["pdftocairo", "-pdf", str(pdf), str(flat)], check=True)
    return subprocess.run(
        ["pdftotext", "-f", str(page), "-l", str(page), str(flat), "-"], capture_output=True, text=True, check=True
    ).stdout


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path | list[Path]]:
    home = tmp_path_factory.mktemp("appearance")
    _, evaluation = new_project(home / "project").check_json()  # a small real evaluation, not recorded
    digest = evaluation.pop("evaluation_digest")
    unsigned = home / "report.pdf"
    unsigned.write_bytes(render_pdf(ReportInputs(evaluation=evaluation, digest=digest)))
    certs, files, data = [], [], unsigned.read_bytes()
    for position, (name, email, role, decision, conditions) in enumerate(SIGNERS, start=1):
        key, cert = make_signer_certificate(name, email, home / f"signer{position}")
        data = sign_pdf(
            data,
            key=key,
            cert=cert,
            field_name=f"govkit-signoff-{position}",
            reason=decision,
            location="test",
            contact=email,
            appearance=lines(name, email, role, decision, conditions),
            position=position,
        )
        out = home / f"signed{position}.pdf"
        out.write_bytes(data)
        certs.append(cert)
        files.append(out)
    return {"home": home, "unsigned": unsigned, "files": files, "certs": certs}


def test_both_signatures_stay_valid(signed: dict[str, object]) -> None:
    files, certs = signed["files"], signed["certs"]
    assert isinstance(files, list) and isinstance(certs, list)
    reports = validate_signatures(files[-1].read_bytes(), certs)
    assert [r.field for r in reports] == ["govkit-signoff-1", "govkit-signoff-2"]
    assert all(r.ok and r.trusted for r in reports), reports
    assert not reports[0].covers_whole_file and reports[1].covers_whole_file
    pdfsig = subprocess.run(["pdfsig", str(files[-1])], capture_output=True, text=True).stdout
    assert pdfsig.count("Signature Validation: Signature is Valid.") == 2, pdfsig


def test_appearances_are_visible_on_the_signoff_page(signed: dict[str, object], tmp_path: Path) -> None:
    unsigned, files = signed["unsigned"], signed["files"]
    assert isinstance(unsigned, Path) and isinstance(files, list)
    page = last_page(files[-1])
    assert page == last_page(unsigned)  # an incremental update may not add pages
    text = " ".join(drawn_text(files[-1], page, tmp_path).split())
    for name, email, role, decision, _ in SIGNERS:
        assert f"{decision} ({role})" in text and f"{name} <{email}>" in text
    assert "Conditions: Re-test ages 18-24 by Q1" in text
    assert "Conditions: %(signer)s\\nline two" in text  # user text is shown, never interpreted
    before = page_image(unsigned, page, tmp_path / "unsigned")
    after = page_image(files[-1], page, tmp_path / "signed")
    box = ImageChops.difference(before, after).getbbox()
    assert box is not None, "the signatures drew nothing"
    # drawn side by side, in the lower part of the page, inside the margins
    left, top, right, bottom = box
    width, height = before.size
    assert top > height * 0.3 and bottom < height * 0.95 and left > 0 and right < width
    one = page_image(files[0], page, tmp_path / "first")
    first_box = ImageChops.difference(before, one).getbbox()
    assert first_box is not None and first_box[2] < width / 2 + 5 < right  # the second stamp sits to its right


def test_first_signature_text_is_absent_from_an_unsigned_page(signed: dict[str, object], tmp_path: Path) -> None:
    unsigned = signed["unsigned"]
    assert isinstance(unsigned, Path)
    text = drawn_text(unsigned, last_page(unsigned), tmp_path)
    assert "Carol Officer" not in text and "Signatures" in text
