"""Cohort fairness: govkit's numbers against fairlearn's, and the check as a policy gate sees it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    demographic_parity_ratio,
    equal_opportunity_difference,
    equal_opportunity_ratio,
    equalized_odds_difference,
    equalized_odds_ratio,
    false_negative_rate,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from sklearn.metrics import accuracy_score, precision_score

from conftest import Project
from govkit.checks.fairness.counts import UNKNOWN, count_table, encode
from govkit.checks.fairness.metrics import bootstrap_counts, gap_significance, rates, summaries

FAIRLEARN_METRICS = {
    "selection_rate": selection_rate,
    "tpr": true_positive_rate,
    "fpr": false_positive_rate,
    "fnr": false_negative_rate,
    "precision": lambda y, p: precision_score(y, p, zero_division=0),
    "accuracy": accuracy_score,
}
SUMMARY_FUNCTIONS = {
    "demographic_parity_difference": demographic_parity_difference,
    "demographic_parity_ratio": demographic_parity_ratio,
    "equalized_odds_difference": equalized_odds_difference,
    "equalized_odds_ratio": equalized_odds_ratio,
    "equal_opportunity_difference": equal_opportunity_difference,
    "equal_opportunity_ratio": equal_opportunity_ratio,
}


def random_data(seed: int, n: int = 4000) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Skewed levels make tiny intersections; a forbidden combination makes empty ones."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "a": rng.choice(["x", "y"], n, p=[0.7, 0.3]),
            "b": rng.choice(["p", "q", "r", "s"], n, p=[0.5, 0.3, 0.17, 0.03]),
            "c": rng.choice(["u", "v", "w", "t", "z"], n, p=[0.4, 0.3, 0.2, 0.09, 0.01]),
        }
    )
    frame.loc[(frame.a == "y") & (frame.b == "s"), "b"] = "p"  # (y, s, *) never occurs
    y = rng.integers(0, 2, n)
    yhat = (rng.random(n) < 0.35 + 0.25 * (frame.a == "x") + 0.1 * (frame.c == "u")).astype(int)
    return frame, y, yhat


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
@pytest.mark.parametrize("features", [["a"], ["b"], ["a", "b"], ["a", "b", "c"]])
def test_per_group_rates_match_fairlearn(seed: int, features: list[str]) -> None:
    frame, y, yhat = random_data(seed)
    table = count_table([encode(f, frame[f]) for f in features], y, yhat)
    ours = rates(table.counts)
    mf = MetricFrame(metrics=FAIRLEARN_METRICS, y_true=y, y_pred=yhat, sensitive_features=frame[features])
    by_group = mf.by_group
    if len(features) == 1:
        by_group.index = pd.MultiIndex.from_arrays([by_group.index])
    observed = {tuple(g) for g in table.groups}
    empty = [idx for idx in by_group.index if tuple(np.atleast_1d(idx)) not in observed]
    # fairlearn lists empty intersections as NaN rows; govkit does not invent groups with no rows
    assert all(by_group.loc[idx].isna().all() for idx in empty)
    if len(features) == 3:
        assert empty, "the data should contain empty intersections"
        assert table.counts.sum(axis=1).min() < 5, "and tiny ones"
    for i, group in enumerate(table.groups):
        expected = by_group.loc[group]
        for name in FAIRLEARN_METRICS:
            value = ours[name][i]
            if np.isnan(value):  # undefined here; fairlearn reports 0.0 for a zero denominator
                assert expected[name] == 0.0
            else:
                assert abs(value - expected[name]) <= 1e-9, (group, name)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("method", ["between_groups", "to_overall"])
@pytest.mark.parametrize("features", [["a"], ["c"], ["a", "b"], ["a", "b", "c"]])
def test_summary_metrics_match_fairlearn(seed: int, method: str, features: list[str]) -> None:
    frame, y, yhat = random_data(seed, n=6000)
    table = count_table([encode(f, frame[f]) for f in features], y, yhat)
    # compare where every rate is defined (fairlearn would count an undefined rate as 0)
    defined = (table.counts[:, [2, 3]].sum(axis=1) > 0) & (table.counts[:, [0, 1]].sum(axis=1) > 0)
    rows = np.isin(table.codes, np.flatnonzero(defined))
    sub = count_table([encode(f, frame.loc[rows, f]) for f in features], y[rows], yhat[rows])
    ours = summaries(sub.counts, method)  # type: ignore[arg-type]
    for name, fn in SUMMARY_FUNCTIONS.items():
        expected = fn(y[rows], yhat[rows], sensitive_features=frame.loc[rows, features], method=method)
        assert abs(float(ours[name]) - expected) <= 1e-9, name


def test_missing_sensitive_values_become_unknown() -> None:
    values = pd.Series(["f", None, "m", np.nan, "f"])
    enc = encode("sex", values)
    assert UNKNOWN in enc.labels and enc.unknown_count == 2
    table = count_table([enc], np.array([1, 0, 1, 0, 1]), np.array([1, 1, 0, 0, 1]))
    assert dict(zip([g[0] for g in table.groups], table.counts.sum(axis=1), strict=True)) == {
        "Unknown": 2,
        "f": 2,
        "m": 1,
    }
    assert table.unknown_count == 2


def test_bootstrap_counts_resample_like_rows() -> None:
    frame, y, yhat = random_data(0, n=20000)
    table = count_table([encode("a", frame["a"])], y, yhat)
    boot = bootstrap_counts(table.counts, 2000, seed=1)
    assert boot.shape == (2000, *table.counts.shape)
    assert (boot.sum(axis=(1, 2)) == len(y)).all()
    dpd = summaries(boot, "between_groups")["demographic_parity_difference"]
    point = float(summaries(table.counts, "between_groups")["demographic_parity_difference"])
    # a row bootstrap of the same data gives the same sampling spread
    rng = np.random.default_rng(2)
    row_stats = []
    for _ in range(300):
        idx = rng.integers(0, len(y), len(y))
        t = count_table([encode("a", frame["a"].iloc[idx])], y[idx], yhat[idx])
        row_stats.append(float(summaries(t.counts, "between_groups")["demographic_parity_difference"]))
    assert abs(np.std(dpd) - np.std(row_stats)) < 0.25 * np.std(row_stats)
    assert np.percentile(dpd, 2.5) < point < np.percentile(dpd, 97.5)


def test_significance_tests() -> None:
    z = gap_significance(300, 1000, 200, 1000)
    assert z is not None and z.test == "z-test" and z.p_value < 1e-6
    assert gap_significance(50, 100, 49, 100).p_value > 0.5  # type: ignore[union-attr]
    small = gap_significance(3, 4, 0, 5)
    assert small is not None and small.test == "fisher"
    from scipy.stats import fisher_exact

    assert abs(small.p_value - fisher_exact([[3, 1], [0, 5]])[1]) < 1e-12


# ---- the check in the gate --------------------------------------------------------------------


def fair_project(project: Project, frame: pd.DataFrame, rules: list[dict[str, Any]], **manifest: Any) -> None:
    frame.to_csv(project.root / "data" / "eval.csv", index=False)

    def mutate(m: dict[str, Any]) -> None:
        m["datasets"]["evaluation"].update({"features": ["f1"], "label": "y", "prediction": "yhat", "score": "score"})
        m["sensitive_features"] = ["sex", "age"]
        m.update(manifest)

    project.manifest(mutate)
    project.policy(lambda p: p.update(rules=rules))


def biased_frame(n: int = 3000, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sex = rng.choice(["female", "male"], n)
    age = rng.choice(["young", "old"], n, p=[0.3, 0.7])
    score = np.clip(rng.random(n) * 0.6 + 0.3 * (sex == "male"), 0, 1)
    frame = pd.DataFrame(
        {
            "y": rng.integers(0, 2, n),
            "yhat": (score > 0.5).astype(int),
            "score": score.round(6),
            "f1": rng.random(n),
            "sex": sex,
            "age": age,
        }
    )
    frame.loc[:9, "sex"] = None  # ten applicants did not state their sex
    return frame


def rule(check: str, **params: Any) -> dict[str, Any]:
    return {
        "id": "F-FAIR-" + str(abs(hash((check, str(params)))) % 1000).zfill(3),
        "title": check,
        "check": check,
        "params": params,
        "severity": "high",
    }


def test_check_reports_tables_and_names_worst_pair(project: Project) -> None:
    fair_project(project, biased_frame(), [rule("fairness.demographic_parity_ratio", min=0.8)])
    code, data = project.check_json()
    assert code == 1
    tables = {t["feature"]: t for t in data["measurements"]["fairness"]["tables"]}
    assert set(tables) == {"sex", "age", "sex & age"}
    sex = tables["sex"]
    assert sex["unknown_count"] == 10
    groups = {g["group"]: g for g in sex["groups"]}
    assert groups["Unknown"]["n"] == 10 and groups["Unknown"]["small"] is True
    for field in (
        "n",
        "selection_rate",
        "tpr",
        "fpr",
        "fnr",
        "precision",
        "accuracy",
        "impact_ratio",
        "auc",
        "scoring_rate",
        "selection_rate_ci",
    ):
        assert field in groups["male"]
    assert groups["male"]["impact_ratio"] == 1.0
    lo, hi = groups["female"]["selection_rate_ci"]
    assert lo < groups["female"]["selection_rate"] < hi
    finding = next(f for f in data["findings"] if f["subject"] == "sex")
    assert finding["status"] == "fail"
    assert "male" in finding["message"] and "female" in finding["message"]
    assert "Unknown" not in finding["message"].split(":")[1]  # too small: left out of the judgement
    assert finding["measured"] == pytest.approx(groups["female"]["selection_rate"] / groups["male"]["selection_rate"])
    assert "left out" in finding["message"]


def test_intersectional_switch_and_feature_selection(project: Project) -> None:
    fair_project(
        project,
        biased_frame(),
        [rule("fairness.demographic_parity_difference", max=1.0, sensitive_features=["age"], intersectional=False)],
    )
    _, data = project.check_json()
    subjects = [f["subject"] for f in data["findings"]]
    assert subjects == ["age"]


def noise(seed: int, n: int, ages: list[str]) -> pd.DataFrame:
    """Labels and decisions drawn at random, independent of every group: any gap is chance."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "y": rng.integers(0, 2, n),
            "yhat": rng.integers(0, 2, n),
            "score": rng.random(n).round(4),
            "f1": rng.random(n),
            "sex": rng.choice(["female", "male"], n),
            "age": rng.choice(ages, n),
        }
    )


