"""Choose the SHAP explainer that fits the model and compute attributions within a time budget.

Tree ensembles get TreeExplainer (path-dependent: exact, no background, seconds); linear
models LinearExplainer; anything else a permutation explainer with a bounded number of
evaluations. shap's generic Explainer(model.predict) is never used for trees: it takes
minutes where TreeExplainer takes seconds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

TREE_MODELS = (
    "HistGradientBoosting",
    "RandomForest",
    "ExtraTrees",
    "GradientBoosting",
    "DecisionTree",
    "XGB",
    "LGBM",
    "Booster",
    "CatBoost",
    "IsolationForest",
)
LINEAR_MODELS = (
    "LogisticRegression",
    "LinearRegression",
    "Ridge",
    "Lasso",
    "ElasticNet",
    "SGDClassifier",
    "SGDRegressor",
    "LinearSVC",
    "LinearSVR",
    "RidgeClassifier",
)
BACKGROUND = 200
CHUNK = {"tree": 500, "linear": 2000, "permutation": 25}
PROBE = {"tree": 200, "linear": 2000, "permutation": 10}


@dataclass
class Attributions:
    values: np.ndarray  # (rows, original features); with every class: (rows, original features, classes)
    explainer: str
    rows_done: int
    rows_planned: int
    complete: bool
    seconds: float


def split_pipeline(model: Any) -> tuple[Any | None, Any]:
    """(preprocessing, final estimator) for an sklearn Pipeline; (None, model) otherwise."""
    steps = getattr(model, "steps", None)
    if steps and len(steps) > 1:
        return model[:-1], steps[-1][1]
    return None, (steps[-1][1] if steps else model)


def explainer_kind(estimator: Any) -> str:
    name = type(estimator).__name__
    if any(name.startswith(t) for t in TREE_MODELS):
        return "tree"
    if name in LINEAR_MODELS:
        return "linear"
    return "permutation"


def _positive_class(values: Any) -> np.ndarray:
    if isinstance(values, list):  # older shap: one array per class
        values = values[-1]
    array = np.asarray(values)
    positive: np.ndarray = array[..., -1] if array.ndim == 3 else array
    return positive


def _every_class(values: Any) -> np.ndarray:
    """SHAP values as (rows, columns, classes), however this shap version shapes a multi-output model's."""
    if isinstance(values, list):  # older shap: one array per class
        return np.stack([np.asarray(v) for v in values], axis=-1)
    array = np.asarray(values)
    return array if array.ndim == 3 else array[..., None]


def _group_columns(names: list[str], features: list[str]) -> np.ndarray:
    """For each transformed column, the original feature it came from (one-hot 'cat__sex_female' -> 'sex')."""
    index = []
    for name in names:
        bare = name.split("__", 1)[-1]
        match = next((i for i, f in enumerate(features) if bare == f), None)
        if match is None:
            candidates = [(len(f), i) for i, f in enumerate(features) if bare.startswith(f"{f}_")]
            match = max(candidates)[1] if candidates else None
        if match is None:
            raise ValueError(f"cannot map model input {name!r} back to a manifest feature")
        index.append(match)
    return np.asarray(index)


