"""Organisation report templates: they extend govkit's layout, and they are untrusted input."""

from __future__ import annotations

import base64
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from evaluations import HOSTILE, sample_evaluation
from govkit.audit.log import AuditLog
from govkit.audit.records import record_evaluation
from govkit.canonical import digest as canonical_digest
from govkit.cli import cli
from govkit.report.fetcher import AssetOnlyFetcher
from govkit.report.render import CSP, ReportInputs, render_html, render_pdf
from govkit.report.rules import RulesInForce
from govkit.report.template import TemplateError

ROOT = Path(__file__).resolve().parents[1]
BANK = ROOT / "examples" / "bank-template"


def inputs(template: Path | None = None, **changes: Any) -> ReportInputs:
    ev = sample_evaluation(**changes).to_dict()
    return ReportInputs(evaluation=ev, digest=canonical_digest(ev), rules=RulesInForce(), template=template)


def org_template(tmp_path: Path, body: str, **files: str) -> Path:
    folder = tmp_path / "org"
    folder.mkdir(exist_ok=True)
    (folder / "report.html.j2").write_text(body)
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


def test_the_bank_example_brands_reorders_and_adds_a_chapter() -> None:
    html = render_html(inputs(BANK))
    toc = html.split('<nav class="toc">', 1)[1].split("</nav>", 1)[0]
    ids = re.findall(r'href="#([^"]+)"', toc)
    assert ids.index("fairness") < ids.index("privacy") < ids.index("licence")  # its section_order
    assert "mrm-standard" in ids and 'id="mrm-standard"' in html
    assert "Northwind Mutual Bank · Model Risk Management" in html
    logo = re.search(r'<img class="bank-logo" src="data:image/svg\+xml;base64,([^"]+)"', html)
    assert logo and base64.b64decode(logo.group(1)) == (BANK / "logo.svg").read_bytes()  # inline in HTML


def test_the_bank_pdf_loads_only_its_own_assets() -> None:
    fetcher = AssetOnlyFetcher([BANK])
    pdf = render_pdf(inputs(BANK), fetcher=fetcher)
    assert pdf.startswith(b"%PDF")
    served = {Path(u.removeprefix("file://")).name for u in fetcher.served}
    assert served == {"report.css", "bank.css", "logo.svg"} and not fetcher.refused


def test_user_strings_stay_escaped_in_an_organisation_template(tmp_path: Path) -> None:
    folder = org_template(
        tmp_path,
        '{% extends "govkit/report.html.j2" %}{% block cover_note %}<p id="o">{{ model.name }}</p>{% endblock %}',
    )
    html = render_html(inputs(folder, model={"name": HOSTILE, "version": "1"}))
    note = html.split('<p id="o">', 1)[1].split("</p>", 1)[0]
    assert "<img" not in note and "&lt;img src=x" in note


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            '{% extends "govkit/report.html.j2" %}\n{% block cover_note %}{{ "".__class__.__mro__ }}{% endblock %}',
            "unsafe",
        ),
        (
            '{% extends "govkit/report.html.j2" %}\n{% block cover_note %}{{ ev.findings.append(1) }}{% endblock %}',
            "unsafe",
        ),
        ('{% extends "govkit/report.html.j2" %}\n\n{% block cover_note %}{% if %}{% endblock %}', "report.html.j2:3"),
        (
            '{% extends "govkit/report.html.j2" %}\n{% block cover_nite %}x{% endblock %}',
            "report.html.j2:2: block 'cover_nite'",
        ),
        (
            '{% extends "govkit/report.html.j2" %}{% block cover_note %}{% include "/etc/passwd" %}{% endblock %}',
            "not found",
        ),
        (
            '{% extends "govkit/report.html.j2" %}{% block cover_note %}{% include "../../etc/passwd" %}{% endblock %}',
            "not found",
        ),
        (
            '{% extends "govkit/report.html.j2" %}{% block styles %}{{ asset("../../etc/passwd") }}{% endblock %}',
            "asset",
        ),
        ('{% extends "govkit/report.html.j2" %}{% block cover_note %}{{ no_such_thing.x }}{% endblock %}', "undefined"),
    ],
)
def test_template_mistakes_and_escapes_are_one_line_errors(tmp_path: Path, body: str, expected: str) -> None:
    folder = org_template(tmp_path, body)
    with pytest.raises(TemplateError) as caught:
        render_html(inputs(folder))
    message = str(caught.value)
    assert "\n" not in message and expected in message
    assert "report.html.j2" in message  # names the file (and line where jinja knows it)


