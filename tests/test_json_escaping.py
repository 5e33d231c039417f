"""JSON output keeps non-ASCII text readable but writes C1 controls, bidi overrides and other invisible
characters as \\uXXXX escapes: still valid JSON that parses to the same strings, and nothing a
terminal or a reader's eye takes for something else (a CSI, a right-to-left override)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from click.testing import CliRunner

import evaluations
from govkit.cli import cli
from govkit.formats.json import JsonFormatter
from govkit.intake.bom import bom_bytes
from govkit.review.diff import compare
from govkit.review.render import render

# CSI (C1), a right-to-left override, a line separator, a byte-order mark, a tag character (beyond the
# BMP: a surrogate pair in JSON), DEL; and plain non-ASCII text that stays as it is
INVISIBLE = ("\u009b", "\u202e", "\u2028", "\ufeff", "\U000e0041", "\x7f")
NAME = "évil\u009b2J\u202eexe.fdp\u2028\ufeff\U000e0041\x7f"


def assert_escaped(text: str, parsed: Any, name: str = NAME) -> None:
    for char in INVISIBLE:
        assert char not in text, repr(char)
    assert "évil" in text  # readable UTF-8, not ensure_ascii
    assert name in json.dumps(parsed, ensure_ascii=False)  # the same string once parsed


def hostile_model() -> dict[str, Any]:
    return {**evaluations.MODEL, "name": NAME}


def test_inventory_json_escapes_invisible_characters() -> None:
    runner = CliRunner(env={"NO_COLOR": "1", "CI": ""})
    argv = ["inventory", "register", NAME, "1", "--team", "t\u202e", "--owner", "o", "--risk-tier", "low"]
    assert runner.invoke(cli, argv, catch_exceptions=False).exit_code == 0
    shown = runner.invoke(cli, ["inventory", "--format", "json"], catch_exceptions=False)
    assert shown.exit_code == 0, shown.output
    parsed = json.loads(shown.stdout)
    assert [(m["name"], m["team"]) for m in parsed["models"]] == [(NAME, "t\u202e")]
    assert_escaped(shown.stdout, parsed)
    assert b"\xc2\x9b" not in shown.stdout_bytes and b"\xe2\x80\xae" not in shown.stdout_bytes


def test_evaluation_json_escapes_invisible_characters() -> None:
    evaluation = evaluations.sample_evaluation(model=hostile_model())
    text = JsonFormatter().render(evaluation)
    parsed = json.loads(text)
    assert parsed["model"]["name"] == NAME
    assert {k: v for k, v in parsed.items() if k not in ("schema_version", "evaluation_digest")} == {
        k: v for k, v in json.loads(json.dumps(evaluation.to_dict())).items() if k != "schema_version"
    }
    assert_escaped(text, parsed)


def test_diff_json_escapes_invisible_characters() -> None:
    a = evaluations.sample_evaluation(model=hostile_model())
    b = replace(a, fail_on="medium")
    text = render(compare(a.to_dict(), a.digest, b.to_dict(), b.digest), "json")
    parsed = json.loads(text)
    assert_escaped(text, parsed)


def test_bom_escapes_invisible_characters() -> None:
    evaluation = evaluations.sample_evaluation(model=hostile_model())
    text = bom_bytes(evaluation.to_dict(), evaluation.digest, None, None).decode("utf-8")
    parsed = json.loads(text)
    assert parsed["metadata"]["component"]["name"] == NAME
    assert_escaped(text, parsed)
