"""Hostile JSON wherever govkit parses JSON it did not just write: too deep, too large or not JSON is one
readable line naming the file and field (exit 2), an unreadable cache is rebuilt, an unreadable log
payload is a verification failure (exit 1); never a traceback with exit 3."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import evaluations
from backends import SQLITE_TRIGGERS
from conftest import Project
from govkit.audit.chain import entry_hash
from govkit.audit.log import AuditLog
from govkit.audit.records import record_evaluation
from govkit.cli import cli
from govkit.errors import GovkitError, IntakeError
from govkit.jsonio import load_json, parse_json

DEEP = "[" * 200_000  # json.loads raises RecursionError on it, which is no ValueError


def run(*args: str | Path) -> Result:
    return CliRunner(env={"NO_COLOR": "1", "CI": ""}).invoke(cli, [str(a) for a in args], catch_exceptions=False)


def one_line_error(result: Result, *parts: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    (line,) = [ln for ln in result.output.splitlines() if ln.startswith("error:")]
    for part in parts:
        assert part in line, line


@pytest.mark.parametrize(
    ("raw", "limit", "message"),
    [
        (DEEP, len(DEEP), "JSON nested too deeply"),
        ('{"a":' * 5000, 50_000, "JSON nested too deeply"),
        (b'"\xff"', 1000, "not JSON"),
        ("[1,", 1000, "not JSON"),
        ("[" + "1," * 600 + "1]", 1000, "larger than 1,000 bytes"),
    ],
)
def test_parse_json_turns_every_failure_into_the_callers_error(raw: str | bytes, limit: int, message: str) -> None:
    with pytest.raises(IntakeError) as caught:
        parse_json(raw, limit=limit, error=IntakeError, file="in.json", field="a.b")
    assert str(caught.value).startswith("in.json: a.b: ") and message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_load_json_reads_no_more_than_its_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    path.write_text(json.dumps(list(range(1000))))
    value, raw = load_json(path, limit=path.stat().st_size)
    assert value == list(range(1000)) and raw == path.read_bytes()
    with pytest.raises(GovkitError, match="larger than"):
        load_json(path, limit=path.stat().st_size - 1)
    with pytest.raises(GovkitError, match="file not found"):
        load_json(tmp_path / "absent.json", limit=10)


# -- the inventory cache ---------------------------------------------------------------------------


def test_a_deeply_nested_inventory_cache_is_rebuilt_and_reported(tmp_path: Path) -> None:
    with AuditLog() as log:
        record_evaluation(log, evaluations.sample_evaluation())
        cache = Path(log.location + ".inventory-cache.json")
    cache.write_text(DEEP)
    shown = run("inventory", "--format", "json")
    assert shown.exit_code == 0, shown.output
    assert [m["name"] for m in json.loads(shown.stdout)["models"]] == [evaluations.sample_evaluation().model["name"]]
    assert json.loads(cache.read_text().split("\n", 1)[0])["size"] > 0  # rebuilt and written again
    assert run("log", "verify").exit_code == 0
    cache.write_text(DEEP)
    verified = run("log", "verify")
    assert verified.exit_code == 1 and "Traceback" not in verified.output
    assert f"inventory cache {cache} is unreadable" in verified.output


def test_the_web_viewer_ignores_a_deeply_nested_cache() -> None:
    """`govkit serve` answered 500 on every page: its inventory reads the same cache."""
    from govkit.web.source import LogSource

    with AuditLog() as log:
        record_evaluation(log, evaluations.sample_evaluation())
        Path(log.location + ".inventory-cache.json").write_text(DEEP)
        source = LogSource(log)
        inventory = source.inventory(source.snapshot())
    assert [m.name for m in inventory.models] == [evaluations.sample_evaluation().model["name"]]


# -- the audit log ---------------------------------------------------------------------------------


def deepen_payload(location: str, seq: int) -> None:
    """Give entry `seq` a deep payload, its digest and hash recomputed (the signature cannot be)."""
    with AuditLog(location) as log:
        entry, _ = log.store.read(seq) or (None, None)
    assert entry is not None
    body = DEEP.encode()
    edited = replace(entry, payload_digest=hashlib.sha256(body).hexdigest())
    con = sqlite3.connect(location, isolation_level=None)
    for name in SQLITE_TRIGGERS:
        con.execute(f"DROP TRIGGER IF EXISTS {name}")
    con.execute("UPDATE payloads SET body = ? WHERE seq = ?", (body, seq))
    con.execute(
        "UPDATE entries SET payload_digest = ?, entry_hash = ? WHERE seq = ?",
        (edited.payload_digest, entry_hash(edited.header()), seq),
    )
    con.close()


def test_a_key_entry_whose_payload_nests_too_deeply_fails_verification() -> None:
    with AuditLog() as log:
        record_evaluation(log, evaluations.sample_evaluation())
        location = log.location
    deepen_payload(location, 1)  # key.added
    with AuditLog(location) as log:
        result = log.verify()
    assert not result.ok and result.first is not None and result.first.seq == 1
    verified = run("log", "verify")
    assert verified.exit_code == 1 and "FAILED" in verified.output and "Traceback" not in verified.output


def test_export_refuses_a_payload_that_does_not_parse(tmp_path: Path) -> None:
    """An unparseable payload below the last checkpoint: export verifies the rows it packages first and
    refuses the log (exit 1, one line naming the entry), instead of crashing on it."""
    with AuditLog() as log:
        evaluated = record_evaluation(log, evaluations.sample_evaluation())
        log.checkpoint()
        record_evaluation(log, evaluations.sample_evaluation(fail_on="low"))
        location = log.location
    deepen_payload(location, evaluated.seq)
    for extra in ([], ["--team", "lending"]):
        result = run("export", "-o", tmp_path / "bundle.zip", *extra)
        assert result.exit_code == 1 and "Traceback" not in result.output, result.output
        (line,) = result.output.strip().splitlines()
        assert (
            line.startswith("error: not exporting: the audit log does not verify: entry") and str(evaluated.seq) in line
        )
    assert not (tmp_path / "bundle.zip").exists()


# -- intake and the baseline -----------------------------------------------------------------------


def _mlmodel(folder: Path, inputs: str, base_models: str | None = None) -> Path:
    folder.mkdir()
    lines = ["flavors:", "  sklearn:", "    pickled_model: model.pkl", "signature:", f"  inputs: '{inputs}'"]
    if base_models is not None:
        lines += ["metadata:", f"  govkit.base_models: '{base_models}'"]
    (folder / "MLmodel").write_text("\n".join(lines) + "\n")
    return folder


def test_mlflow_signature_inputs_nested_too_deeply(tmp_path: Path) -> None:
    folder = _mlmodel(tmp_path / "m", "[" * 100_000)
    result = run("init", "--from-mlflow", folder, "--no-input", "-o", tmp_path / "govkit.yaml")
    one_line_error(result, str(folder / "MLmodel"), "signature.inputs", "nested too deeply")


def test_mlflow_base_models_tag_nested_too_deeply(tmp_path: Path) -> None:
    folder = _mlmodel(tmp_path / "m", '[{"name": "a"}]', "[" * 100_000)
    result = run("init", "--from-mlflow", folder, "--no-input", "-o", tmp_path / "govkit.yaml")
    one_line_error(result, str(folder / "MLmodel"), "govkit.base_models", "nested too deeply")


def test_mlflow_base_models_tag_still_reads_both_spellings(tmp_path: Path) -> None:
    from govkit.intake.mlflow import read_mlmodel

    as_json = read_mlmodel(_mlmodel(tmp_path / "j", '[{"name": "a"}]', '[{"name": "bert", "license": "MIT"}]'))
    as_pairs = read_mlmodel(_mlmodel(tmp_path / "p", '[{"name": "a"}]', "bert=MIT"))
    assert as_json.base_models == as_pairs.base_models
    assert [(b.name, b.license) for b in as_json.base_models] == [("bert", "MIT")]


def test_a_deeply_nested_baseline_is_one_line(project: Project, tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text(DEEP)
    one_line_error(project.check(f"--baseline {deep}"), str(deep), "nested too deeply")


def test_a_baseline_larger_than_the_cap_is_refused_unread(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import govkit.baseline

    big = tmp_path / "big.json"
    big.write_text(json.dumps({"version": 1, "findings": []}) + " " * 100)
    monkeypatch.setattr(govkit.baseline, "MAX_BASELINE_BYTES", 100)
    one_line_error(project.check(f"--baseline {big}"), str(big), "larger than 100 bytes")