def test_require_significance_turns_noise_into_warning(project: Project) -> None:
    frame = noise(5, 200, ["young", "old"])
    fair_project(
        project,
        frame,
        [rule("fairness.demographic_parity_difference", max=0.0, require_significance=True, intersectional=False)],
    )
    _, data = project.check_json()
    statuses = {f["subject"]: f["status"] for f in data["findings"]}
    assert set(statuses.values()) == {"warn"}, data["findings"]


def test_group_metric_rule(project: Project) -> None:
    fair_project(
        project,
        biased_frame(),
        [
            rule("fairness.group_metric", metric="accuracy", min_ratio=0.5, intersectional=False),
            rule("fairness.group_metric", metric="auc", max_difference=0.0),
        ],
    )
    _, data = project.check_json()
    accuracy = [f for f in data["findings"] if f["threshold"]["metric"] == "accuracy"]
    auc = [f for f in data["findings"] if f["threshold"]["metric"] == "auc"]
    assert {f["status"] for f in accuracy} == {"pass"}
    assert {f["status"] for f in auc} == {"fail"}


@pytest.mark.parametrize(
    ("mutate_frame", "manifest", "message"),
    [
        (lambda f: f.assign(y=np.arange(len(f)) % 3), {}, "column 'y' of eval.csv is not binary"),
        (lambda f: f.assign(yhat=np.where(np.arange(len(f)) == 0, np.nan, f["yhat"])), {}, "1 missing values"),
        (lambda f: f.assign(yhat=np.arange(len(f)) % 4), {}, "column 'yhat' of eval.csv is not binary"),
        (lambda f: f.assign(score=f["score"] * 3), {}, "outside [0, 1]"),
        (lambda f: f.drop(columns=["age"]), {}, 'sensitive_features[1]: column "age" not in eval.csv'),
        (lambda f: f.drop(columns=["y"]), {}, 'datasets.evaluation.label: column "y" not in eval.csv'),
    ],
)
def test_bad_fairness_input_is_exit_2(
    project: Project, mutate_frame: Any, manifest: dict[str, Any], message: str
) -> None:
    fair_project(
        project, mutate_frame(biased_frame()), [rule("fairness.demographic_parity_ratio", min=0.8)], **manifest
    )
    result = project.check("--no-log")
    assert result.exit_code == 2, result.output
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_rule_naming_an_undeclared_feature_is_exit_2(project: Project) -> None:
    fair_project(
        project, biased_frame(), [rule("fairness.demographic_parity_ratio", min=0.8, sensitive_features=["race"])]
    )
    result = project.check("--no-log")
    assert result.exit_code == 2 and "['race']" in result.stderr


