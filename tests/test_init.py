"""`govkit init`: a manifest from a dataset that validates, proposes roles and PII, and leaves licences UNKNOWN."""

from __future__ import annotations

import csv
import json
import os
import pty
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from conftest import Project
from govkit.cli import cli
from govkit.manifest import load_manifest

ROOT = Path(__file__).resolve().parents[1]


def govkit(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_project_data_gives_a_valid_manifest_with_roles_from_names_and_types(project: Project) -> None:
    out = project.root / "new.yaml"
    result = govkit("init", project.root / "data/eval.csv", "-o", out, "--no-input")
    assert result.exit_code == 0, result.output
    spec = load_manifest(out).spec  # schema, files and columns
    ev = spec.datasets.evaluation
    assert ev is not None
    assert (ev.label, ev.prediction, ev.score) == ("y", "yhat", "score")  # names and two-valued / [0, 1] columns
    assert ev.positive_label == 1
    assert spec.sensitive_features == ("sex",)
    assert list(ev.features) == ["f1", "f2"]  # every other column, sensitive ones left out
    assert spec.model.license == ev.license == "UNKNOWN"
    assert govkit("validate", out).exit_code == 0


def test_every_todo_value_has_a_comment_saying_what_to_do(project: Project) -> None:
    out = project.root / "new.yaml"
    assert govkit("init", project.root / "data/eval.csv", "-o", out).exit_code == 0
    for line in out.read_text().splitlines():
        if '"TODO' in line or '"UNKNOWN"' in line:
            assert "# TODO: " in line, line


def test_unknown_licences_fail_the_licence_rules_until_filled_in(project: Project) -> None:
    out = project.root / "govkit.yaml"
    assert govkit("init", project.root / "data/eval.csv", "-o", out, "--force").exit_code == 0
    code, evaluation = project.check_json("--team alpha")
    licence = {f["rule_id"]: f for f in evaluation["findings"] if f["check"] in ("license.model", "license.datasets")}
    assert code == 1
    assert licence["T-LIC-001"]["status"] == "fail" and licence["T-LIC-001"]["measured"] == "UNKNOWN"
    assert licence["T-LIC-002"]["status"] == "fail" and licence["T-LIC-002"]["measured"] == "UNKNOWN"
    filled = govkit(
        "init",
        project.root / "data/eval.csv",
        "-o",
        out,
        "--force",
        "--license",
        "MIT",
        "--data-license",
        "CC-BY-4.0",
        "--team",
        "alpha",
        "--owner",
        "o@example.com",
    )
    assert filled.exit_code == 0, filled.output
    _, evaluation = project.check_json("--team alpha")
    statuses = {f["rule_id"]: f["status"] for f in evaluation["findings"] if f["check"].startswith("license.")}
    assert statuses["T-LIC-001"] == statuses["T-LIC-002"] == "pass"


def test_never_overwrites_without_force(project: Project) -> None:
    before = project.manifest_path.read_bytes()
    result = govkit("init", project.root / "data/eval.csv", "-o", project.manifest_path)
    assert result.exit_code == 2
    assert result.output.strip() == f"error: {project.manifest_path}: already exists; pass --force to overwrite it"
    assert project.manifest_path.read_bytes() == before
    assert govkit("init", project.root / "data/eval.csv", "-o", project.manifest_path, "--force").exit_code == 0
    assert project.manifest_path.read_bytes() != before


def test_pii_columns_are_what_the_privacy_check_flags(demo_source: Path, tmp_path: Path) -> None:
    """The training data of the demo: the privacy rule (defaults) and init's proposal agree."""
    shutil.copytree(demo_source / "data", tmp_path / "data")
    out = tmp_path / "govkit.yaml"
    assert govkit("init", tmp_path / "data/train.csv", "-o", out).exit_code == 0
    proposed = load_manifest(out).spec.datasets.training
    assert proposed is not None
    assert set(proposed.pii) == {"full_name", "email", "phone", "ssn", "date_of_birth"}  # what the generator writes
    policy = tmp_path / "policies" / "p.yaml"
    policy.parent.mkdir()
    policy.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "govkit/v1",
                "kind": "PolicySet",
                "name": "p",
                "version": "1",
                "rules": [
                    {
                        "id": "P-1",
                        "title": "pii",
                        "check": "privacy.no_undeclared_pii",
                        "severity": "high",
                        "params": {"datasets": ["training"]},
                    }
                ],
            }
        )
    )
    result = govkit("check", out, "--policy", policy.parent, "--format", "json", "--no-log")
    (finding,) = json.loads(result.stdout)["findings"]
    assert finding["status"] == "pass", finding  # nothing left undeclared


