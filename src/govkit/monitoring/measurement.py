"""The shape of the monitoring check's measurement, shared by `build_measurement`, `judge` and the report.

The evaluation stores it as plain JSON; these TypedDicts only name its keys, so a typo in a
key is a mypy error. Changing a shape changes every evaluation digest: add keys, never rename.
Performance rows stay a plain mapping: their rate names come from `monitoring.drift.rates`.
"""

# no `from __future__ import annotations`: Python 3.11 would then lose NotRequired in __optional_keys__
from typing import Any, NotRequired, TypedDict

Performance = dict[str, Any]  # {"labelled": n, "cells": [tn, fp, fn, tp], <rate>: value | None, ...}


class ColumnComparison(TypedDict):
    """One watched column of one slice against the same slice of the reference."""

    rows: int
    missing_rate: float | None
    missing_increase: float | None
    measures: NotRequired[dict[str, Any]]  # drift measure -> value and test; always set, after the per-type keys
    out_of_range: NotRequired[float | None]  # numeric columns
    mean: NotRequired[float | None]
    std: NotRequired[float | None]
    unseen: NotRequired[float | None]  # categorical columns
    unseen_values: NotRequired[Any]


class Cohort(TypedDict):
    feature: str
    group: str | None
    rows: int
    performance: Performance | None
    columns: NotRequired[dict[str, ColumnComparison | None]]  # with cohort drift rules only


class Window(TypedDict):
    window: str
    rows: int
    skipped: str | None  # why the window was not judged (too few rows)
    cohorts: list[Cohort]
    columns: NotRequired[dict[str, ColumnComparison | None]]
    performance: NotRequired[Performance | None]


class TypeChange(TypedDict):
    column: str
    reference: str
    production: str


class Schema(TypedDict):
    missing: list[str]
    new: list[str]
    type_changes: list[TypeChange]


class Production(TypedDict):
    path: str
    sha256: str
    rows: int


class MonitoringMeasurement(TypedDict):
    engine: str
    window: str
    min_rows: int
    production: Production
    reference: dict[str, Any]  # the reference profile's summary (`measure._reference_json`)
    roles: dict[str, Any]  # features, label, prediction, score columns of the reference
    schema: Schema
    windows: list[Window]