def test_significance_is_adjusted_for_the_pairs_the_extreme_one_was_chosen_from(project: Project) -> None:
    """Decisions independent of a 20-group attribute: the extreme pair's own z-test says "significant",
    but it was picked from 190 pairs, so after Bonferroni chance alone must not fail the rule; a real gap still does."""
    from statsmodels.stats.proportion import proportions_ztest

    frame = noise(11, 4000, [f"g{i:02d}" for i in range(20)])
    rates = frame.groupby("age")["yhat"].agg(["sum", "count"])
    hi, lo = rates.loc[(rates["sum"] / rates["count"]).idxmax()], rates.loc[(rates["sum"] / rates["count"]).idxmin()]
    _, raw = proportions_ztest([hi["sum"], lo["sum"]], [hi["count"], lo["count"]])
    assert raw < 0.05 < raw * 190  # unadjusted this noise would fail the rule
    params = {"max": 0.0, "require_significance": True, "sensitive_features": ["age"], "intersectional": False}
    fair_project(project, frame, [rule("fairness.demographic_parity_difference", **params)])
    _, data = project.check_json()
    (finding,) = data["findings"]
    assert finding["status"] == "warn", finding
    assert "Bonferroni over 190 comparisons" in finding["message"]

    frame.loc[frame["age"] == "g07", "yhat"] = 1  # one group approved every time: a real gap
    fair_project(project, frame, [rule("fairness.demographic_parity_difference", **params)])
    _, data = project.check_json()
    assert [f["status"] for f in data["findings"]] == ["fail"], data["findings"]
