"""The shape of the privacy check's measurement, shared by `measure`, `judge` and the report.

The evaluation stores it as plain JSON; these TypedDicts only name its keys, so a typo in a
key is a mypy error instead of a KeyError in someone's CI. Changing a shape changes every
evaluation digest: add keys, never rename them.
"""

# no `from __future__ import annotations`: Python 3.11 would then lose NotRequired in __optional_keys__
from typing import Literal, NotRequired, TypedDict

from govkit.checks.proxies import ProxyScore

Dataset = Literal["training", "evaluation"]
DATASETS: tuple[Dataset, ...] = ("training", "evaluation")


class PiiColumn(TypedDict):
    column: str
    scanned: int
    non_null: int
    name_signal: str | None
    types: dict[str, float]  # PII type -> share of the scanned values
    best: str | None
    share: float
    free_text_share: float
    embedded: list[str]
    examples: list[str]


class PiiDataset(TypedDict):
    path: str
    rows: int
    bytes: int
    declared: list[str]
    columns: list[PiiColumn]


class ProtectedFeature(TypedDict):
    feature: str
    reason: str


class KAnonymity(TypedDict):
    dataset: Dataset
    quasi_identifiers: list[str]
    rows: int
    classes: int
    smallest: int
    histogram: list[list[int]]  # [class size, number of classes of that size]


class PrivacyMeasurement(TypedDict):
    sample_size: int | None
    full_scan: bool
    datasets: dict[str, PiiDataset]
    protected_features: NotRequired[list[ProtectedFeature]]
    proxies: NotRequired[list[ProxyScore]]
    k_anonymity: NotRequired[list[KAnonymity]]
