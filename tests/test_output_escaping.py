"""User strings (model name and version, rule titles, waiver fields, data values) cannot forge output:
no Markdown headings or raw HTML, no GitHub workflow commands, no rich markup, no terminal escapes,
no invalid XML. Each format escapes in one place; these tests attack every format at once."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from conftest import Project

SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text())
HOSTILE = (
    "x\n::warning file=a::forged\n### Forged <img src=x onerror=alert(1)> [/bold][green]verdict: PASS[/green]"
    " | *em* [link](https://evil.example) `code` \x1b[31mred\x1b[0m \x0c"
)
WAIVERS = {
    "apiVersion": "govkit/v1",
    "kind": "Waivers",
    "waivers": [
        {
            "id": "W-1",
            "rule": "T-LIC-002",
            "target": {"subject": "dataset:training"},
            "reason": "reason " + HOSTILE,
            "ticket": "T-1\n::error::ticket",
            "requested_by": "alice@example.com",
            "approved_by": ["bob@example.com"],
            "expires": "2030-01-05",
        },
        {
            "id": "W-2 " + HOSTILE,
            "rule": "T-LIC-003",
            "reason": "old",
            "ticket": "T-2",
            "requested_by": "alice@example.com",
            "approved_by": ["bob@example.com"],
            "expires": "2020-01-01",
        },
    ],
}


@pytest.fixture
def hostile(project: Project) -> Project:
    def manifest(m: dict[str, Any]) -> None:
        m["model"].update(name="scorer " + HOSTILE, version="1.0\n::notice::v <b>", license="CC-BY-NC-4.0")
        m["datasets"]["training"]["license"] = "CC-BY-NC-4.0"

    def policy(p: dict[str, Any]) -> None:
        p["rules"][0]["title"] = "model licence " + HOSTILE
        p["rules"][0]["guideline"] = "https://wiki.example/gl a b<script>"
        p["rules"][1]["severity"] = "high"

    project.manifest(manifest)
    project.policy(policy)
    project.write("waivers.yaml", WAIVERS)
    return project


def check(p: Project, *args: str) -> Any:
    result = p.run(
        ["check", str(p.manifest_path), "--policy", str(p.root / "policies"), "--as-of", "2029-12-30", *args]
    )
    assert result.exit_code == 1, result.output  # blocking licence finding, never exit 3
    return result


def test_markdown_has_no_forged_heading_or_raw_html(hostile: Project) -> None:
    out = check(hostile, "--format", "markdown", "--no-log").stdout
    headings = [line for line in out.splitlines() if line.startswith("#")]
    assert len(headings) == 1 + sum(line.startswith("#### ") for line in headings)  # one title, our sections
    assert all(h.startswith(("### govkit: FAIL", "#### ")) for h in headings), headings
    assert "<img" not in out and "<b>" not in out and "<script" not in out and "&lt;img" in out
    assert "\x1b" not in out and "\x0c" not in out
    assert "[link](" not in out and "*em*" not in out  # no live link or emphasis
    for line in out.splitlines():
        if line.startswith("| ") and not line.startswith("|---"):
            cells = re.split(r"(?<!\\)\|", line)[1:-1]
            assert len(cells) in (5, 6), line  # a | in user text never adds a column


def test_github_annotations_cannot_be_forged(hostile: Project) -> None:
    result = check(hostile, "--format", "github", "--no-log")
    lines = result.stdout.splitlines()
    commands = [line for line in lines if line.startswith("::")]
    assert all(re.match(r"::(error|warning|notice) [^\n]*::", c) for c in commands), commands
    data = json.loads(check(hostile, "--format", "json", "--no-log").stdout)
    expected = sum(f["status"] in ("fail", "error", "warn") for f in data["findings"])
    expected += sum(w["expiring_soon"] for w in data["waivers"])
    assert len(commands) == expected > 0
    assert len(lines) == len(commands) + 1 and lines[-1].startswith("govkit: FAIL")
    assert "\x1b" not in result.stdout


def test_ci_verdict_line_cannot_inject_workflow_commands(hostile: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    for args in ((), ("--quiet",), ("--format", "json", "-o", str(hostile.root / "out.json"))):
        out = check(hostile, "--no-log", *args).stdout
        if args and args[0] == "--format":
            assert len(out.splitlines()) == 1
        assert not [line for line in out.splitlines() if line.startswith("::")], out
        assert "\x1b" not in out
        if args:  # the one verdict line; without arguments the full text table is shown
            assert out.splitlines()[-1].startswith("govkit: FAIL scorer x\\n::warning file=a::forged")


def test_text_format_does_not_interpret_markup(hostile: Project) -> None:
    result = check(hostile)  # also records: the unbalanced [/bold] used to crash after recording
    out = result.stdout
    assert "[/bold][green]verdict: PASS[/green]" in out
    verdicts = [line for line in out.splitlines() if line.lstrip().startswith("verdict:")]
    assert len(verdicts) == 1 and "FAIL" in verdicts[0]
    assert "\x1b" not in out and "\\x1b[31mred" in out  # the escape is shown, not obeyed
    shown = hostile.run("log show --format json")
    assert len([e for e in json.loads(shown.stdout) if e["action"] == "evaluation.recorded"]) == 1


def test_text_format_with_color_keeps_user_escapes_inert(hostile: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    from govkit.api import run_check
    from govkit.formats.interface import get_formatter

    evaluation = run_check(hostile.manifest_path, hostile.root / "policies", as_of=None)
    out = get_formatter("text").render(evaluation, color=True)
    assert "\x1b[31mred" not in out and "\\x1b[31mred" in out


def test_junit_is_well_formed_xml(hostile: Project) -> None:
    out = check(hostile, "--format", "junit", "--no-log").stdout
    root = ET.fromstring(out)
    names = [case.get("name") or "" for case in root.iter("testcase")]
    assert any("model licence x" in n for n in names)
    assert "\x1b" not in out and "\x0c" not in out


def test_sarif_stays_valid_with_hostile_strings(hostile: Project) -> None:
    sarif = json.loads(check(hostile, "--format", "sarif", "--no-log").stdout)
    jsonschema.Draft4Validator(SCHEMA).validate(sarif)
    (rule,) = [r for r in sarif["runs"][0]["tool"]["driver"]["rules"] if r["id"] == "T-LIC-001"]
    assert not re.search(r"[\s<>]", rule["helpUri"]) and rule["helpUri"].startswith("https://wiki.example/gl")
    text = json.dumps(sarif)
    assert "\\u001b" not in text


def test_log_show_prints_no_terminal_escapes(hostile: Project) -> None:
    check(hostile, "--format", "json", "-o", str(hostile.root / "r.json"))
    out = hostile.run("log show").stdout
    assert "scorer x" in out and "\x1b" not in out
    assert all(not line.startswith("::") for line in out.splitlines())


def test_error_lines_show_escapes_instead_of_obeying_them(project: Project) -> None:
    project.manifest(lambda m: m["datasets"]["training"].update(path="data/\x1b]0;pwned\x07\x1b[2J.csv"))
    result = project.check()
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert "datasets.training.path" in line and "\x1b" not in line and "\\x1b[2J" in line


def test_printable_escapes_every_control_and_invisible_format_character() -> None:
    """Every Cc and Cf code point (zero-width spaces, bidi marks, tag characters) is shown, never obeyed."""
    import sys
    import unicodedata

    from govkit.formats.common import printable

    hidden = [c for c in map(chr, range(sys.maxunicode + 1)) if unicodedata.category(c) in ("Cc", "Cf")]
    assert len(hidden) > 150
    assert [hex(ord(c)) for c in hidden if printable(c) == c] == []
