"""Multiclass models through the fairness check: one-vs-rest metrics, confusion matrices, class rules.

The reference data is scikit-learn's bundled wine dataset (no download): a logistic regression's
predictions of three cultivars, with two cohorts binned from real measurements standing in for
sensitive features. Expectations come from fairlearn's MetricFrame on the one-vs-rest labels and
from scikit-learn's confusion_matrix, computed here independently.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from sklearn.datasets import load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, confusion_matrix

from conftest import Project, new_project
from govkit.api import run_check

CLASSES = ["barolo", "grignolino", "barbera"]


def wine_frame() -> pd.DataFrame:
    data = load_wine(as_frame=True)
    frame = data.frame.copy()
    features = ["flavanoids", "color_intensity", "proline"]
    model = LogisticRegression(max_iter=5000).fit(frame[features], frame["target"])
    frame["cultivar"] = np.array(CLASSES)[frame["target"]]
    frame["predicted"] = np.array(CLASSES)[model.predict(frame[features])]
    frame["alcohol_band"] = np.where(frame["alcohol"] >= frame["alcohol"].median(), "high", "low")
    frame["hue_band"] = pd.cut(frame["hue"], [0, 0.8, 1.0, 2.0], labels=["dark", "mid", "light"]).astype(str)
    return frame


def multiclass_project(
    project: Project, frame: pd.DataFrame, rules: list[dict[str, Any]] | None = None, **evaluation: Any
) -> None:
    frame.to_csv(project.root / "data" / "eval.csv", index=False)

    def mutate(m: dict[str, Any]) -> None:
        m["model"]["task"] = "multiclass-classification"
        spec = {
            "path": "data/eval.csv",
            "license": "MIT",
            "label": "cultivar",
            "prediction": "predicted",
            "features": ["flavanoids", "proline"],
            "classes": CLASSES,
        }
        spec.update(evaluation)
        m["datasets"]["evaluation"] = {k: v for k, v in spec.items() if v is not None}
        m["sensitive_features"] = ["alcohol_band", "hue_band"]

    project.manifest(mutate)
    rules = rules or [
        {
            "id": "M-DPD",
            "title": "parity per class",
            "check": "fairness.demographic_parity_difference",
            "severity": "high",
            "params": {"max": 1.0},
        }
    ]
    project.policy(lambda p: p.update(rules=rules))


def measure(project: Project, engine: str = "pandas") -> dict[str, Any]:
    evaluation = run_check(project.manifest_path, project.root / "policies", engine=engine)
    return dict(evaluation.measurements["fairness"])


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    project = new_project(tmp_path_factory.mktemp("multiclass"))
    multiclass_project(project, wine_frame())
    return measure(project)


def keyed(table: dict[str, Any]) -> dict[tuple[str, ...], dict[str, Any]]:
    return {tuple(g["key"][f] for f in table["features"]): g for g in table["groups"]}


def test_per_class_rates_equal_fairlearn_one_vs_rest(reference: dict[str, Any]) -> None:
    frame = wine_frame()
    assert reference["task"] == "multiclass-classification" and reference["classes"] == CLASSES
    for table in reference["tables"]:
        for cls in CLASSES:
            expected = MetricFrame(
                metrics={"selection_rate": selection_rate, "tpr": true_positive_rate, "fpr": false_positive_rate},
                y_true=(frame["cultivar"] == cls).astype(int),
                y_pred=(frame["predicted"] == cls).astype(int),
                sensitive_features=frame[table["features"]],
            ).by_group
            measured = keyed(table["classes"][cls])
            assert len(measured) == len(expected)
            for key, row in expected.iterrows():
                group = measured[key if isinstance(key, tuple) else (key,)]
                for metric in ("selection_rate", "tpr", "fpr"):
                    if group[metric] is not None:  # undefined here (no positives), 0.0 in fairlearn
                        assert group[metric] == pytest.approx(row[metric], abs=1e-12), (cls, key, metric)


def test_confusion_matrices_and_accuracy_equal_sklearn(reference: dict[str, Any]) -> None:
    frame = wine_frame()
    table = next(t for t in reference["tables"] if t["features"] == ["alcohol_band", "hue_band"])
    for key, group in keyed(table).items():
        rows = (frame["alcohol_band"] == key[0]) & (frame["hue_band"] == key[1])
        truth, predicted = frame.loc[rows, "cultivar"], frame.loc[rows, "predicted"]
        assert group["confusion"] == confusion_matrix(truth, predicted, labels=CLASSES).tolist()
        assert group["accuracy"] == pytest.approx(accuracy_score(truth, predicted), abs=1e-12)
    overall = reference["overall"]
    assert overall["confusion"] == confusion_matrix(frame["cultivar"], frame["predicted"], labels=CLASSES).tolist()


def test_macro_summary_is_the_mean_of_fairlearn_per_class(reference: dict[str, Any]) -> None:
    frame = wine_frame()
    table = next(t for t in reference["tables"] if t["features"] == ["alcohol_band"])
    per_class = [
        demographic_parity_difference(
            (frame["cultivar"] == cls).astype(int),
            (frame["predicted"] == cls).astype(int),
            sensitive_features=frame["alcohol_band"],
        )
        for cls in CLASSES
    ]
    assert table["macro"]["demographic_parity_difference"] == pytest.approx(np.mean(per_class), abs=1e-12)


def test_rules_name_a_class_or_judge_the_favourable_ones(project: Project) -> None:
    rules = [
        {
            "id": "M-ONE",
            "title": "barbera",
            "check": "fairness.equal_opportunity_difference",
            "severity": "high",
            "params": {"max": 1.0, "class": "barbera", "intersectional": False},
        },
        {
            "id": "M-FAV",
            "title": "favourable",
            "check": "fairness.demographic_parity_ratio",
            "severity": "high",
            "params": {"min": 0.0, "intersectional": False},
        },
    ]
    multiclass_project(project, wine_frame(), rules, favourable_classes=["barolo", "barbera"])
    _, evaluation = project.check_json("--no-waivers")
    subjects = {(f["rule_id"], f["subject"]) for f in evaluation["findings"] if f["rule_id"].startswith("M-")}
    assert subjects == {
        ("M-ONE", "alcohol_band [class barbera]"),
        ("M-ONE", "hue_band [class barbera]"),
        ("M-FAV", "alcohol_band [favourable]"),
        ("M-FAV", "hue_band [favourable]"),
    }
    frame = wine_frame()
    favourable = evaluation["measurements"]["fairness"]["tables"][0]["favourable"]
    expected = MetricFrame(
        metrics=selection_rate,
        y_true=frame["cultivar"].isin(["barolo", "barbera"]).astype(int),
        y_pred=frame["predicted"].isin(["barolo", "barbera"]).astype(int),
        sensitive_features=frame["alcohol_band"],
    ).by_group
    for group in favourable["groups"]:
        assert group["selection_rate"] == pytest.approx(expected[group["group"]], abs=1e-12)


@pytest.mark.parametrize("engine", ["duckdb", "spark"])
def test_engines_give_identical_tables(
    project: Project, reference: dict[str, Any], engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counts only: every engine's multiclass measurement is identical, not merely close."""
    monkeypatch.setenv("GOVKIT_SPARK_MASTER", "local[2]")
    multiclass_project(project, wine_frame())
    measured = measure(project, engine)
    strip = ("engine", "dialect")
    assert measured["engine"] == engine
    assert {k: v for k, v in measured.items() if k not in strip} == {
        k: v for k, v in reference.items() if k not in strip
    }


