"""MLflow intake, offline: fixtures made by the real mlflow library, read by govkit without importing it."""

from __future__ import annotations

import importlib.util
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from govkit.cli import cli
from govkit.manifest import load_manifest

ROOT = Path(__file__).resolve().parents[1]
pytest.importorskip("mlflow", reason="the fixtures are made with the real mlflow library (dev dependency)")


def govkit(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    spec = importlib.util.spec_from_file_location("make_mlflow_fixtures", ROOT / "scripts" / "make_mlflow_fixtures.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    folder = tmp_path_factory.mktemp("mlflow")
    facts = module.make(folder)
    return {"folder": folder, **facts}


@pytest.fixture
def work(made: dict[str, Any], tmp_path: Path) -> Path:
    """A copy, so that each test writes its own manifest next to the data and the model."""
    shutil.copytree(made["folder"], tmp_path / "m")
    return tmp_path / "m"


def registry(db: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as con:
        return list(con.execute(sql, args))


def test_model_folder_gives_features_artifact_and_provenance(work: Path, made: dict[str, Any]) -> None:
    result = govkit(
        "init",
        work / "eval.csv",
        "--from-mlflow",
        work / "model",
        "--label",
        "repaid",
        "--prediction",
        "approved",
        "--score",
        "approval_score",
        "-o",
        work / "govkit.yaml",
    )
    assert result.exit_code == 0, result.output
    loaded = load_manifest(work / "govkit.yaml")  # files and columns included
    mlmodel = yaml.safe_load((work / "model" / "MLmodel").read_text())
    assert loaded.spec.datasets.evaluation is not None
    assert list(loaded.spec.datasets.evaluation.features) == made["features"]
    assert loaded.spec.model.artifact == "model/" + mlmodel["flavors"]["sklearn"]["pickled_model"]
    assert loaded.spec.model.license == mlmodel["metadata"]["license"]  # the MLmodel metadata convention
    assert loaded.spec.model.team == mlmodel["metadata"]["team"]
    text = (work / "govkit.yaml").read_text()
    assert made["model_uuid"] in text  # provenance kept as a comment
    assert govkit("validate", work / "govkit.yaml").exit_code == 0


def test_registry_version_tags_beat_model_tags_beat_run_tags(work: Path, made: dict[str, Any]) -> None:
    db = work / "mlflow.db"
    result = govkit(
        "init",
        "--from-mlflow",
        db,
        "--model",
        "credit-scorer",
        "--alias",
        "champion",
        "-o",
        work / "govkit.yaml",
        "--no-input",
    )
    assert result.exit_code == 0, result.output
    model = load_manifest(work / "govkit.yaml").spec.model
    (version,) = registry(db, "select version from registered_model_aliases where alias = 'champion'")[0]
    assert model.version == str(version)
    version_tags = dict(registry(db, "select key, value from model_version_tags where version = ?", version))
    model_tags = dict(registry(db, "select key, value from registered_model_tags"))
    assert model.license == version_tags["license"] != model_tags["license"]
    assert model.owner == version_tags["govkit.owner"]  # not the run's `owner` tag
    assert model.team == model_tags["team"]  # not the run's `team` tag
    assert model.risk_tier == model_tags["risk_tier"]
    (description,) = registry(db, "select description from model_versions where version = ?", version)[0]
    assert model.intended_use == description
    assert [(b.name, b.license) for b in model.base_models] == [("acme/tabular-base", "Apache-2.0")]
    assert made["run_ids"][int(version) - 1] in (work / "govkit.yaml").read_text()


def test_registry_by_version_reads_the_logged_models_signature(work: Path, made: dict[str, Any]) -> None:
    result = govkit(
        "init",
        work / "eval.csv",
        "--from-mlflow",
        work / "mlflow.db",
        "--model",
        "credit-scorer",
        "--model-version",
        "1",
        "--label",
        "repaid",
        "--prediction",
        "approved",
        "-o",
        work / "govkit.yaml",
    )
    assert result.exit_code == 0, result.output
    spec = load_manifest(work / "govkit.yaml").spec
    assert spec.model.version == "1"
    assert spec.model.license == "Apache-2.0"  # version 1 has no licence tag: the registered model's
    assert spec.datasets.evaluation is not None
    assert list(spec.datasets.evaluation.features) == made["features"]
    assert spec.model.artifact is None  # the logged model lives outside the manifest's folder
    assert "outside this folder" in (work / "govkit.yaml").read_text()


def test_mlflow_is_not_imported_at_run_time(work: Path) -> None:
    from conftest import fresh_cli

    out, code, heavy = fresh_cli(
        [
            "init",
            "--from-mlflow",
            str(work / "mlflow.db"),
            "--model",
            "credit-scorer",
            "--alias",
            "champion",
            "-o",
            str(work / "g.yaml"),
            "--no-input",
        ],
        ("mlflow", "sqlalchemy", "alembic"),
    )
    assert code == "0", out
    assert heavy == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from-mlflow", "{w}/unsigned"], "unsigned/MLmodel: signature: the model has no signature"),
        (["--from-mlflow", "{w}/mlflow.db", "--model", "credit-scorer", "--alias", "nope"], "has no alias 'nope'"),
        (["--from-mlflow", "{w}/mlflow.db", "--model", "nobody", "--model-version", "1"], "no version 1 of"),
        (["--from-mlflow", "{w}/eval.csv", "--model", "x", "--model-version", "1"], "not an MLflow tracking database"),
        (["--from-mlflow", "{w}/mlflow.db"], "needs --model NAME"),
    ],
)
def test_bad_mlflow_input_is_one_line_exit_2(work: Path, args: list[str], message: str) -> None:
    result = govkit("init", *[a.format(w=work) for a in args], "-o", work / "g.yaml", "--no-input")
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1 or "Usage" in result.output
    assert not (work / "g.yaml").exists()


def test_hostile_mlmodel_is_refused_by_the_yaml_limits(work: Path) -> None:
    (work / "model" / "MLmodel").write_text("a: &x [1]\nb: *x\n")
    result = govkit("init", "--from-mlflow", work / "model", "-o", work / "g.yaml")
    assert result.exit_code == 2
    assert "MLmodel" in result.output and "aliases" in result.output


def test_signature_feature_missing_from_the_data_names_the_field(work: Path) -> None:
    text = (work / "eval.csv").read_text().replace("late_payments", "late", 1)
    (work / "eval.csv").write_text(text)
    result = govkit(
        "init",
        work / "eval.csv",
        "--from-mlflow",
        work / "model",
        "--label",
        "repaid",
        "--prediction",
        "approved",
        "-o",
        work / "g.yaml",
    )
    assert result.exit_code == 2
    assert "signature.inputs" in result.output and "late_payments" in result.output