def test_a_template_folder_without_its_layout_is_refused(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(TemplateError, match=r"needs a report\.html\.j2"):
        render_html(inputs(tmp_path / "empty"))


def test_a_template_cannot_make_the_pdf_fetch_anything_else(tmp_path: Path) -> None:
    secret = tmp_path / "secret.svg"
    secret.write_text('<svg xmlns="http://www.w3.org/2000/svg"><text>SECRET</text></svg>')
    folder = org_template(
        tmp_path,
        '{% extends "govkit/report.html.j2" %}{% block styles %}<link rel="stylesheet" href="{{ asset(\'o.css\') }}">'
        '{% endblock %}{% block cover_logo %}<img src="' + secret.as_uri() + '"><img src="https://example.org/x.png">'
        "{% endblock %}",
        **{"o.css": f'h1 {{ background: url("{secret.as_uri()}"); }} @import url("http://example.org/a.css");'},
    )
    fetcher = AssetOnlyFetcher([folder])
    render_pdf(inputs(folder), fetcher=fetcher)
    assert any(u.endswith("/o.css") for u in fetcher.served)
    assert not any("secret" in u or "example.org" in u for u in fetcher.served)
    assert any("secret" in u for u in fetcher.refused) and any("example.org" in u for u in fetcher.refused)


def test_html_format_is_self_contained() -> None:
    html = render_html(inputs(BANK))
    assert CSP in html.split("</head>", 1)[0]  # no script, no fetch, whatever a template writes
    assert not re.search(r'(?:href|src)="(?!data:|#|https?://wiki\.example\.org)', html)
    assert "<script" not in html.lower()


@pytest.fixture
def logged(tmp_path: Path) -> dict[str, str]:
    env = {"GOVKIT_DB": str(tmp_path / "g.db"), "GOVKIT_KEY": str(tmp_path / "k.pem"), "NO_COLOR": "1"}
    with AuditLog(env["GOVKIT_DB"], key_path=Path(env["GOVKIT_KEY"])) as log:
        record_evaluation(log, sample_evaluation())
    return env


def test_cli_report_with_a_template_and_html_format(logged: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    result = CliRunner(env=logged).invoke(
        cli, ["report", "--latest", "credit-scorer", "--template", str(BANK), "--format", "html", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "Northwind Mutual Bank" in out.read_text()
    alias = CliRunner(env=logged).invoke(cli, ["report", "--latest", "credit-scorer", "--html", "--out", str(out)])
    assert alias.exit_code == 0 and "Northwind" not in out.read_text()


def test_cli_template_error_is_one_line_exit_2(logged: dict[str, str], tmp_path: Path) -> None:
    folder = org_template(tmp_path, '{% extends "govkit/report.html.j2" %}\n{% block cover %}{% for %}{% endblock %}')
    result = CliRunner(env=logged).invoke(
        cli, ["report", "--latest", "credit-scorer", "--template", str(folder), "--format", "html"]
    )
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "report.html.j2:2" in lines[0], result.output


def test_signoff_rerenders_with_the_template_of_the_rendering(logged: dict[str, str], tmp_path: Path) -> None:
    """The template folder used is logged with the rendering, so the signed PDF keeps the branding."""
    from govkit.audit.records import REPORT_RENDERED

    copy = tmp_path / "bank"
    shutil.copytree(BANK, copy)
    pdf = tmp_path / "r.pdf"
    result = CliRunner(env=logged).invoke(
        cli, ["report", "--latest", "credit-scorer", "--template", str(copy), "--out", str(pdf)]
    )
    assert result.exit_code == 0, result.output
    with AuditLog(logged["GOVKIT_DB"], key_path=Path(logged["GOVKIT_KEY"])) as log:
        (entry,) = log.entries(action=REPORT_RENDERED)
        assert log.payload(entry.seq)["template"] == str(copy.resolve())


def test_a_template_can_hide_a_chapter_and_replace_a_partial(tmp_path: Path) -> None:
    folder = org_template(
        tmp_path,
        '{% extends "govkit/report.html.j2" %}{% set hidden_sections = ["licence"] %}',
        **{"sections/privacy.html.j2": "<p id='own-privacy'>Our privacy office reviews every column.</p>"},
    )
    html = render_html(inputs(folder))
    assert 'id="licence"' not in html and 'href="#licence"' not in html
    assert "Our privacy office reviews every column." in html.split('id="privacy"', 1)[1]


def test_a_symlink_cannot_lead_a_template_out_of_its_folder(tmp_path: Path) -> None:
    secret = tmp_path / "id_rsa"
    secret.write_text("PRIVATE KEY MATERIAL")
    folder = org_template(
        tmp_path,
        '{% extends "govkit/report.html.j2" %}{% block cover_note %}{% include "key.txt" %}{% endblock %}',
    )
    (folder / "key.txt").symlink_to(secret)
    with pytest.raises(TemplateError, match="not found"):
        render_html(inputs(folder))
    (folder / "report.html.j2").write_text(
        '{% extends "govkit/report.html.j2" %}{% block styles %}{{ asset("key.css") }}{% endblock %}'
    )
    (folder / "key.css").symlink_to(secret)
    with pytest.raises(TemplateError, match="not a file in the template folder"):
        render_html(inputs(folder))


OPENED: list[str] = []


def _record_opens(event: str, args: tuple[Any, ...]) -> None:
    """Opens of a file in a "never-open" folder, whatever path (a symlink) leads there."""
    if event == "open" and isinstance(args[0], str | Path) and "never-open" in os.path.realpath(args[0]):
        OPENED.append(str(args[0]))


def test_a_symlinked_template_is_refused_before_its_target_is_opened(tmp_path: Path) -> None:
    """The loader used to read the symlink's target (all of it) and refuse it only afterwards."""
    import sys

    secret = tmp_path / "never-open" / "id_rsa"
    secret.parent.mkdir()
    secret.write_text("PRIVATE KEY MATERIAL")
    folder = org_template(
        tmp_path,
        '{% extends "govkit/report.html.j2" %}{% block cover_note %}{% include "part.j2" %}{% endblock %}',
    )
    (folder / "part.j2").symlink_to(secret)
    sys.addaudithook(_record_opens)  # audit hooks cannot be removed: it only records into OPENED
    OPENED.clear()
    with pytest.raises(TemplateError, match="not found"):
        render_html(inputs(folder))
    assert OPENED == []


def test_an_oversized_template_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    folder = org_template(
        tmp_path,
        '{% extends "govkit/report.html.j2" %}{% block cover_note %}{% include "big.j2" %}{% endblock %}',
        **{"big.j2": "x" * (1 << 20) + "y"},
    )
    with pytest.raises(TemplateError) as caught:
        render_html(inputs(folder))
    message = str(caught.value)
    assert "\n" not in message and "big.j2" in message and "1 MiB" in message
    (folder / "big.j2").write_text("x" * (1 << 20))  # at the cap: fine
    assert "x" * 1000 in render_html(inputs(folder))