def test_an_undeclared_class_in_predictions_is_exit_2(project: Project) -> None:
    frame = wine_frame()
    frame.loc[5, "predicted"] = "lambrusco"
    multiclass_project(project, frame)
    result = project.check("--no-log")
    assert result.exit_code == 2, result.output
    assert "datasets.evaluation.prediction: column 'predicted' of eval.csv holds 'lambrusco'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("evaluation", "rule_params", "message"),
    [
        ({"classes": None}, {}, "datasets.evaluation: a multiclass-classification model lists its classes"),
        ({"favourable_classes": ["chianti"]}, {}, "datasets.evaluation.favourable_classes[0]: 'chianti' is not"),
        ({"favourable_outcome": {"value": 1}}, {}, "datasets.evaluation.favourable_outcome: only for task regression"),
        ({}, {"class": "chianti"}, "names class 'chianti', which datasets.evaluation.classes does not list"),
    ],
)
def test_bad_multiclass_input_is_exit_2(
    project: Project, evaluation: dict[str, Any], rule_params: dict[str, Any], message: str
) -> None:
    rules = [
        {
            "id": "M-DPD",
            "title": "parity",
            "check": "fairness.demographic_parity_difference",
            "severity": "high",
            "params": {"max": 0.5, **rule_params},
        }
    ]
    multiclass_project(project, wine_frame(), rules, **evaluation)
    result = project.check("--no-log")
    assert result.exit_code == 2, result.output
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_class_rule_on_a_binary_model_is_exit_2(project: Project) -> None:
    project.policy(
        lambda p: p["rules"].append(
            {
                "id": "M-BIN",
                "title": "class",
                "check": "fairness.demographic_parity_ratio",
                "severity": "high",
                "params": {"min": 0.8, "class": "1"},
            }
        )
    )
    result = project.check("--no-log")
    assert result.exit_code == 2 and "names a class, but model.task is binary-classification" in result.stderr


