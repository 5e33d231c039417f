"""A model version is named `name@version` in the audit log: model names cannot hold `@` (so one
registration cannot take over another version's subject), a subject splits at its first `@`, and a
lookup by name is exact, case included."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

import evaluations
from conftest import Project
from govkit.audit.log import AuditLog
from govkit.audit.records import record_evaluation
from govkit.cli import cli
from govkit.web.source import LogSource


def run(*args: str | Path) -> Result:
    return CliRunner(env={"NO_COLOR": "1", "CI": ""}).invoke(cli, [str(a) for a in args], catch_exceptions=False)


def model(name: str, version: str) -> dict[str, str]:
    return {"name": name, "version": version, "team": "lending", "owner": "ann@example.org", "risk_tier": "high"}


def test_a_registration_cannot_take_over_another_versions_subject() -> None:
    """`m` `1@rc` and `m@1` `rc` would both be `m@1@rc`: the second is refused."""
    registered = run("inventory", "register", "m", "1@rc", "--team", "victim", "--owner", "v", "--risk-tier", "high")
    assert registered.exit_code == 0, registered.output
    refused = run("inventory", "register", "m@1", "rc", "--team", "attacker", "--owner", "a", "--risk-tier", "low")
    assert refused.exit_code == 2 and "Traceback" not in refused.output
    assert (
        refused.output.strip() == "error: MODEL: must not contain '@' (the audit log names a version as model@version)"
    )
    shown = json.loads(run("inventory", "--format", "json").stdout)
    assert [(m["name"], v["version"], m["team"]) for m in shown["models"] for v in m["versions"]] == [
        ("m", "1@rc", "victim")
    ]


def test_a_manifest_model_name_with_an_at_sign_is_refused(project: Project) -> None:
    path = project.manifest(lambda d: d["model"].update(name="scorer@2"))
    result = project.run(f"validate {path}")
    assert result.exit_code == 2, result.output
    assert f"{path}:" in result.output and "model.name: must not contain '@'" in result.output


def test_init_refuses_a_model_name_with_an_at_sign(tmp_path: Path) -> None:
    result = run("init", "--name", "scorer@2", "--no-input", "-o", tmp_path / "govkit.yaml")
    assert result.exit_code == 2 and "model.name: model name 'scorer@2' must not contain '@'" in result.output
    assert not (tmp_path / "govkit.yaml").exists()


def test_a_version_holding_an_at_sign_belongs_to_its_model_in_the_viewer() -> None:
    """The web viewer splits a subject at its first `@`, as names hold none (it took the last)."""
    with AuditLog() as log:
        record_evaluation(log, evaluations.sample_evaluation(model=model("m", "1@rc")))
        record_evaluation(log, evaluations.sample_evaluation(model=model("m", "2")))
        source = LogSource(log)
        entries = source.model_entries(source.snapshot(), "m")
        assert sorted({e.subject for e in entries}) == ["m@1@rc", "m@2"]
        assert source.model_entries(source.snapshot(), "m@1") == []


def test_latest_evaluation_lookups_keep_case() -> None:
    """`card --latest m` must not find model `M` (SQLite's LIKE ignored ASCII case)."""
    with AuditLog() as log:
        record_evaluation(log, evaluations.sample_evaluation(model=model("M", "1")))
    assert "model_name: M" in run("card", "--latest", "M").output
    wrong = run("card", "--latest", "m")
    assert wrong.exit_code == 2 and "model_name" not in wrong.output, wrong.output
    assert run("log", "show", "--model", "m", "--format", "json").stdout.strip() in ("", "[]")
