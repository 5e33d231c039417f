"""From production data to the monitoring measurement: reference, windows, measures (judging is elsewhere).

Measuring reads the reference once (a verified profile, or a dataset profiled in memory) and the
production data once (one count per column through the engine), then computes every measure for
every window from counts. The measurement is JSON: the evaluation carries it as evidence, and the
rules of the monitoring check judge it without touching data.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from pathlib import Path
from typing import Any

import numpy as np

from govkit.checks.fairness.metrics import rates
from govkit.datasets import dataset_bytes, dataset_files, dataset_sha256, read_columns
from govkit.errors import DataError
from govkit.manifest import LoadedManifest, MonitoringSpec
from govkit.monitoring.drift import categorical_measures, default_measure, numeric_measures, std_of
from govkit.monitoring.measurement import (
    Cohort,
    ColumnComparison,
    MonitoringMeasurement,
    Performance,
    Schema,
    TypeChange,
    Window,
)
from govkit.monitoring.profile import (
    Reference,
    build_profile,
    check_schema_fits,
    read_profile,
    reference_from,
)
from govkit.monitoring.slices import Slices
from govkit.monitoring.windows import LOGICAL, REFERENCE, unit_of

TRUSTED_PROFILES = "monitoring.trusted_profiles"  # CheckOptions.extra key: profile digests found in the audit log


def spec_of(manifest: LoadedManifest) -> MonitoringSpec:
    spec = manifest.spec.monitoring
    if spec is None:
        raise manifest.error("monitoring rules need a monitoring section", ("monitoring",))
    return spec


def profile_path(manifest: LoadedManifest) -> Path | None:
    spec = spec_of(manifest)
    return manifest.resolve(spec.reference.profile) if spec.reference.profile else None


def load_reference(manifest: LoadedManifest, trusted: Collection[str] | None) -> Reference:
    """The reference: a profile whose digest the audit log holds (when `trusted` is given), or a dataset."""
    spec = spec_of(manifest)
    path = profile_path(manifest)
    if path is None:
        assert spec.reference.dataset is not None
        data = build_profile(manifest, spec.reference.dataset)
        return reference_from(data, None, manifest.dataset_path(spec.reference.dataset))
    data, sha256 = read_profile(path, trusted)
    return reference_from(data, sha256, path)


def production(manifest: LoadedManifest) -> tuple[Path, list[str]]:
    spec = spec_of(manifest)
    path = manifest.resolve(spec.production)
    try:
        dataset_files(path)
        columns = read_columns(path)
    except DataError as exc:
        raise manifest.error(f"{exc.message}: {path}", ("monitoring", "production")) from None
    if spec.timestamp not in columns:
        raise manifest.error(f"column {spec.timestamp!r} not in {path.name}", ("monitoring", "timestamp"))
    return path, columns


def count_production(
    manifest: LoadedManifest, ref: Reference, engine: str, duckdb_above: int
) -> tuple[Slices, dict[str, str], list[str]]:
    from dataclasses import replace

    from govkit.checks.fairness.engines.registry import auto_engine

    spec = spec_of(manifest)
    path, columns = production(manifest)
    check_schema_fits(ref, manifest, columns, path)
    plan = replace(ref.plan, timestamp=spec.timestamp, window=spec.window)
    if engine == "auto":
        engine = auto_engine(dataset_bytes(path), duckdb_above)
    if engine == "duckdb":
        from govkit.monitoring.duckdb_counts import count_dataset
    elif engine == "pandas":
        from govkit.monitoring.pandas_counts import count_dataset
    else:
        raise DataError(f"monitoring counts run on pandas or duckdb, not {engine}", field="--engine")
    slices, kinds = count_dataset(path, plan, columns)
    if not slices.keys:
        raise manifest.error(f"no rows in {path.name}: no window to judge", ("monitoring", "production"))
    return slices, kinds, columns


def _column(slices: Slices, name: str, i: int) -> dict[str, Any] | None:
    if name in slices.numeric:
        n = slices.numeric[name]
        return {
            "counts": n.counts[i],
            "sums": n.sums[i],
            "sumsq": n.sumsq[i],
            "missing": int(n.missing[i]),
            "min": float(n.low[i]),
            "max": float(n.high[i]),
        }
    if name in slices.categorical:
        c = slices.categorical[name]
        return {
            "counts": c.counts[i],
            "missing": int(c.missing[i]),
            "unseen": c.unseen[i],
            "unseen_rows": int(c.unseen_rows[i]),
        }
    return None


def _num(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def compare(ref: Reference, ref_i: int, slices: Slices, i: int, name: str) -> ColumnComparison | None:
    """Every measure of one column in slice `i` against reference slice `ref_i`."""
    r, c = _column(ref.slices, name, ref_i), _column(slices, name, i)
    if r is None or c is None:
        return None
    present = int(c["counts"].sum())
    total = present + c["missing"]
    ref_total = int(r["counts"].sum()) + r["missing"]
    missing_rate = c["missing"] / total if total else None
    ref_missing = r["missing"] / ref_total if ref_total else None
    out: ColumnComparison = {
        "rows": total,
        "missing_rate": missing_rate,
        "missing_increase": (missing_rate - ref_missing)
        if missing_rate is not None and ref_missing is not None
        else None,
    }
    if name in slices.numeric:
        edges = ref.plan.numeric[name]
        counts = c["counts"]
        out["out_of_range"] = (int(counts[0]) + int(counts[-1])) / present if present else None
        out["mean"] = float(c["sums"].sum()) / present if present else None
        out["std"] = _num(std_of(present, float(c["sums"].sum()), float(c["sumsq"])))
        out["measures"] = numeric_measures(edges, r, c)
    else:
        out["unseen"] = c["unseen_rows"] / present if present else None
        out["unseen_values"] = c["unseen"]
        out["measures"] = categorical_measures(r["counts"], c["counts"])
    return out


def performance(cells: np.ndarray | None, i: int) -> Performance | None:
    if cells is None:
        return None
    row = cells[i]
    values = {k: _num(float(v)) for k, v in rates(row).items()}
    return {"labelled": int(row.sum()), "cells": [int(x) for x in row], **values}


def _reference_json(ref: Reference, spec: MonitoringSpec) -> dict[str, Any]:
    columns = {}
    overall = ref.slices.keys.index(next(k for k in ref.slices.keys if k.feature is None))
    for name, desc in ref.data["columns"].items():
        col = _column(ref.slices, name, overall)
        assert col is not None
        n = int(col["counts"].sum())
        distinct = (
            len(desc["edges"])
            if desc["type"] == "numeric" and desc["exact"]
            else (10**9 if desc["type"] == "numeric" else len(desc["categories"]))
        )
        columns[name] = {
            "type": desc["type"],
            "kind": desc["kind"],
            "rows": n,
            "missing": col["missing"],
            "default_measure": default_measure(desc["type"], n, distinct),
            **(
                {"exact": desc["exact"], "min": _num(col["min"]), "max": _num(col["max"])}
                if desc["type"] == "numeric"
                else {"complete": desc["complete"]}
            ),
        }
    return {
        "source": "profile" if ref.sha256 else "dataset",
        "path": spec.reference.profile or ref.data["source"]["path"],
        "sha256": ref.sha256,
        "dataset_sha256": ref.data["source"]["sha256"],
        "govkit_version": ref.data["govkit_version"],
        "rows": ref.data["rows"],
        "columns": columns,
        "performance": {
            (f"{k.feature}={k.group}" if k.feature else "overall"): performance(ref.slices.cells, j)
            for j, k in enumerate(ref.slices.keys)
        }
        if ref.slices.cells is not None
        else None,
    }


def schema_json(ref: Reference, kinds: dict[str, str], columns: list[str], timestamp: str) -> Schema:
    watched = list(ref.data["columns"])
    changes: list[TypeChange] = []
    for name in watched:
        if name in kinds:
            before = ref.data["columns"][name]["type"]
            after = LOGICAL.get(kinds[name], "other")
            if before != after and not (before == "categorical" and after == "numeric"):
                changes.append(
                    {
                        "column": name,
                        "reference": f"{before} ({ref.data['columns'][name]['kind']})",
                        "production": f"{after} ({kinds[name]})",
                    }
                )
    seen = {*ref.data["columns_seen"], timestamp}
    return {
        "missing": [c for c in watched if c not in columns],
        "new": [c for c in columns if c not in seen],
        "type_changes": changes,
    }


def build_measurement(
    manifest: LoadedManifest,
    ref: Reference,
    slices: Slices,
    kinds: dict[str, str],
    columns: list[str],
    cohort_drift: bool,
) -> MonitoringMeasurement:
    spec = spec_of(manifest)
    ref_index = {(k.feature, k.group): j for j, k in enumerate(ref.slices.keys) if k.window == REFERENCE}
    watched = [c for c in ref.data["columns"] if c in slices.numeric or c in slices.categorical]
    windows: dict[str, Window] = {}
    for i, key in enumerate(slices.keys):
        rows = int(slices.rows[i])
        if key.feature is None:
            entry: Window = {"window": key.window, "rows": rows, "skipped": None, "cohorts": []}
            windows[key.window] = entry
            if rows < spec.min_rows:
                entry["skipped"] = f"{rows} rows < min_rows {spec.min_rows}"
                continue
            entry["columns"] = {c: compare(ref, ref_index[(None, None)], slices, i, c) for c in watched}
            entry["performance"] = performance(slices.cells, i)
            continue
        entry = windows[key.window]
        if entry["skipped"]:
            continue
        cohort: Cohort = {
            "feature": key.feature,
            "group": key.group,
            "rows": rows,
            "performance": performance(slices.cells, i),
        }
        j = ref_index.get((key.feature, key.group))
        if cohort_drift and j is not None:
            cohort["columns"] = {c: compare(ref, j, slices, i, c) for c in watched}
        entry["cohorts"].append(cohort)
    return {
        "engine": slices.engine,
        "window": unit_of(spec.window) if not hasattr(spec.window, "rows") else f"rows:{spec.window.rows}",  # type: ignore[union-attr]
        "min_rows": spec.min_rows,
        "production": {
            "path": spec.production,
            "sha256": dataset_sha256(manifest.resolve(spec.production)),
            "rows": int(sum(w["rows"] for w in windows.values())),
        },
        "reference": _reference_json(ref, spec),
        "roles": ref.roles,
        "schema": schema_json(ref, kinds, columns, spec.timestamp),
        "windows": list(windows.values()),
    }