def test_shap_per_class_and_share_limits_per_class(project: Project) -> None:
    """Multiclass attributions: per class, mean |SHAP| equals shap's own; overall importance sums |SHAP| over
    classes; a share limit is judged overall and for every class."""
    import shap
    import skops.io as sio
    from sklearn.ensemble import HistGradientBoostingClassifier

    frame = wine_frame()
    features = ["flavanoids", "proline"]
    model = HistGradientBoostingClassifier(max_iter=20, random_state=0).fit(frame[features], frame["cultivar"])
    sio.dump(model, project.root / "model.skops")
    rules = [
        {
            "id": "M-SHARE",
            "title": "top share",
            "check": "explainability.max_single_feature_share",
            "severity": "high",
            "params": {"max": 0.99},
        }
    ]
    multiclass_project(project, frame, rules)
    text = project.manifest_path.read_text().replace("model:\n", "model:\n  artifact: model.skops\n", 1)
    project.manifest_path.write_text(text)
    _, evaluation = project.check_json("--no-waivers")
    measured = evaluation["measurements"]["explainability"]
    values = np.asarray(shap.TreeExplainer(model).shap_values(frame[features].to_numpy()))  # rows x features x classes
    assert [c["class"] for c in measured["classes"]] == [str(c) for c in model.classes_]
    for k, cls in enumerate(measured["classes"]):
        got = {i["feature"]: i["mean_abs_shap"] for i in cls["importance"]}
        for j, name in enumerate(features):
            assert got[name] == pytest.approx(np.abs(values[:, j, k]).mean(), rel=1e-9)
    overall = {i["feature"]: i["mean_abs_shap"] for i in measured["importance"]}
    for j, name in enumerate(features):
        assert overall[name] == pytest.approx(np.abs(values[:, j, :]).sum(axis=1).mean(), rel=1e-9)
    subjects = sorted(f["subject"] for f in evaluation["findings"])
    model_subject = "model:HistGradientBoostingClassifier"
    assert subjects == sorted([model_subject, *(f"{model_subject} [class {c}]" for c in model.classes_)])
    from govkit.report.render import ReportInputs, render_html

    html = render_html(ReportInputs(evaluation, "0" * 64))
    assert "Explainability: attributions per class" in html
    assert all(f"<td>{c}</td>" in html for c in model.classes_)


def test_every_format_and_the_report_show_class_findings(project: Project) -> None:
    from govkit.formats.interface import FORMATS, get_formatter
    from govkit.report.render import ReportInputs, render_html

    rules = [
        {
            "id": "M-EO",
            "title": "opportunity",
            "check": "fairness.equal_opportunity_difference",
            "severity": "high",
            "params": {"max": 0.0, "class": "barbera", "intersectional": False},
        }
    ]
    multiclass_project(project, wine_frame(), rules)
    evaluation = run_check(project.manifest_path, project.root / "policies")
    for name in FORMATS:
        out = get_formatter(name).render(evaluation).replace("\\", "")
        assert "[class barbera]" in out, name
    html = render_html(ReportInputs(evaluation.to_dict(), evaluation.digest))
    assert "barbera: selection / TPR / FPR" in html and "Confusion (rows: true)" in html
