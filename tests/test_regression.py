"""Regression models through the fairness check: every metric equals fairlearn / scikit-learn, on every engine.

The reference data is scikit-learn's bundled diabetes dataset (no download): a linear model's
predictions of disease progression, with sex and an age band as cohorts. Expectations are computed
here, independently, with fairlearn's MetricFrame and scikit-learn's metrics on the same rows.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from fairlearn.metrics import MetricFrame, mean_prediction, selection_rate
from scipy.stats import ttest_ind
from sklearn.datasets import load_diabetes
from sklearn.linear_model import LinearRegression
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error

from conftest import Project, new_project
from govkit.api import run_check

# Sums of floats may differ in the last bits between engines (their summation order differs):
# every float agrees to this relative tolerance, every count exactly (docs/your-data.md).
ENGINE_RTOL = 1e-9
THRESHOLD = 150.0


def mean_error(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.mean(np.asarray(p) - np.asarray(y)))


def mean_target(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.mean(y))


FAIRLEARN = {
    "mean_prediction": lambda y, p: mean_prediction(y, p),
    "mean_target": mean_target,
    "mean_error": mean_error,
    "mae": mean_absolute_error,
    "rmse": root_mean_squared_error,
    "r2": r2_score,
}


def diabetes_frame() -> pd.DataFrame:
    data = load_diabetes(as_frame=True, scaled=False)
    frame = data.frame.rename(columns={"target": "progression"})
    features = [c for c in data.feature_names if c not in ("sex", "age")]
    model = LinearRegression().fit(frame[features], frame["progression"])
    frame["predicted"] = model.predict(frame[features])
    frame["sex"] = frame["sex"].map({1.0: "one", 2.0: "two"})
    frame["age_band"] = pd.cut(frame["age"], [0, 40, 55, 120], labels=["<40", "40-54", "55+"]).astype(str)
    frame.loc[::37, "age_band"] = None  # a few missing values: their own Unknown group
    return frame


RULES: list[dict[str, Any]] = [
    {
        "id": "R-MAE",
        "title": "error gap",
        "check": "fairness.group_metric",
        "severity": "high",
        "params": {"metric": "mae", "max_difference": 1000},
    },
    {
        "id": "R-DPR",
        "title": "approval parity",
        "check": "fairness.demographic_parity_ratio",
        "severity": "high",
        "params": {"min": 0.5},
    },
]


def regression_project(
    project: Project, frame: pd.DataFrame, rules: list[dict[str, Any]] | None = None, **evaluation: Any
) -> None:
    frame.to_csv(project.root / "data" / "eval.csv", index=False)

    def mutate(m: dict[str, Any]) -> None:
        m["model"]["task"] = "regression"
        spec = {
            "path": "data/eval.csv",
            "license": "MIT",
            "label": "progression",
            "prediction": "predicted",
            "features": ["bmi", "bp"],
            "favourable_outcome": {"operator": ">=", "value": THRESHOLD},
        }
        spec.update(evaluation)
        m["datasets"]["evaluation"] = {k: v for k, v in spec.items() if v is not None}
        m["sensitive_features"] = ["sex", "age_band"]

    project.manifest(mutate)
    project.policy(lambda p: p.update(rules=rules or RULES))


def measure(project: Project, engine: str = "pandas") -> dict[str, Any]:
    evaluation = run_check(project.manifest_path, project.root / "policies", engine=engine)
    return dict(evaluation.measurements["fairness"])


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    project = new_project(tmp_path_factory.mktemp("regression"))
    regression_project(project, diabetes_frame())
    return measure(project)


def by_group(frame: pd.DataFrame, features: list[str], metrics: dict[str, Any]) -> pd.DataFrame:
    keys = frame[features].fillna("Unknown")
    return MetricFrame(
        metrics=metrics, y_true=frame["progression"], y_pred=frame["predicted"], sensitive_features=keys
    ).by_group


def groups_of(table: dict[str, Any]) -> dict[tuple[str, ...], dict[str, Any]]:
    return {tuple(g["key"][f] for f in table["features"]): g for g in table["groups"]}


def test_every_regression_metric_equals_fairlearn(reference: dict[str, Any]) -> None:
    frame = diabetes_frame()
    assert reference["task"] == "regression" and reference["rows"] == len(frame) == 442
    for table in reference["tables"]:
        expected = by_group(frame, table["features"], FAIRLEARN)
        measured = groups_of(table)
        assert len(measured) == len(expected)
        for key, row in expected.iterrows():
            group = measured[key if isinstance(key, tuple) else (key,)]
            for metric in FAIRLEARN:
                assert group[metric] == pytest.approx(row[metric], rel=1e-9, abs=1e-9), (table["feature"], key, metric)
    overall = reference["overall"]
    assert overall["r2"] == pytest.approx(r2_score(frame["progression"], frame["predicted"]), rel=1e-9)
    assert overall["mae"] == pytest.approx(mean_absolute_error(frame["progression"], frame["predicted"]), rel=1e-9)


def test_threshold_gives_selection_rates_and_ll144_scoring_rates(reference: dict[str, Any]) -> None:
    """`favourable_outcome` turns predictions into approvals (fairlearn's selection_rate on the thresholded
    prediction); the prediction is the LL144 score: share above the sample median."""
    from govkit.controls.ll144 import summarise

    frame = diabetes_frame()
    approved = frame["predicted"] >= THRESHOLD
    median = float(np.median(frame["predicted"]))
    assert reference["median_score"] == pytest.approx(median, rel=1e-12)
    table = next(t for t in reference["tables"] if t["features"] == ["sex"])
    expected = MetricFrame(
        metrics={"selection_rate": selection_rate},
        y_true=frame["progression"] >= THRESHOLD,
        y_pred=approved,
        sensitive_features=frame["sex"],
    ).by_group
    for key, group in groups_of(table).items():
        rows = (frame["sex"] == key[0]).to_numpy()
        assert group["selection_rate"] == pytest.approx(expected.loc[key[0], "selection_rate"], abs=1e-12)
        assert group["scoring_rate"] == pytest.approx(float((frame["predicted"][rows] > median).mean()), abs=1e-12)
    evaluation = {
        "model": {"name": "m", "version": "1"},
        "created_at": "2026-01-01T00:00:00Z",
        "measurements": {"fairness": reference},
    }
    ll144 = summarise(evaluation, "0" * 64, sex="sex", race="age_band", rate="scoring")
    sex = ll144.sections[0]
    top = max(c.rate for c in sex.categories if c.rate is not None)
    assert [c.impact_ratio for c in sex.categories] == [pytest.approx(c.rate / top) for c in sex.categories]


def test_between_group_summary_and_welch_test(reference: dict[str, Any], project: Project) -> None:
    frame = diabetes_frame()
    table = next(t for t in reference["tables"] if t["features"] == ["sex"])
    expected = by_group(frame, ["sex"], FAIRLEARN)
    summary = table["regression_summary"]
    for metric in FAIRLEARN:
        spread = float(expected[metric].max() - expected[metric].min())
        assert summary[f"{metric}_difference"]["value"] == pytest.approx(spread, rel=1e-9)
    assert summary["mae_ratio"]["value"] == pytest.approx(expected["mae"].min() / expected["mae"].max(), rel=1e-9)
    for metric in ("mean_prediction", "mae", "rmse"):
        low, high = summary[f"{metric}_difference"]["ci"]
        assert low < summary[f"{metric}_difference"]["value"] < high

    regression_project(
        project,
        frame,
        [{**RULES[0], "params": {"metric": "mean_prediction", "max_difference": 0.0, "sensitive_features": ["sex"]}}],
    )
    _, evaluation = project.check_json("--no-waivers")
    (finding,) = [f for f in evaluation["findings"] if f["subject"] == "sex"]
    one, two = (frame.loc[frame["sex"] == s, "predicted"] for s in ("one", "two"))
    p_value = ttest_ind(one, two, equal_var=False).pvalue
    assert f"welch p={p_value:.3g}" in finding["message"]


def test_parametric_bootstrap_matches_a_row_bootstrap() -> None:
    """The interval from sufficient statistics is as wide as resampling rows would make it (within 15%)."""
    from govkit.checks.fairness.engines.interface import MOMENTS
    from govkit.checks.fairness.engines.pandas_engine import grouped_sums, regression_quantities
    from govkit.checks.fairness.task_json import regression_summary

    rng = np.random.default_rng(3)
    n = 20_000
    group = rng.integers(0, 4, n)
    y = rng.normal(100, 20, n)
    p = y + rng.normal(5 * group, 10 + 3 * group, n)
    counts, sums = grouped_sums(group, 4, regression_quantities(y, p))
    assert sums.shape == (4, len(MOMENTS))
    ours = regression_summary(counts, sums, ["a", "b", "c", "d"], 30)["mae_difference"]["ci"]
    draws = []
    for _ in range(300):
        take = rng.integers(0, n, n)
        g, e = group[take], np.abs(p[take] - y[take])
        mae = np.bincount(g, weights=e, minlength=4) / np.bincount(g, minlength=4)
        draws.append(mae.max() - mae.min())
    low, high = np.percentile(draws, [2.5, 97.5])
    assert (ours[1] - ours[0]) == pytest.approx(high - low, rel=0.15)


def test_bounded_group_loss(project: Project) -> None:
    frame = diabetes_frame()
    worst = max(
        mean_absolute_error(frame.loc[frame["sex"] == s, "progression"], frame.loc[frame["sex"] == s, "predicted"])
        for s in ("one", "two")
    )
    rules = [
        {
            "id": f"R-BGL-{i}",
            "title": "bounded group loss",
            "check": "fairness.bounded_group_loss",
            "severity": "high",
            "params": {"loss": "mae", "max": bound, "sensitive_features": ["sex"]},
        }
        for i, bound in enumerate((worst - 0.01, worst + 0.01))
    ]
    regression_project(project, frame, rules)
    _, evaluation = project.check_json("--no-waivers")
    status = {f["rule_id"]: f["status"] for f in evaluation["findings"] if f["subject"] == "sex"}
    assert status == {"R-BGL-0": "fail", "R-BGL-1": "pass"}


def test_without_threshold_selection_rules_are_errors_not_passes(project: Project) -> None:
    regression_project(project, diabetes_frame(), favourable_outcome=None)
    code, evaluation = project.check_json("--no-waivers")
    statuses = {f["status"] for f in evaluation["findings"] if f["rule_id"] == "R-DPR"}
    assert code == 1 and statuses == {"error"}
    group = evaluation["measurements"]["fairness"]["tables"][0]["groups"][0]
    assert "selection_rate" not in group and "mae" in group and "scoring_rate" in group


def close(a: Any, b: Any, path: str = "") -> None:
    """Equal structures; floats to ENGINE_RTOL, everything else exactly."""
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            close(a[k], b[k], f"{path}/{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            close(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert a == pytest.approx(b, rel=ENGINE_RTOL, abs=1e-9), path
    else:
        assert a == b, path


@pytest.mark.parametrize("engine", ["duckdb", "spark"])
def test_engines_agree_to_the_stated_tolerance(
    project: Project, reference: dict[str, Any], engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOVKIT_SPARK_MASTER", "local[2]")
    regression_project(project, diabetes_frame())
    measured = measure(project, engine)
    assert measured["engine"] == engine
    strip = ("engine", "dialect")
    close({k: v for k, v in measured.items() if k not in strip}, {k: v for k, v in reference.items() if k not in strip})


def test_engine_sums_differ_at_most_in_the_last_bits(project: Project) -> None:
    """Large values (sums near 1e13) over many rows: the engines' different summation orders stay within
    the stated tolerance."""
    rng = np.random.default_rng(8)
    n = 200_000
    frame = pd.DataFrame({"sex": rng.choice(["one", "two"], n), "age_band": rng.choice(["a", "b"], n)})
    frame["progression"] = rng.normal(50_000, 9_000, n)
    frame["predicted"] = frame["progression"] + rng.normal(0, 3_000, n)
    frame["bmi"] = frame["bp"] = 0.0
    regression_project(project, frame)
    pandas, duckdb = measure(project, "pandas"), measure(project, "duckdb")
    close(pandas["tables"], duckdb["tables"])


@pytest.mark.parametrize(
    ("change", "manifest", "message"),
    [
        (
            lambda f: f.assign(progression=np.where(np.arange(len(f)) % 2, "high", "low")),
            {},
            "datasets.evaluation.label: column 'progression' of eval.csv is not numeric",
        ),
        (
            lambda f: f.assign(predicted=np.where(np.arange(len(f)) == 3, np.nan, f["predicted"])),
            {},
            "datasets.evaluation.prediction: 1 values of 'predicted' in eval.csv are missing",
        ),
        (lambda f: f, {"positive_label": 1}, "datasets.evaluation.positive_label: only for task binary"),
        (lambda f: f, {"classes": ["a", "b"]}, "datasets.evaluation.classes: only for task multiclass"),
    ],
)
def test_bad_regression_input_is_exit_2(project: Project, change: Any, manifest: dict[str, Any], message: str) -> None:
    regression_project(project, change(diabetes_frame()), **manifest)
    result = project.check("--no-log")
    assert result.exit_code == 2, result.output
    assert message in result.stderr and "govkit.yaml" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_threshold_on_a_classification_task_is_exit_2(project: Project) -> None:
    project.manifest(lambda m: m["datasets"]["evaluation"].update(favourable_outcome={"operator": ">=", "value": 0.5}))
    result = project.check("--no-log")
    assert result.exit_code == 2
    assert "datasets.evaluation.favourable_outcome: only for task regression" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_regression_measurement_survives_json(reference: dict[str, Any]) -> None:
    """Every number is JSON (no NaN): the evaluation digest is canonical JSON."""
    text = json.dumps(reference, allow_nan=False)
    assert "regression_summary" in text


def test_every_format_and_the_report_show_regression_metrics(project: Project) -> None:
    """The finding names the metric and its test in every output format; the report has the regression tables
    and the error chart, with a hostile group label escaped."""
    from govkit.formats.interface import FORMATS, get_formatter
    from govkit.report.render import ReportInputs, render_html

    frame = diabetes_frame()
    frame["sex"] = frame["sex"].replace({"one": "<b>one</b>"})
    rule = {**RULES[0], "params": {"metric": "mean_error", "max_difference": 0.0, "sensitive_features": ["sex"]}}
    regression_project(project, frame, [rule])
    evaluation = run_check(project.manifest_path, project.root / "policies")
    for name in FORMATS:
        out = get_formatter(name).render(evaluation).replace("\\", "")
        assert "mean_error" in out and "welch p=" in out, name
    html = render_html(ReportInputs(evaluation.to_dict(), evaluation.digest))
    assert "Prediction error by sex (mean, ±1 SD)" in html and "Mean error (bias) difference" in html
    assert "&lt;b&gt;one&lt;/b&gt;" in html and "<b>one</b>" not in html


def test_shap_attributions_of_a_regression_equal_shap(project: Project) -> None:
    """The explainability check explains the predicted value itself: its mean |SHAP| per feature equals
    shap's TreeExplainer run here on the same rows."""
    import shap
    import skops.io as sio
    from sklearn.ensemble import HistGradientBoostingRegressor

    frame = diabetes_frame()
    features = ["bmi", "bp", "s5"]
    model = HistGradientBoostingRegressor(max_iter=30, random_state=0).fit(frame[features], frame["progression"])
    sio.dump(model, project.root / "model.skops")
    rules = [
        {"id": "R-EXP", "title": "explained", "check": "explainability.required", "severity": "high"},
        {
            "id": "R-SHARE",
            "title": "top share",
            "check": "explainability.max_single_feature_share",
            "severity": "high",
            "params": {"max": 0.99},
        },
    ]
    regression_project(project, frame, rules, features=features)
    project.manifest_path.write_text(
        project.manifest_path.read_text().replace("model:\n", "model:\n  artifact: model.skops\n", 1)
    )
    _, evaluation = project.check_json("--no-waivers")
    measured = evaluation["measurements"]["explainability"]
    assert measured["rows_explained"] == len(frame) and "classes" not in measured
    expected = np.abs(shap.TreeExplainer(model).shap_values(frame[features].to_numpy())).mean(axis=0)
    got = {i["feature"]: i["mean_abs_shap"] for i in measured["importance"]}
    for name, value in zip(features, expected, strict=True):
        assert got[name] == pytest.approx(value, rel=1e-9)
    assert {f["rule_id"]: f["status"] for f in evaluation["findings"]} == {"R-EXP": "pass", "R-SHARE": "pass"}


