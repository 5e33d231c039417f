"""The shape of the explainability check's measurement, shared by `measure`, `judge` and the report.

The evaluation stores it as plain JSON; these TypedDicts only name its keys, so a typo in a
key is a mypy error. Changing a shape changes every evaluation digest: add keys, never rename.
"""

# no `from __future__ import annotations`: Python 3.11 would then lose NotRequired in __optional_keys__
from typing import NotRequired, TypedDict

from govkit.checks.proxies import ProxyScore

__all__ = [
    "ClassImportance",
    "CohortShares",
    "ExplainabilityMeasurement",
    "FeatureImportance",
    "GroupShares",
    "ModelInfo",
    "ProxyScore",
    "Stability",
]

# "class" is a Python keyword, hence the functional form
ModelInfo = TypedDict("ModelInfo", {"class": str, "loaded_with": str, "trusted_by_flag": bool, "explainer": str})


class FeatureImportance(TypedDict):
    feature: str
    mean_abs_shap: float
    share: float  # of the total mean |SHAP|


class GroupShares(TypedDict):
    group: str
    n: int
    shares: dict[str, float]  # feature -> share of |SHAP| within the group


class CohortShares(TypedDict):
    feature: str  # the sensitive attribute the groups come from
    groups: list[GroupShares]


class Stability(TypedDict):
    kendall_tau: float | None
    top_k_overlap: float | None
    k: int


# one class's importance of a multiclass model; "class" is a keyword, hence the functional form
ClassImportance = TypedDict("ClassImportance", {"class": str, "importance": list[FeatureImportance]})


class ExplainabilityMeasurement(TypedDict):
    model: ModelInfo
    rows_with_missing_features: int
    rows_requested: int
    rows_planned: int
    rows_explained: int
    seconds: float
    target_s: float
    time_budget_s: float
    complete: bool
    features: list[str]
    importance: list[FeatureImportance]
    top_k: list[str]
    sensitive_in_model: list[str]
    cohorts: list[CohortShares]
    stability: Stability
    associations: list[ProxyScore]
    classes: NotRequired[list[ClassImportance]]  # multiclass models only
