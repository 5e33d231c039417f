"""Explainability with real (tiny) fitted models: the right explainer, protected attributes and
proxies caught, pickles refused, a time budget that ends in a clear error, bad input exit 2."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from conftest import Project
from govkit.checks.explainability.measurement import ExplainabilityMeasurement
from shapes import assert_shape

RULES = [
    {"id": "X-EXPL-001", "title": "explained", "check": "explainability.required", "severity": "high"},
    {
        "id": "X-EXPL-002",
        "title": "protected share",
        "check": "explainability.protected_attribution_share",
        "params": {"max": 0.1, "proxy_threshold": 0.5},
        "severity": "high",
    },
    {
        "id": "X-EXPL-003",
        "title": "stability",
        "check": "explainability.stability",
        "params": {"min_tau": 0.3},
        "severity": "medium",
    },
]


def data(n: int = 1500, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sex = rng.integers(0, 2, n)
    frame = pd.DataFrame(
        {
            "income": rng.normal(50, 10, n),
            "debt": rng.random(n),
            "tenure": rng.integers(0, 30, n),
            "sex": sex,
            "height": 165 + 13 * sex + rng.normal(0, 3, n),
        }
    )
    frame["y"] = ((frame["income"] / 50 - frame["debt"] + 1.5 * frame["sex"] + rng.normal(0, 0.3, n)) > 0.9).astype(int)
    return frame


def setup(
    project: Project,
    model: Any,
    frame: pd.DataFrame,
    features: list[str],
    artifact: str = "model.skops",
    rules: list[dict[str, Any]] | None = None,
) -> None:
    frame = frame.assign(yhat=model.predict(frame[features]), score=model.predict_proba(frame[features])[:, 1].round(6))
    frame.to_csv(project.root / "data" / "eval.csv", index=False)
    path = project.root / artifact
    if artifact.endswith(".skops"):
        sio.dump(model, path)
    else:
        with path.open("wb") as fh:
            pickle.dump(model, fh)

    def mutate(m: dict[str, Any]) -> None:
        m["model"]["artifact"] = artifact
        m["datasets"]["evaluation"].update({"features": features, "label": "y", "prediction": "yhat", "score": "score"})
        m["sensitive_features"] = ["sex"]

    project.manifest(mutate)
    project.policy(lambda p: p.update(rules=rules or RULES))


def finding(data: dict[str, Any], rule: str) -> dict[str, Any]:
    return next(f for f in data["findings"] if f["rule_id"] == rule)


def test_model_trained_on_protected_attribute_fails(project: Project) -> None:
    frame = data()
    features = ["income", "debt", "tenure", "sex"]
    setup(
        project,
        HistGradientBoostingClassifier(max_iter=60, random_state=0).fit(frame[features], frame["y"]),
        frame,
        features,
    )
    code, result = project.check_json()
    assert code == 1
    share = finding(result, "X-EXPL-002")
    assert share["status"] == "fail" and "sex" in share["message"] and share["measured"] > 0.1
    m = result["measurements"]["explainability"]
    assert m["model"]["explainer"] == "tree" and m["sensitive_in_model"] == ["sex"]


def test_model_without_it_passes(project: Project) -> None:
    frame = data()
    features = ["income", "debt", "tenure"]
    setup(
        project,
        HistGradientBoostingClassifier(max_iter=60, random_state=0).fit(frame[features], frame["y"]),
        frame,
        features,
    )
    code, result = project.check_json()
    assert code == 0
    assert finding(result, "X-EXPL-002")["status"] == "pass"
    m = result["measurements"]["explainability"]
    for cohort in m["cohorts"][0]["groups"]:
        assert sum(cohort["shares"].values()) == pytest.approx(1.0)
    assert m["stability"]["kendall_tau"] is not None and finding(result, "X-EXPL-003")["status"] == "pass"


def test_proxy_feature_counts_as_protected(project: Project) -> None:
    frame = data()
    features = ["income", "debt", "height"]  # height stands in for sex
    setup(
        project,
        HistGradientBoostingClassifier(max_iter=60, random_state=0).fit(frame[features], frame["y"]),
        frame,
        features,
    )
    _, result = project.check_json()
    share = finding(result, "X-EXPL-002")
    assert share["status"] == "fail" and "height" in share["message"]
    assert result["measurements"]["explainability"]["associations"][0]["feature"] == "height"
    assert_shape(result["measurements"]["explainability"], ExplainabilityMeasurement)


def test_attributions_equal_shap_tree_explainer(project: Project) -> None:
    import shap

    frame = data()
    features = ["income", "debt", "tenure", "sex"]
    model = HistGradientBoostingClassifier(max_iter=60, random_state=0).fit(frame[features], frame["y"])
    setup(project, model, frame, features)
    _, result = project.check_json()
    expected = np.abs(shap.TreeExplainer(model).shap_values(frame[features].to_numpy(float))).mean(axis=0)
    ours = {i["feature"]: i["mean_abs_shap"] for i in result["measurements"]["explainability"]["importance"]}
    assert [ours[f] for f in features] == pytest.approx(list(expected), rel=1e-9)  # 1,500 rows: all explained


@pytest.mark.parametrize(
    ("model", "kind"),
    [
        (LogisticRegression(max_iter=500), "linear"),
        (KNeighborsClassifier(n_neighbors=15), "permutation"),
    ],
)
def test_explainer_fits_the_model(project: Project, model: Any, kind: str) -> None:
    frame = data(n=400)
    features = ["income", "debt", "tenure"]
    setup(
        project,
        model.fit(frame[features], frame["y"]),
        frame,
        features,
        rules=[{**RULES[0], "params": {"sample_rows": 100}}],
    )
    _, result = project.check_json()
    assert result["measurements"]["explainability"]["model"]["explainer"] == kind
    assert finding(result, "X-EXPL-001")["status"] == "pass"


def test_pipeline_with_one_hot_maps_back_to_features(project: Project) -> None:
    frame = data().assign(region=lambda f: np.where(f["income"] > 50, "north", "south"))
    features = ["income", "debt", "region"]
    pre = ColumnTransformer([("num", StandardScaler(), ["income", "debt"]), ("cat", OneHotEncoder(), ["region"])])
    model = Pipeline([("pre", pre), ("clf", LogisticRegression())]).fit(frame[features], frame["y"])
    setup(project, model, frame, features)
    _, result = project.check_json()
    m = result["measurements"]["explainability"]
    assert {i["feature"] for i in m["importance"]} == set(features)
    assert m["model"]["explainer"] == "linear"


def test_time_budget_ends_in_error_not_a_hang(project: Project) -> None:
    frame = data(n=600)
    features = ["income", "debt", "tenure"]
    setup(
        project,
        KNeighborsClassifier().fit(frame[features], frame["y"]),
        frame,
        features,
        rules=[{**RULES[0], "params": {"sample_rows": 600, "time_budget_s": 0.01}}],
    )
    code, result = project.check_json()
    assert code == 1
    f = finding(result, "X-EXPL-001")
    assert f["status"] == "error" and "time budget" in f["message"] and f["blocking"]


class Boom:
    """Unpickling this writes a file: what a malicious model artifact would do."""

    def __init__(self, target: str) -> None:
        self.target = target

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.write_text, (Path(self.target), "pwned"))


def test_untrusted_pickle_is_refused_and_never_executed(project: Project) -> None:
    frame = data(n=300)
    features = ["income", "debt", "tenure"]
    setup(project, LogisticRegression().fit(frame[features], frame["y"]), frame, features, artifact="model.pkl")
    marker = project.root / "pwned.txt"
    (project.root / "model.pkl").write_bytes(pickle.dumps(Boom(str(marker))))
    result = project.check("--no-log")
    assert result.exit_code == 2
    assert "model.artifact" in result.stderr and "--trust-model" in result.stderr
    assert not marker.exists()


def test_trusted_pickle_loads_and_is_recorded(project: Project) -> None:
    frame = data(n=300)
    features = ["income", "debt", "tenure"]
    setup(project, LogisticRegression().fit(frame[features], frame["y"]), frame, features, artifact="model.pkl")
    _, result = project.check_json("--trust-model")
    m = result["measurements"]["explainability"]["model"]
    assert m["trusted_by_flag"] is True and "trusted by --trust-model" in m["loaded_with"]
    assert result["options"]["trust_model"] is True


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("features", "features do not match the model"),
        ("format", "not a loadable ONNX model"),
        ("damaged", "not a readable skops file"),
    ],
)
def test_bad_model_input_is_exit_2(project: Project, change: str, message: str) -> None:
    frame = data(n=300)
    features = ["income", "debt", "tenure"]
    setup(project, LogisticRegression().fit(frame[features], frame["y"]), frame, features)
    if change == "features":
        project.manifest(
            lambda m: (
                m["model"].update(artifact="model.skops"),
                m["datasets"]["evaluation"].update(
                    features=["income", "debt", "height"], label="y", prediction="yhat", score="score"
                ),
                m.update(sensitive_features=["sex"]),
            )
        )
    if change == "format":
        (project.root / "model.onnx").write_bytes(b"\x08\x01")
        project.manifest(
            lambda m: (
                m["model"].update(artifact="model.onnx"),
                m["datasets"]["evaluation"].update(features=features, label="y", prediction="yhat", score="score"),
                m.update(sensitive_features=["sex"]),
            )
        )
    if change == "damaged":
        (project.root / "model.skops").write_bytes(b"PK\x03\x04 not really a zip")
    result = project.check("--no-log")
    assert result.exit_code == 2, result.output
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_soft_target_explains_fewer_rows_and_says_so(project: Project) -> None:
    frame = data(n=800)
    features = ["income", "debt", "tenure"]
    setup(
        project,
        KNeighborsClassifier().fit(frame[features], frame["y"]),
        frame,
        features,
        rules=[{**RULES[0], "params": {"sample_rows": 800, "target_s": 0.001, "time_budget_s": 60}}],
    )
    code, result = project.check_json()
    m = result["measurements"]["explainability"]
    assert code == 0 and m["complete"] is True
    assert m["rows_explained"] < m["rows_requested"] == 800
    assert "reduced to fit" in finding(result, "X-EXPL-001")["message"]


def test_lightgbm_native_model_file(project: Project) -> None:
    import lightgbm

    frame = data()
    features = ["income", "debt", "tenure", "sex"]
    model = lightgbm.LGBMClassifier(n_estimators=60, verbose=-1, random_state=0).fit(frame[features], frame["y"])
    setup(project, model, frame, features)  # predictions from the fitted model
    model.booster_.save_model(str(project.root / "model.lgb"))
    project.manifest(
        lambda m: (
            m["model"].update(artifact="model.lgb"),
            m["datasets"]["evaluation"].update(features=features, label="y", prediction="yhat", score="score"),
            m.update(sensitive_features=["sex"]),
        )
    )
    code, result = project.check_json()
    m = result["measurements"]["explainability"]
    assert m["model"] == {"class": "Booster", "loaded_with": "lightgbm", "trusted_by_flag": False, "explainer": "tree"}
    assert finding(result, "X-EXPL-002")["status"] == "fail" and code == 1  # it leans on sex


def test_onnx_model(project: Project) -> None:
    from skl2onnx import to_onnx

    frame = data(n=600)
    features = ["income", "debt", "tenure", "sex"]
    model = LogisticRegression(max_iter=500).fit(frame[features], frame["y"])
    setup(project, model, frame, features, rules=[{**RULES[0], "params": {"sample_rows": 200}}, RULES[1]])
    onnx = to_onnx(model, frame[features].to_numpy(np.float32)[:1], options={id(model): {"zipmap": False}})
    (project.root / "model.onnx").write_bytes(onnx.SerializeToString())
    project.manifest(
        lambda m: (
            m["model"].update(artifact="model.onnx"),
            m["datasets"]["evaluation"].update(features=features, label="y", prediction="yhat", score="score"),
            m.update(sensitive_features=["sex"]),
        )
    )
    code, result = project.check_json()
    m = result["measurements"]["explainability"]
    assert code == 1
    assert m["model"]["loaded_with"] == "onnx (onnxruntime)" and m["model"]["explainer"] == "permutation"
    assert finding(result, "X-EXPL-002")["status"] == "fail" and "sex" in finding(result, "X-EXPL-002")["message"]


def test_privacy_and_explainability_hold_one_score_per_proxy_pair(project: Project) -> None:
    """Both checks ask how strongly a feature stands in for a sensitive attribute: one evaluation
    must not hold two different answers for the same pair (the SHAP sample is small and stratified)."""
    frame = data()
    features = ["income", "debt", "height"]
    rules = [
        {**RULES[0], "params": {"sample_rows": 200}},
        RULES[1],
        {
            "id": "X-PRIV-001",
            "title": "proxies",
            "check": "privacy.proxy_features",
            "params": {"max_association": 0.3},
            "severity": "medium",
        },
    ]
    model = HistGradientBoostingClassifier(max_iter=60, random_state=0).fit(frame[features], frame["y"])
    setup(project, model, frame, features, rules=rules)
    _, result = project.check_json()
    measured = result["measurements"]
    privacy = {(s["feature"], s["sensitive"]): s["score"] for s in measured["privacy"]["proxies"]}
    explained = {(s["feature"], s["sensitive"]): s["score"] for s in measured["explainability"]["associations"]}
    assert privacy == explained
    # the one score is the correlation ratio over every evaluation row, computed here directly
    groups = [frame.loc[frame["sex"] == g, "height"] for g in (0, 1)]
    between = sum(len(g) * (g.mean() - frame["height"].mean()) ** 2 for g in groups)
    eta = np.sqrt(between / ((frame["height"] - frame["height"].mean()) ** 2).sum())
    assert privacy[("height", "sex")] == pytest.approx(eta, abs=1e-6)