def test_ll144_selection_rates_of_a_regression_need_a_threshold(project: Project) -> None:
    from govkit.controls.ll144 import summarise
    from govkit.errors import GovkitError

    regression_project(project, diabetes_frame(), favourable_outcome=None)
    evaluation = {
        "model": {"name": "m", "version": "1"},
        "created_at": "2026-01-01T00:00:00Z",
        "measurements": {"fairness": measure(project)},
    }
    with pytest.raises(GovkitError, match="use --rate scoring"):
        summarise(evaluation, "0" * 64, sex="sex", race="age_band", rate="selection")
    scoring = summarise(evaluation, "0" * 64, sex="sex", race="age_band", rate="scoring")
    assert all(c.rate is not None for s in scoring.sections for c in s.categories)


def test_monitoring_watches_a_continuous_prediction_and_refuses_confusion_rules(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A regression's predicted value drifts like any numeric column (month 3 on: +40 on every prediction);
    the rules built on a binary confusion table are refused for a regression, not judged on nonsense."""
    frame = diabetes_frame()
    regression_project(project, frame, favourable_outcome=None)
    rng = np.random.default_rng(5)
    (project.root / "prod").mkdir()
    for month in (1, 2, 3, 4):
        part = frame.sample(n=300, replace=True, random_state=month).reset_index(drop=True)
        if month >= 3:
            part["predicted"] += 40
        part.insert(0, "ts", [f"2026-{month:02d}-{d:02d}T12:00:00Z" for d in rng.integers(1, 28, len(part))])
        part.to_parquet(project.root / "prod" / f"{month}.parquet", index=False)

    def with_monitoring(m: dict[str, Any]) -> None:
        m["monitoring"] = {
            "production": "prod/*.parquet",
            "timestamp": "ts",
            "window": "month",
            "reference": {"dataset": "evaluation"},
            "min_rows": 50,
        }

    manifest = yaml.safe_load(project.manifest_path.read_text())
    with_monitoring(manifest)
    project.manifest_path.write_text(yaml.safe_dump(manifest))
    drift = {
        "id": "R-PDRIFT",
        "title": "prediction drift",
        "check": "drift.prediction",
        "severity": "high",
        "params": {"measure": "psi", "max_distance": 0.2},
    }
    project.policy(lambda p: p.update(rules=[drift]))
    monkeypatch.chdir(project.root)
    result = project.run(["monitor", "govkit.yaml", "--policy", "policies", "--format", "json", "--no-log"])
    report = json.loads(result.stdout)
    status = {f["subject"].split()[0]: f["status"] for f in report["findings"]}
    assert status == {"2026-01": "pass", "2026-02": "pass", "2026-03": "fail", "2026-04": "fail"}, result.output
    performance = {
        "id": "R-PERF",
        "title": "accuracy",
        "check": "monitoring.performance",
        "severity": "high",
        "params": {"metric": "accuracy", "max_drop": 0.1},
    }
    project.policy(lambda p: p.update(rules=[drift, performance]))
    refused = project.run(["monitor", "govkit.yaml", "--policy", "policies", "--no-log"])
    assert refused.exit_code == 2 and "model.task is regression" in refused.stderr