def explain(
    model: Any, X: pd.DataFrame, *, budget_s: float, target_s: float | None = None, every_class: bool = False
) -> Attributions:
    """SHAP values of the positive class (a regression: of the prediction; `every_class`: of each class of a
    multiclass model, on a last axis), per original feature, for as many rows of X as fit.

    A first chunk measures the explainer's speed; when explaining every row would take longer
    than `target_s`, only the first rows that fit are explained (pass rows in random order). If
    even that overruns the hard `budget_s`, the result is marked incomplete.
    """
    import pandas as pd  # here, not at the top: loading a policy imports every check, not their libraries
    import shap

    features = list(X.columns)
    pre, estimator = split_pipeline(model)
    transformed: Any = pre.transform(X) if pre is not None else X  # a sparse matrix for some pipelines
    names = list(pre.get_feature_names_out(features)) if pre is not None else features
    data = np.asarray(transformed.toarray() if hasattr(transformed, "toarray") else transformed, dtype=float)
    kind = explainer_kind(estimator)
    rng = np.random.default_rng(0)
    background = data[rng.choice(len(data), size=min(BACKGROUND, len(data)), replace=False)]
    pick = _every_class if every_class else _positive_class
    if kind == "tree":
        explainer = shap.TreeExplainer(estimator, feature_perturbation="tree_path_dependent")

        def run(chunk: np.ndarray) -> np.ndarray:
            return pick(explainer.shap_values(chunk, check_additivity=False))
    elif kind == "linear":
        explainer = shap.LinearExplainer(estimator, shap.maskers.Independent(background))

        def run(chunk: np.ndarray) -> np.ndarray:
            return pick(explainer.shap_values(chunk))
    else:
        predict = getattr(estimator, "predict_proba", None) or estimator.predict
        columns = getattr(estimator, "feature_names_in_", None)

        def f(a: np.ndarray) -> np.ndarray:
            out = np.asarray(predict(pd.DataFrame(a, columns=columns) if columns is not None else a))
            positive: np.ndarray = out[:, -1] if out.ndim == 2 and not every_class else out
            return positive

        explainer = shap.PermutationExplainer(f, shap.maskers.Independent(background, max_samples=BACKGROUND))
        evals = 2 * data.shape[1] + 1

        def run(chunk: np.ndarray) -> np.ndarray:
            return pick(explainer(chunk, max_evals=evals, silent=True).values)

    start = time.perf_counter()
    parts = [run(data[: PROBE[kind]])]
    done = len(parts[0])
    planned = len(data)
    if target_s is not None and done < len(data):
        rate = done / max(time.perf_counter() - start, 1e-6)
        planned = min(len(data), max(done, int(rate * target_s)))
    complete = time.perf_counter() - start <= budget_s or done == len(data)
    for lo in range(done, planned if complete else done, CHUNK[kind]):
        if time.perf_counter() - start > budget_s:
            complete = False
            break
        parts.append(run(data[lo : min(lo + CHUNK[kind], planned)]))
        done += len(parts[-1])
    values = np.concatenate(parts) if parts else np.zeros((0, len(names)))
    if names != features:
        groups = _group_columns(names, features)
        folded = np.zeros((len(values), len(features), *values.shape[2:]))
        for column, feature in enumerate(groups):
            folded[:, feature] += values[:, column]  # SHAP is additive: a feature's parts sum to it
        values = folded
    return Attributions(
        values=values,
        explainer=kind,
        rows_done=done,
        rows_planned=planned,
        complete=complete,
        seconds=time.perf_counter() - start,
    )


def stratified_sample(frame: pd.DataFrame, strata: list[str], size: int, seed: int) -> pd.DataFrame:
    """Up to `size` rows, proportional per sensitive group, every group represented (reproducible)."""
    import pandas as pd

    if len(frame) <= size:
        return frame
    keys = (
        frame[strata].astype("string").fillna("Unknown").agg("|".join, axis=1)
        if strata
        else pd.Series("all", index=frame.index)
    )
    rng = np.random.default_rng(seed)
    picked = []
    for _, idx in keys.groupby(keys).groups.items():
        want = max(1, round(size * len(idx) / len(frame)))
        picked.append(rng.choice(np.asarray(idx), size=min(want, len(idx)), replace=False))
    chosen = np.concatenate(picked)
    if len(chosen) > size:
        chosen = rng.choice(chosen, size=size, replace=False)
    return frame.loc[np.sort(chosen)]


def importance(values: np.ndarray) -> np.ndarray:
    """Mean |SHAP| per feature; with a class axis, of the sum over classes (each class's push counts)."""
    magnitude = np.abs(values)
    if magnitude.ndim == 3:
        magnitude = magnitude.sum(axis=2)
    return magnitude.mean(axis=0) if len(values) else np.zeros(values.shape[1])
