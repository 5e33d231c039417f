"""Which features could stand in for a sensitive attribute: measured once, for every check.

`privacy.proxy_features` judges these scores and `explainability.protected_attribution_share`
counts the features above its threshold; both read this one computation, so one evaluation
never holds two strengths for the same (feature, sensitive attribute) pair. The rows are the
evaluation dataset's (a fixed sample above PROXY_ROWS), never the SHAP sample: that one is small
and stratified by the sensitive attributes, which distorts their association with anything.
"""

# no `from __future__ import annotations`: Python 3.11 would then lose NotRequired in __optional_keys__
from typing import TYPE_CHECKING, TypedDict

from govkit.datasets import dataset_dialect, load_frame

if TYPE_CHECKING:
    import pandas as pd

    from govkit.manifest import LoadedManifest

PROXY_ROWS = 200_000


class ProxyScore(TypedDict):
    feature: str
    sensitive: str
    score: float
    method: str  # "cramers_v" or "correlation_ratio"


def proxy_scores(manifest: "LoadedManifest", frame: "pd.DataFrame | None" = None) -> list[ProxyScore]:
    """Association of each non-sensitive feature with each sensitive attribute, strongest first.

    `frame`: the evaluation dataset already read by the caller (all rows, at least the features and
    sensitive attributes), to save a second read; the result is the same either way.
    """
    from govkit.checks.association import association

    spec = manifest.spec
    ds = spec.datasets.evaluation
    if ds is None or not spec.sensitive_features:
        return []
    features = [f for f in ds.features if f not in spec.sensitive_features]
    if frame is None:
        path = manifest.resolve(ds.path)
        frame = load_frame(path, [*features, *spec.sensitive_features], dataset_dialect(path, ds.format))
    if len(frame) > PROXY_ROWS:
        frame = frame.sample(PROXY_ROWS, random_state=0)
    scores: list[ProxyScore] = []
    for feature in features:
        for sensitive in spec.sensitive_features:
            score, method = association(frame[feature], frame[sensitive])
            scores.append({"feature": feature, "sensitive": sensitive, "score": round(score, 6), "method": method})
    return sorted(scores, key=lambda s: -s["score"])
