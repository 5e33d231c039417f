"""Hostile YAML is refused quickly with one line and exit 2: aliases, depth, size, huge ints, duplicate keys."""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import Project
from govkit.errors import GovkitError
from govkit.yamlio import MAX_DEPTH, MAX_FILE_BYTES, MAX_NODES, load_yaml

BOMB = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},"
    f"*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)}]\n"
    for i in range(9)
)


def refused(tmp_path: Path, text: str, *fragments: str) -> GovkitError:
    path = tmp_path / "f.yaml"
    path.write_text(text)
    start = time.perf_counter()
    with pytest.raises(GovkitError) as err:
        load_yaml(path)
    assert time.perf_counter() - start < 10.0  # a few seconds at most on a busy 2-core runner
    message = str(err.value)
    assert "\n" not in message and message.startswith(str(path))
    for fragment in fragments:
        assert fragment in message
    return err.value


def test_alias_bomb_is_refused_fast(tmp_path: Path) -> None:
    assert len(BOMB) < 600
    err = refused(tmp_path, BOMB, "alias")
    assert err.line == 2  # the first alias


def test_alias_bomb_stays_within_a_small_memory_limit(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(BOMB)
    limit = 400 * 1024 * 1024

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    code = (
        "import sys; from pathlib import Path; from govkit.yamlio import load_yaml\n"
        "try:\n    load_yaml(Path(sys.argv[1]))\nexcept Exception as e:\n    print(type(e).__name__, e)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=60, preexec_fn=cap, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("GovkitError") and "aliases" in done.stdout


def test_too_many_values_are_refused_fast(tmp_path: Path) -> None:
    refused(tmp_path, "a: [" + "1," * (MAX_NODES + 10) + "1]\n", f"more than {MAX_NODES:,} values")


def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    refused(tmp_path, "a: " + "[" * 100_000 + "]" * 100_000 + "\n", "nesting", str(MAX_DEPTH))
    refused(tmp_path, "".join("  " * i + f"k{i}:\n" for i in range(200)) + "  " * 200 + "v\n", "nesting")


def test_nesting_up_to_the_limit_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text("a: " + "[" * (MAX_DEPTH - 2) + "1" + "]" * (MAX_DEPTH - 2) + "\n")
    assert load_yaml(path).data["a"] is not None


def test_oversized_file_is_refused(tmp_path: Path) -> None:
    refused(tmp_path, "# " + "x" * MAX_FILE_BYTES + "\na: 1\n", "larger than")


@pytest.mark.parametrize(
    "value", ["9007199254740993", "-9007199254740993", "0x20000000000001", "1" * 5000, "1_000_000_000_000_000_000"]
)
def test_integers_beyond_2_53_are_refused(tmp_path: Path, value: str) -> None:
    err = refused(tmp_path, f"a: 1\nb: {value}\n", "integer")
    assert err.line == 2


def test_integers_within_2_53_load(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text("a: 9007199254740992\nb: -9007199254740992\nc: 0x1F\n")
    assert load_yaml(path).data == {"a": 2**53, "b": -(2**53), "c": 31}


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("rules:\n  - id: A\n    locked: true\n    title: t\n    locked: false\n", 5),
        ("a: 1\nb:\n  c: 2\na: 3\n", 4),
        ("{a: 1, a: 2}\n", 1),
        ("? a\n: 1\n? a\n: 2\n", 3),
    ],
)
def test_duplicate_keys_are_refused(tmp_path: Path, text: str, line: int) -> None:
    assert refused(tmp_path, text, "duplicate key").line == line


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("a: 1\nb:\n  <<: {locked: true}\n  locked: false\n", "merge keys"),
        ("a: 1\nb: !!set {x, y}\n", "'set'"),
        ("a: 1\nb: !!binary aGk=\n", "'binary'"),
        ("a: 1\nb: !!omap [x: 1, x: 2]\n", "'omap'"),
    ],
)
def test_merge_keys_and_exotic_tags_are_refused(tmp_path: Path, text: str, fragment: str) -> None:
    assert refused(tmp_path, text, fragment).line in (2, 3)


def test_document_is_composed_once_and_lines_are_indexed(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text("a: 1\nb:\n  - c: 2\n    d: [3, 4]\n")
    doc = load_yaml(path)
    assert doc.data == {"a": 1, "b": [{"c": 2, "d": [3, 4]}]}
    assert doc.lines[("b", 0, "d")] == 4 and doc.line_of(("b", 0, "d", 1)) == 4


def test_anchor_without_alias_is_harmless(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text("a: &x 1\n")
    assert load_yaml(path).data == {"a": 1}


POLICY_LOCKED_TWICE = """apiVersion: govkit/v1
kind: PolicySet
name: base
version: "1.0"
rules:
  - id: T-LIC-001
    title: model licence
    check: license.model
    severity: high
    locked: true
    params: {deny_traits: [non-commercial]}
    locked: false
"""


@pytest.mark.parametrize(
    ("rel", "text", "fragment"),
    [
        ("policies/base.yaml", POLICY_LOCKED_TWICE, "base.yaml:12"),
        ("govkit.yaml", BOMB, "govkit.yaml:2"),
        ("policies/base.yaml", BOMB, "base.yaml:2"),
        ("govkit.yaml", "a: " + "[" * 5000 + "]" * 5000 + "\n", "govkit.yaml:1"),
        ("govkit.yaml", "apiVersion: govkit/v1\nmodel:\n  name: 123456789012345678901234567890\n", "govkit.yaml:3"),
    ],
)
def test_cli_refuses_hostile_yaml_with_one_line(project: Project, rel: str, text: str, fragment: str) -> None:
    project.write(rel, text)
    start = time.perf_counter()
    result = project.check()
    assert time.perf_counter() - start < 10
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], result.stderr
    assert "Traceback" not in result.output
