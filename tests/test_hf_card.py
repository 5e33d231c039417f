"""Hugging Face model cards: read offline (bounded YAML) into a manifest, written back with a model-index
that huggingface_hub parses; card -> manifest -> card keeps what a card says."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from conftest import Project
from govkit.cli import cli
from govkit.manifest import load_manifest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # huggingface_hub must never need the network here
huggingface_hub = pytest.importorskip("huggingface_hub")


def govkit(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def demo(recorded_demo: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("GOVKIT_DB", recorded_demo["db"])
    monkeypatch.setenv("GOVKIT_KEY", recorded_demo["key"])
    return recorded_demo


def front(path: Path) -> Any:
    return huggingface_hub.ModelCard.load(path).data


def test_card_of_the_demo_parses_back_with_huggingface_hub(demo: dict[str, str], tmp_path: Path) -> None:
    from govkit.audit.log import AuditLog
    from govkit.audit.records import find_evaluation

    out = tmp_path / "README.md"
    assert govkit("card", "--latest", "credit-scorer", "-o", out).exit_code == 0
    data = front(out)
    with AuditLog(demo["db"], create=False) as log:
        _, payload = find_evaluation(log, digest=demo["digest"])
    evaluation = payload["evaluation"]
    assert data.license == "apache-2.0"
    assert data.base_model == ["acme/tabular-risk-embeddings"]
    results = {r.metric_name: r.metric_value for r in data.eval_results}
    overall = evaluation["measurements"]["fairness"]["overall"]
    assert results["accuracy (overall)"] == pytest.approx((overall["tp"] + overall["tn"]) / overall["n"], abs=1e-6)
    groups = [g for t in evaluation["measurements"]["fairness"]["tables"] for g in t["groups"]]
    assert len(results) == 5 + 2 * len(groups)  # five overall metrics, accuracy and selection rate per cohort
    assert all(r.task_type == "tabular-classification" for r in data.eval_results)
    body = out.read_text()
    assert demo["digest"] in body and "## Findings" in body


def test_card_manifest_card_round_trip(demo: dict[str, str], tmp_path: Path) -> None:
    first = tmp_path / "README.md"
    assert govkit("card", "--latest", "credit-scorer", "-o", first).exit_code == 0
    manifest = tmp_path / "govkit.yaml"
    made = govkit(
        "init",
        "--from-hf",
        first,
        "-o",
        manifest,
        "--model-version",
        "2.1.0",
        "--base-model-license",
        "acme/tabular-risk-embeddings=Apache-2.0",
    )
    assert made.exit_code == 0, made.output
    model = load_manifest(manifest).spec.model
    assert (model.name, model.license) == ("credit-scorer", "apache-2.0")
    second = tmp_path / "again.md"
    assert govkit("card", "--manifest", manifest, "-o", second).exit_code == 0
    a, b = front(first), front(second)
    assert (a.model_name, a.license, a.base_model) == (b.model_name, b.license, b.base_model)


def test_card_written_by_huggingface_hub_feeds_the_licence_lineage(project: Project) -> None:
    """A card made with the real library: licence `other` with a name, a base model, datasets."""
    data = huggingface_hub.ModelCardData(
        license="other",
        license_name="acme-model-licence",
        license_link="https://example.com/licence",
        base_model="meta-llama/Meta-Llama-3-8B",
        datasets=["acme/loans"],
        model_name="loan-llm",
    )
    card = project.write("README.md", f"---\n{data.to_yaml()}\n---\n\n# loan-llm\n")
    out = project.manifest_path
    result = govkit(
        "init",
        project.root / "data/eval.csv",
        "--from-hf",
        card,
        "-o",
        out,
        "--force",
        "--base-model-license",
        "meta-llama/Meta-Llama-3-8B=LicenseRef-llama3",
        "--data-license",
        "MIT",
    )
    assert result.exit_code == 0, result.output
    spec = load_manifest(out).spec
    assert spec.model.license == "LicenseRef-acme-model-licence"
    assert [(b.name, b.license) for b in spec.model.base_models] == [
        ("meta-llama/Meta-Llama-3-8B", "LicenseRef-llama3")
    ]
    assert "acme/loans" in out.read_text() and "https://example.com/licence" in out.read_text()
    _, evaluation = project.check_json()
    (model_finding,) = [f for f in evaluation["findings"] if f["check"] == "license.model"]
    assert model_finding["status"] == "fail"  # an unknown own licence, whatever the base model
    assert "LicenseRef-acme-model-licence" in model_finding["message"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("# just a readme\n", "front matter: no YAML front matter"),
        ("---\nlicense: [a\n---\n", "YAML syntax error"),
        ("---\na: &x 1\nb: *x\n---\n", "aliases"),
        ("---\n- a list\n---\n", "front matter: front matter is not a mapping"),
        ("---\nlicense: MIT AND AND\n---\n", "license: invalid licence expression"),
        ("---\nbase_model: [1, 2]\n---\n", "base_model: expected a name"),
        ("---\nmodel-index: [{results: 3}]\n---\n", "model-index: model-index is not a list"),
    ],
)
def test_bad_cards_are_one_line_exit_2(tmp_path: Path, text: str, message: str) -> None:
    card = tmp_path / "README.md"
    card.write_text(text)
    result = govkit("init", "--from-hf", card, "-o", tmp_path / "g.yaml")
    assert result.exit_code == 2, result.output
    assert len(result.output.strip().splitlines()) == 1
    assert message in result.output and "README.md" in result.output


def test_user_strings_are_inert_markdown(project: Project, tmp_path: Path) -> None:
    def hostile(m: dict[str, Any]) -> None:
        m["model"]["name"] = "<img src=x onerror=alert(1)>"
        m["model"]["intended_use"] = "[click](https://evil.example) **now**\n---\nlicense: mit"
        m["model"]["base_models"] = [{"name": "a|b`c", "license": "MIT"}]

    project.manifest(hostile)
    out = tmp_path / "README.md"
    assert govkit("card", "--manifest", project.manifest_path, "-o", out).exit_code == 0
    body = out.read_text().split("\n---\n", 1)[1]
    assert "<img" not in body and "&lt;img" in body
    assert "](https" not in body and "\\[click\\]" in body
    assert "a\\|b\\`c" in body
    data = front(out)
    assert data.model_name == "<img src=x onerror=alert(1)>"  # data in YAML stays data
    assert data.license == "apache-2.0"


def test_hostile_evaluation_strings_cannot_shape_the_card(sample_evaluation: Any, tmp_path: Path) -> None:
    from dataclasses import replace

    from evaluations import HOSTILE
    from govkit.intake.card import from_evaluation, render_card

    evaluation = replace(sample_evaluation, model={**sample_evaluation.model, "name": HOSTILE, "license": "MIT"})
    as_dict = evaluation.to_dict()
    out = tmp_path / "README.md"
    out.write_text(render_card(from_evaluation(as_dict), as_dict, evaluation.digest))
    assert front(out).model_name == HOSTILE  # the front matter keeps it as data
    body = out.read_text().split("\n---\n", 1)[1]
    assert "<img" not in body and "](javascript" not in body and "\x1b" not in body
    assert not any(line.startswith(("::", "### Forged")) for line in body.splitlines())
    assert body.count("\n## ") == 2  # Evaluation results, Findings: no heading came from the data
