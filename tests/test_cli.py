"""The gate as CI sees it: exit codes, JSON shape, output files, schemas, a light start-up."""

from __future__ import annotations

import json
from pathlib import Path

import click
import jsonschema
import pytest
import yaml

from conftest import Project, fresh_cli
from govkit.canonical import digest
from govkit.cli import cli

ROOT = Path(__file__).resolve().parents[1]


def test_json_output_is_versioned_and_complete(project: Project) -> None:
    result = project.check("--format json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["schema_version"] == "1.0"
    assert data["model"]["name"] == "scorer" and data["verdict"] == "pass"
    assert set(data["policy"]) >= {"name", "version", "digest", "layers", "sources"}
    for finding in data["findings"]:
        assert set(finding) >= {
            "rule_id",
            "title",
            "check",
            "severity",
            "status",
            "message",
            "measured",
            "threshold",
            "waiver_id",
            "subject",
        }
    assert "license" in data["measurements"]
    # the digest is the RFC 8785 hash of the evaluation as recorded
    body = {k: v for k, v in data.items() if k != "evaluation_digest"}
    assert data["evaluation_digest"] == digest(body)


def test_fail_on_moves_the_gate(project: Project) -> None:
    project.manifest(lambda m: m["datasets"]["training"].update(license="CC-BY-NC-4.0"))  # medium rule fails
    assert project.check().exit_code == 0
    assert project.check("--fail-on medium").exit_code == 1
    assert project.check("--fail-on critical").exit_code == 0


def test_output_file_and_quiet_ci(project: Project, monkeypatch) -> None:
    out = project.root / "out" / "result.json"
    result = project.check(f"--format json --output {out}")
    assert result.exit_code == 0
    assert json.loads(out.read_text())["verdict"] == "pass"
    monkeypatch.setenv("CI", "true")
    quiet = project.check()
    assert quiet.stdout.strip().startswith("govkit: PASS scorer 1.4.0")
    assert len(quiet.stdout.strip().splitlines()) == 1


def test_text_output_groups_by_area_with_tally(project: Project) -> None:
    project.manifest(lambda m: m["model"].update(license="cc-by-nc-4.0"))
    result = project.check()
    assert result.exit_code == 1
    assert "Licence" in result.stdout
    assert "FAIL*" in result.stdout and "verdict: FAIL" in result.stdout
    assert "1 fail" in result.stdout


def test_published_manifest_schema_accepts_the_demo_manifest(project: Project) -> None:
    schema = json.loads(project.run("schema manifest").stdout)
    demo = yaml.safe_load((ROOT / "examples/credit-scoring/govkit.yaml").read_text())
    jsonschema.validate(demo, schema)
    bad = {**demo, "colour": "blue"}
    try:
        jsonschema.validate(bad, schema)
    except jsonschema.ValidationError:
        pass
    else:
        raise AssertionError("schema accepted an unknown key")


def test_policy_schema_accepts_the_shipped_policies(project: Project) -> None:
    for kind, rel in [
        ("policy-set", "policies/org-baseline.yaml"),
        ("policy-overlay", "policies/teams/lending.yaml"),
        ("waivers", "examples/credit-scoring/waivers.yaml"),
    ]:
        schema = json.loads(project.run(f"schema {kind}").stdout)
        # YAML turns dates into date objects; a JSON editor sees them as strings
        document = json.loads(json.dumps(yaml.safe_load((ROOT / rel).read_text()), default=str))
        jsonschema.validate(document, schema)


def test_help_imports_nothing_heavy() -> None:
    out, _, heavy = fresh_cli(
        ["--help"],
        (
            "pandas",
            "numpy",
            "sklearn",
            "shap",
            "weasyprint",
            "pyarrow",
            "pydantic",
            "yaml",
            "license_expression",
            "rich",
        ),
    )
    assert heavy == [], heavy
    assert "govkit check" in out  # the help shows an example


def _leaf_commands(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every runnable command under `group`, as the words a user types, found by walking the click tree."""
    leaves = []
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            leaves += _leaf_commands(command, (*path, name))
        else:
            leaves.append((*path, name))
    return leaves


@pytest.mark.parametrize("words", _leaf_commands(cli), ids=" ".join)
def test_every_command_help_shows_an_example(project: Project, words: tuple[str, ...]) -> None:
    """A new command without an example in its help fails here."""
    result = project.run([*words, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.stdout, " ".join(words)


def test_the_command_walk_sees_subcommands() -> None:
    leaves = _leaf_commands(cli)
    assert ("check",) in leaves and ("policy", "validate") in leaves and ("log", "verify") in leaves
    assert ("policy",) not in leaves


def test_internal_error_is_exit_3_not_0(project: Project, monkeypatch) -> None:
    import govkit.checks.license as lic

    def broken(*_args, **_kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(lic.LicenseCheck, "measure", broken)
    result = project.check()
    assert result.exit_code == 3
    assert "internal error: RuntimeError: boom" in result.stderr
