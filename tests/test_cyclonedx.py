"""CycloneDX ML-BOM: export of the demo evaluation (valid against the official 1.6 schema) and BOMs as input."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from govkit.audit.log import AuditLog
from govkit.audit.records import find_evaluation
from govkit.cli import cli
from govkit.intake.bom import build_bom, licence_choice
from govkit.manifest import load_manifest


def schema_errors(bom: dict[str, Any] | str) -> list[str]:
    """Errors of the official CycloneDX 1.6 JSON schema (bundled with cyclonedx-python-lib, read offline)."""
    text = bom if isinstance(bom, str) else json.dumps(bom)
    found = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text, all_errors=True)
    return [str(e) for e in found] if found else []


@pytest.fixture
def demo(recorded_demo: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("GOVKIT_DB", recorded_demo["db"])
    monkeypatch.setenv("GOVKIT_KEY", recorded_demo["key"])
    with AuditLog(recorded_demo["db"], create=False) as log:
        entry, payload = find_evaluation(log, digest=recorded_demo["digest"])
        log_id = log.store.log_id()
    return {**recorded_demo, "entry": entry, "evaluation": payload["evaluation"], "log_id": log_id}


def govkit(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def demo_bom(demo: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    out = tmp_path / "bom.json"
    result = govkit("bom", "--latest", "credit-scorer", "-o", out)
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text())


def test_demo_bom_is_valid_cyclonedx_1_6(demo_bom: dict[str, Any]) -> None:
    assert schema_errors(demo_bom) == []
    assert demo_bom["specVersion"] == "1.6"


def test_the_validator_does_reject_what_the_schema_forbids(demo_bom: dict[str, Any]) -> None:
    broken = json.loads(json.dumps(demo_bom))
    broken["metadata"]["component"]["modelCard"]["modelParameters"]["approach"]["type"] = "guesswork"
    assert schema_errors(broken)


def test_model_component_carries_the_evaluation(demo_bom: dict[str, Any], demo: dict[str, Any]) -> None:
    evaluation = demo["evaluation"]
    model = demo_bom["metadata"]["component"]
    assert (model["type"], model["name"], model["version"]) == ("machine-learning-model", "credit-scorer", "2.1.0")
    assert model["licenses"] == [{"license": {"id": evaluation["model"]["license"]}}]
    assert model["hashes"][0]["content"] == evaluation["inputs"]["files"]["model_artifact"]["sha256"]
    urls = {r["type"]: r["url"] for r in model["externalReferences"]}
    assert urls["evidence"].endswith(demo["digest"])
    assert urls["log"] == f"urn:govkit:audit-log:{demo['log_id']}:entry:{demo['entry'].seq}"
    fairness = [f for f in evaluation["findings"] if f["check"].startswith("fairness.")]
    privacy = [f for f in evaluation["findings"] if f["check"].startswith("privacy.")]
    considerations = model["modelCard"]["considerations"]
    assert [a["groupAtRisk"] for a in considerations["fairnessAssessments"]] == [f["subject"] for f in fairness]
    assert len(considerations["ethicalConsiderations"]) == len(privacy)
    waived = [a for a in considerations["fairnessAssessments"] if a["mitigationStrategy"].startswith("waived by")]
    assert len(waived) == sum(f["status"] == "waived" for f in fairness)


def test_performance_metrics_per_cohort_with_intervals(demo_bom: dict[str, Any], demo: dict[str, Any]) -> None:
    """Values recomputed from the cohort's confusion counts; intervals are the evaluation's."""
    metrics = demo_bom["metadata"]["component"]["modelCard"]["quantitativeAnalysis"]["performanceMetrics"]
    by_slice = {(m["type"], m.get("slice")): m for m in metrics}
    tables = demo["evaluation"]["measurements"]["fairness"]["tables"]
    sex = next(t for t in tables if t["features"] == ["sex"])
    for group in sex["groups"]:
        accuracy = by_slice[("accuracy", f"sex={group['group']}")]
        assert float(accuracy["value"]) == pytest.approx((group["tp"] + group["tn"]) / group["n"], abs=1e-5)
        low, high = group["accuracy_ci"]
        assert float(accuracy["confidenceInterval"]["lowerBound"]) == pytest.approx(low, abs=1e-5)
        assert float(accuracy["confidenceInterval"]["upperBound"]) == pytest.approx(high, abs=1e-5)
    overall = demo["evaluation"]["measurements"]["fairness"]["overall"]
    assert float(by_slice[("selection_rate", None)]["value"]) == pytest.approx(
        (overall["tp"] + overall["fp"]) / overall["n"], abs=1e-5
    )
    intersections = [m for m in metrics if " & " in m.get("slice", "")]
    assert intersections  # cohorts of several features are slices too


def test_base_models_datasets_and_dependencies_are_components(demo_bom: dict[str, Any], demo: dict[str, Any]) -> None:
    by_ref = {c["bom-ref"]: c for c in demo_bom["components"]}
    licence = demo["evaluation"]["measurements"]["license"]["components"]
    base = next(c for c in by_ref.values() if c["type"] == "machine-learning-model")
    assert base["name"] == next(c["name"] for c in licence if c["kind"] == "base_model")
    assert by_ref["dataset:training"]["licenses"] == [{"license": {"id": "CC-BY-NC-4.0"}}]
    assert by_ref["dataset:evaluation"]["licenses"] == [{"expression": "LicenseRef-acme-internal OR CC-BY-4.0"}]
    numpy = by_ref["pypi:numpy"]
    assert numpy["purl"].startswith("pkg:pypi/numpy@")
    (root,) = [d for d in demo_bom["dependencies"] if d["ref"] == "model"]
    assert set(root["dependsOn"]) == set(by_ref)


def test_bom_is_deterministic(demo: dict[str, Any]) -> None:
    first, second = govkit("bom", demo["digest"][:12]), govkit("bom", "--latest", "credit-scorer")
    assert first.exit_code == 0 and first.stdout == second.stdout


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("MIT", [{"license": {"id": "MIT"}}]),
        ("apache-2.0", [{"license": {"id": "Apache-2.0"}}]),
        ("MIT OR Apache-2.0", [{"expression": "MIT OR Apache-2.0"}]),
        ("GPL-2.0-only WITH Classpath-exception-2.0", [{"expression": "GPL-2.0-only WITH Classpath-exception-2.0"}]),
        ("LicenseRef-acme", [{"expression": "LicenseRef-acme"}]),
        ("UNKNOWN", [{"license": {"name": "UNKNOWN"}}]),
    ],
)
def test_licences_as_spdx_ids_or_expressions(
    expression: str, expected: list[dict[str, Any]], demo: dict[str, Any]
) -> None:
    assert licence_choice(expression) == expected
    evaluation = json.loads(json.dumps(demo["evaluation"]))
    evaluation["model"]["license"] = expression
    assert schema_errors(build_bom(evaluation, demo["digest"], demo["entry"], demo["log_id"])) == []


def test_bom_round_trips_into_a_manifest(demo_bom: dict[str, Any], tmp_path: Path) -> None:
    (tmp_path / "bom.json").write_text(json.dumps(demo_bom))
    result = govkit("init", "--from-cyclonedx", tmp_path / "bom.json", "-o", tmp_path / "govkit.yaml")
    assert result.exit_code == 0, result.output
    model = load_manifest(tmp_path / "govkit.yaml").spec.model
    component = demo_bom["metadata"]["component"]
    assert (model.name, model.version, model.license) == ("credit-scorer", "2.1.0", "Apache-2.0")
    assert model.intended_use == component["description"]
    assert [(b.name, b.license) for b in model.base_models] == [("acme/tabular-risk-embeddings", "Apache-2.0")]


def test_evidence_bundle_carries_the_same_bom(demo: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "bundle.zip"
    assert govkit("export", "--model", "credit-scorer", "--out", out).exit_code == 0
    with zipfile.ZipFile(out) as z:
        (name,) = [n for n in z.namelist() if n.endswith(f"data/bom/{demo['digest']}.cdx.json")]
        inside = z.read(name)
    assert inside.decode() == govkit("bom", demo["digest"]).stdout
    assert govkit("verify-bundle", out).exit_code == 0


def bom_file(tmp_path: Path, bom: object) -> Path:
    path = tmp_path / "in.json"
    path.write_text(bom if isinstance(bom, str) else json.dumps(bom))
    return path


MODEL = {"type": "machine-learning-model", "name": "m", "licenses": [{"license": {"id": "MIT"}}]}


@pytest.mark.parametrize(
    ("bom", "message"),
    [
        (
            {"bomFormat": "CycloneDX", "specVersion": "1.4", "components": [MODEL]},
            "specVersion: CycloneDX '1.4' is not read",
        ),
        ({"bomFormat": "SPDX"}, "bomFormat: not a CycloneDX JSON BOM"),
        (
            {"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [{"type": "library", "name": "x"}]},
            "components: no component of type machine-learning-model",
        ),
        (
            {"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [{**MODEL, "licenses": [{"license": {}}]}]},
            "components[0].licenses: licence entry has no id",
        ),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ("{not json", "not JSON"),
    ],
)
def test_bad_boms_are_one_line_exit_2(tmp_path: Path, bom: object, message: str) -> None:
    result = govkit("init", "--from-cyclonedx", bom_file(tmp_path, bom), "-o", tmp_path / "g.yaml")
    assert result.exit_code == 2, result.output
    assert len(result.output.strip().splitlines()) == 1
    assert message in result.output and "in.json" in result.output


def test_oversized_bom_is_refused_before_parsing(tmp_path: Path) -> None:
    from govkit.intake.interface import MAX_INTAKE_BYTES

    path = tmp_path / "in.json"
    with path.open("wb") as handle:
        handle.truncate(MAX_INTAKE_BYTES + 1)
    result = govkit("init", "--from-cyclonedx", path, "-o", tmp_path / "g.yaml")
    assert result.exit_code == 2
    assert "larger than" in result.output


def test_base_models_from_pedigree_and_dependencies(tmp_path: Path) -> None:
    bom = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "metadata": {
            "component": {
                **MODEL,
                "bom-ref": "m",
                "pedigree": {
                    "ancestors": [
                        {
                            "type": "machine-learning-model",
                            "name": "anc",
                            "licenses": [{"expression": "MIT OR Apache-2.0"}],
                        }
                    ]
                },
            }
        },
        "components": [
            {
                "type": "machine-learning-model",
                "bom-ref": "b",
                "name": "dep",
                "licenses": [{"license": {"name": "Llama 3 Community"}}],
            }
        ],
        "dependencies": [{"ref": "m", "dependsOn": ["b"]}],
    }
    result = govkit("init", "--from-cyclonedx", bom_file(tmp_path, bom), "-o", tmp_path / "g.yaml")
    assert result.exit_code == 0, result.output
    model = load_manifest(tmp_path / "g.yaml").spec.model
    assert [(b.name, b.license) for b in model.base_models] == [
        ("dep", "LicenseRef-Llama-3-Community"),
        ("anc", "MIT OR Apache-2.0"),
    ]


def test_hostile_strings_stay_data_in_a_valid_bom(sample_evaluation: Any) -> None:
    """The hand-built sample: every status, waivers, and hostile text in subjects, messages and the model name."""
    from dataclasses import replace

    from evaluations import HOSTILE

    evaluation = replace(sample_evaluation, model={**sample_evaluation.model, "name": HOSTILE, "license": "MIT"})
    bom = build_bom(evaluation.to_dict(), evaluation.digest, None, None)
    assert schema_errors(bom) == []
    assert json.loads(json.dumps(bom))["metadata"]["component"]["name"] == HOSTILE
    subjects = {
        a["groupAtRisk"] for a in bom["metadata"]["component"]["modelCard"]["considerations"]["fairnessAssessments"]
    }
    assert subjects == {f.subject for f in evaluation.findings if f.check.startswith("fairness.")}