def test_flags_replace_every_proposal(project: Project) -> None:
    out = project.root / "new.yaml"
    result = govkit(
        "init",
        project.root / "data/eval.csv",
        "-o",
        out,
        "--name",
        "scorer",
        "--model-version",
        "3",
        "--team",
        "alpha",
        "--owner",
        "me@example.com",
        "--risk-tier",
        "low",
        "--intended-use",
        "tests",
        "--label",
        "yhat",
        "--prediction",
        "y",
        "--no-sensitive",
        "--pii",
        "f2",
        "--feature",
        "f1",
        "--positive-label",
        "0",
        "--base-model-license",
        "acme/base=MIT",
    )
    assert result.exit_code == 0, result.output
    spec = load_manifest(out).spec
    ev = spec.datasets.evaluation
    assert ev is not None
    assert (spec.model.name, spec.model.version, spec.model.risk_tier) == ("scorer", "3", "low")
    assert (ev.label, ev.prediction, ev.positive_label, ev.pii, ev.features) == ("yhat", "y", 0, ("f2",), ("f1",))
    assert spec.sensitive_features == ()
    assert [(b.name, b.license) for b in spec.model.base_models] == [("acme/base", "MIT")]


def test_hostile_column_names_round_trip_as_data(tmp_path: Path) -> None:
    names = ["a: !!python/object:os.system", "- &b *c", '"quoted" #x\u202e', "y", "yhat"]
    data = tmp_path / "data.csv"
    with data.open("w", newline="") as handle:
        csv.writer(handle).writerows([names, *([1, 2, 3, i % 2, (i // 2) % 2] for i in range(8))])
    out = tmp_path / "govkit.yaml"
    result = govkit("init", data, "-o", out)
    assert result.exit_code == 0, result.output
    ev = load_manifest(out).spec.datasets.evaluation
    assert ev is not None
    assert list(ev.features) == names[:3]
    assert "\u202e" not in out.read_text() and "\\u202e" in out.read_text()  # visible in the file, not acted on


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"", "empty.csv", "empty.csv: empty file: no header row"),
        (b"PAR1garbage", "bad.parquet", "bad.parquet: cannot read parquet data"),
        (b"a,b\n", "nothing.csv", "nothing.csv: dataset has no rows"),
    ],
)
def test_unreadable_dataset_is_one_line_exit_2(tmp_path: Path, content: bytes, name: str, message: str) -> None:
    (tmp_path / name).write_bytes(content)
    result = govkit("init", tmp_path / name, "-o", tmp_path / "g.yaml")
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1
    assert message in result.output
    assert not (tmp_path / "g.yaml").exists()


def test_column_given_by_flag_must_exist(project: Project) -> None:
    result = govkit("init", project.root / "data/eval.csv", "-o", project.root / "n.yaml", "--label", "nope")
    assert result.exit_code == 2
    assert "datasets.evaluation.label: column 'nope' not in eval.csv" in result.output


def test_a_person_at_a_terminal_is_asked(project: Project) -> None:
    """A real pseudo-terminal: prompts appear, answers land in the manifest, defaults are the proposals."""
    answers = [
        "credit",
        "2.0",
        "alpha",
        "ana@example.com",
        "medium",
        "MIT",
        "Scores loans.",
        "",
        "",
        "",
        "CC-BY-4.0",
        "",
    ]
    main, secondary = pty.openpty()
    out = project.root / "asked.yaml"
    proc = subprocess.Popen(
        [sys.executable, "-m", "govkit", "init", str(project.root / "data/eval.csv"), "-o", str(out)],
        stdin=secondary,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=project.root,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    os.close(secondary)
    os.write(main, ("\n".join(answers) + "\n").encode())
    stdout, stderr = proc.communicate(timeout=120)
    os.close(main)
    assert proc.returncode == 0, stderr.decode()
    assert b"Label column" in stdout and b"Risk tier [low, medium, high]" in stdout
    spec = load_manifest(out).spec
    ev = spec.datasets.evaluation
    assert ev is not None
    assert (spec.model.name, spec.model.version, spec.model.team, spec.model.risk_tier) == (
        "credit",
        "2.0",
        "alpha",
        "medium",
    )
    assert (spec.model.license, spec.model.intended_use, ev.license) == ("MIT", "Scores loans.", "CC-BY-4.0")
    assert (ev.label, ev.prediction, ev.score, ev.positive_label) == ("y", "yhat", "score", 1)
    written = out.read_text()
    assert "TODO" not in written.split("\nmodel:")[1].split("datasets:")[0]  # every model question was answered


def test_parquet_dataset_reads_like_csv(project: Project) -> None:
    import pandas as pd

    frame = pd.read_csv(project.root / "data/eval.csv")
    frame.to_parquet(project.root / "data/eval.parquet")
    out = project.root / "p.yaml"
    assert govkit("init", project.root / "data/eval.parquet", "-o", out).exit_code == 0
    ev = load_manifest(out).spec.datasets.evaluation
    assert ev is not None
    assert (ev.path, ev.label, ev.prediction, ev.score, ev.positive_label) == (
        "data/eval.parquet",
        "y",
        "yhat",
        "score",
        1,
    )
