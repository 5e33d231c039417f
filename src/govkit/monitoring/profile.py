"""Reference profiles: a small canonical JSON summary of the training or evaluation data.

Per numeric column: edges (every distinct value when there are at most MAX_EDGES, else that many
inverted-CDF quantiles) and the counts and value sums in the cells they define (slices.py); with
every distinct value as an edge, KS is exact. Per categorical column: the MAX_CATEGORIES most
frequent values and an "other" count. Per column and slice: missing count, min, max, sum of
squares (mean and std follow). The same per cohort, and the confusion cells when the data has
labels and predictions. The file is RFC 8785 JSON, so its SHA-256 is its identity: the audit
log records it at creation (`profile.created`) and `govkit monitor` refuses a profile whose
digest the log does not hold.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from packaging.version import InvalidVersion, Version

from govkit import __version__
from govkit.canonical import canonical_bytes, sha256_hex
from govkit.checks.fairness.counts import key_text
from govkit.datasets import dataset_sha256, load_frame, read_columns
from govkit.errors import GovkitError, ManifestError
from govkit.manifest import LoadedManifest, MonitoringSpec
from govkit.monitoring.pandas_counts import count_frame, kind_of
from govkit.monitoring.slices import CategoricalCounts, NumericCounts, SliceKey, Slices
from govkit.monitoring.windows import LOGICAL, REFERENCE, CountPlan

FORMAT = "govkit.monitoring-profile"
VERSION = 1
MAX_EDGES = 1000
MAX_CATEGORIES = 50
MAX_PROFILE_BYTES = 64 << 20


class ProfileError(GovkitError):
    """A reference profile cannot be used: unreadable, edited, from a newer govkit or another schema."""


def logical_type(series: pd.Series) -> tuple[str, str]:
    """(kind, type): the cohort engines' column kind, and numeric / categorical / other."""
    kind = kind_of(series)
    return kind, LOGICAL.get(kind, "other")


def numeric_edges(values: np.ndarray) -> tuple[np.ndarray, bool]:
    """Every distinct value (exact) or MAX_EDGES inverted-CDF quantiles, from one sort."""
    ordered = np.sort(values[~np.isnan(values)])
    distinct = ordered[np.r_[True, ordered[1:] != ordered[:-1]]] if len(ordered) else ordered
    if len(distinct) <= MAX_EDGES:
        return distinct, True
    # numpy's inverted_cdf quantile q of n sorted values is the value at ceil(n q) - 1 (clipped at 0)
    n = len(ordered)
    at = np.clip(np.ceil(n * np.linspace(0, 1, MAX_EDGES)).astype(np.int64) - 1, 0, n - 1)
    return np.unique(ordered[at]), False


def top_categories(texts: pd.Series) -> tuple[list[str], bool]:
    counts = texts.dropna().value_counts()
    ordered = sorted(counts.items(), key=lambda kv: (-int(kv[1]), str(kv[0])))
    return [str(k) for k, _ in ordered[:MAX_CATEGORIES]], len(ordered) <= MAX_CATEGORIES


@dataclass(frozen=True)
class Roles:
    features: tuple[str, ...]
    cohorts: tuple[str, ...]
    label: str | None
    prediction: str | None
    score: str | None
    positive_label: str

    @property
    def watched(self) -> list[str]:
        """Columns whose distributions are compared: features, then prediction and score."""
        return list(dict.fromkeys([*self.features, *(c for c in (self.prediction, self.score) if c)]))


def roles(manifest: LoadedManifest, spec: MonitoringSpec, columns: list[str], file: Path) -> Roles:
    """Which columns to watch, slice by and judge performance with; each must be in the data."""
    ev = manifest.spec.datasets.evaluation
    label = spec.label or (ev.label if ev else None)
    prediction = spec.prediction or (ev.prediction if ev else None)
    score = spec.score or (ev.score if ev else None)
    special = {spec.timestamp, label, prediction, score}
    if spec.features:
        for i, f in enumerate(spec.features):
            if f not in columns:
                raise manifest.error(f"column {f!r} not in {file.name}", ("monitoring", "features", i))
        features = spec.features
    elif ev is not None and set(ev.features) <= set(columns):
        features = ev.features
    else:
        features = tuple(c for c in columns if c not in special and c not in manifest.spec.sensitive_features)
    cohorts = tuple(f for f in manifest.spec.sensitive_features if f in columns)
    positive = spec.positive_label if "positive_label" in spec.model_fields_set or ev is None else ev.positive_label
    return Roles(
        features=tuple(features),
        cohorts=cohorts,
        label=label if label in columns else None,
        prediction=prediction if prediction in columns else None,
        score=score if score in columns else None,
        positive_label=str(positive),
    )


def plan_from(frame: pd.DataFrame, r: Roles) -> tuple[CountPlan, dict[str, Any]]:
    numeric: dict[str, np.ndarray] = {}
    categorical: dict[str, tuple[list[str], bool]] = {}
    described: dict[str, Any] = {}
    for column in r.watched:
        kind, typ = logical_type(frame[column])
        if typ == "numeric":
            edges, exact = numeric_edges(frame[column].to_numpy(dtype=float, na_value=np.nan))
            numeric[column] = edges
            described[column] = {"type": typ, "kind": kind, "edges": edges.tolist(), "exact": exact}
        else:
            categories, complete = top_categories(key_text(frame[column]))
            categorical[column] = (categories, complete)
            described[column] = {"type": "categorical", "kind": kind, "categories": categories, "complete": complete}
    plan = CountPlan(
        numeric=numeric,
        categorical=categorical,
        cohorts=r.cohorts,
        label=r.label,
        prediction=r.prediction,
        positive_label=r.positive_label,
    )
    return plan, described


def _slice_json(slices: Slices, i: int) -> dict[str, Any]:
    key = slices.keys[i]
    columns: dict[str, Any] = {}
    for name, num in slices.numeric.items():
        columns[name] = {
            "missing": int(num.missing[i]),
            "counts": num.counts[i].tolist(),
            "sums": num.sums[i].tolist(),
            "sumsq": float(num.sumsq[i]),
            "min": float(num.low[i]),
            "max": float(num.high[i]),
        }
    for name, cat in slices.categorical.items():
        columns[name] = {"missing": int(cat.missing[i]), "counts": cat.counts[i].tolist()}
    return {
        "feature": key.feature,
        "group": key.group,
        "rows": int(slices.rows[i]),
        "cells": slices.cells[i].tolist() if slices.cells is not None else None,
        "columns": columns,
    }


def build_profile(manifest: LoadedManifest, dataset: str) -> dict[str, Any]:
    spec = manifest.spec.monitoring
    if spec is None:
        raise manifest.error("`govkit profile create` needs a monitoring section", ("monitoring",))
    path = manifest.dataset_path(dataset)
    all_columns = read_columns(path)
    r = roles(manifest, spec, all_columns, path)
    frame = load_frame(path, list(dict.fromkeys([*r.watched, *r.cohorts, *(c for c in (r.label, r.prediction) if c)])))
    plan, described = plan_from(frame, r)
    slices = count_frame(frame, plan)
    schema = {c: logical_type(frame[c])[0] if c in frame else None for c in all_columns}
    ds = getattr(manifest.spec.datasets, dataset)
    model = manifest.spec.model
    return {
        "format": FORMAT,
        "version": VERSION,
        "govkit_version": __version__,
        "model": {"name": model.name, "version": model.version},
        "source": {"dataset": dataset, "path": ds.path, "sha256": dataset_sha256(path)},
        "rows": len(frame),
        "columns_seen": all_columns,
        "schema": {c: k for c, k in schema.items() if k is not None},
        "roles": {
            "features": list(r.features),
            "cohorts": list(r.cohorts),
            "label": r.label,
            "prediction": r.prediction,
            "score": r.score,
            "positive_label": r.positive_label,
        },
        "columns": described,
        "slices": [_slice_json(slices, i) for i in range(len(slices.keys))],
    }


def write_profile(profile: dict[str, Any], path: Path) -> str:
    data = canonical_bytes(profile)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return sha256_hex(data)


@dataclass(frozen=True)
class Reference:
    """A profile ready for comparison: its JSON, the plan to count windows with, and its own slices."""

    data: dict[str, Any]
    plan: CountPlan
    slices: Slices
    sha256: str | None  # None: built from a dataset in this run

    @property
    def roles(self) -> dict[str, Any]:
        roles: dict[str, Any] = self.data["roles"]
        return roles


def _need(data: Any, key: str, kind: type | tuple[type, ...], file: Path) -> Any:
    if not isinstance(data, dict) or not isinstance(data.get(key), kind):
        raise ProfileError(f"not a govkit profile: {key!r} is missing or malformed", file=file)
    return data[key]


def read_profile(path: Path, trusted: Collection[str] | None = None) -> tuple[dict[str, Any], str]:
    """The profile and the SHA-256 of the bytes read; refuses other formats and newer govkits, and (given the
    digests the audit log holds) a profile whose digest is not among them, before parsing it."""
    try:
        if path.stat().st_size > MAX_PROFILE_BYTES:
            raise ProfileError(f"larger than {MAX_PROFILE_BYTES >> 20} MiB; not a govkit profile", file=path)
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ProfileError("profile file not found (create it with `govkit profile create`)", file=path) from None
    except OSError as exc:
        raise ProfileError(f"cannot read profile: {exc.strerror}", file=path) from None
    sha256 = sha256_hex(raw)
    if trusted is not None and sha256 not in trusted:
        raise ProfileError(
            f"sha256 {sha256[:16]}… is not recorded in the audit log (profile.created): the file was "
            "edited after `govkit profile create`, or comes from another log",
            file=path,
        )
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ProfileError("not JSON; not a govkit profile", file=path) from None
    if _need(data, "format", str, path) != FORMAT:
        raise ProfileError(f"format {data['format']!r} is not {FORMAT!r}", file=path)
    made_by = _need(data, "govkit_version", str, path)
    try:
        newer = Version(made_by) > Version(__version__)
    except InvalidVersion:
        raise ProfileError(f"govkit_version {made_by!r} is not a version", file=path) from None
    if newer or _need(data, "version", int, path) > VERSION:
        raise ProfileError(
            f"made by govkit {made_by} (profile version {data['version']}), newer than this govkit "
            f"{__version__}; upgrade govkit",
            file=path,
        )
    return data, sha256


def reference_from(data: dict[str, Any], sha256: str | None, file: Path) -> Reference:
    """Rebuild the count plan and the reference slices from a profile's JSON."""
    try:
        roles_ = data["roles"]
        numeric = {c: np.array(d["edges"], dtype=float) for c, d in data["columns"].items() if d["type"] == "numeric"}
        categorical = {
            c: (list(d["categories"]), bool(d["complete"]))
            for c, d in data["columns"].items()
            if d["type"] == "categorical"
        }
        plan = CountPlan(
            numeric=numeric,
            categorical=categorical,
            cohorts=tuple(roles_["cohorts"]),
            label=roles_["label"],
            prediction=roles_["prediction"],
            positive_label=str(roles_["positive_label"]),
        )
        entries = data["slices"]
        keys = [SliceKey(REFERENCE, e["feature"], e["group"]) for e in entries]
        slices = Slices(keys=keys, rows=np.array([e["rows"] for e in entries], dtype=np.int64), engine="profile")

        def column(name: str, field: str, dtype: Any) -> np.ndarray:
            return np.array(
                [e["columns"][name][field] if e["columns"][name][field] is not None else math.nan for e in entries],
                dtype=dtype,
            )

        for name, edges in numeric.items():
            cells = 2 * len(edges) + 1
            counts = np.array([e["columns"][name]["counts"] for e in entries], dtype=np.int64).reshape(-1, cells)
            sums = np.array([e["columns"][name]["sums"] for e in entries], dtype=float).reshape(-1, cells)
            slices.numeric[name] = NumericCounts(
                counts=counts,
                sums=sums,
                sumsq=column(name, "sumsq", float),
                missing=column(name, "missing", np.int64),
                low=column(name, "min", float),
                high=column(name, "max", float),
            )
        for name, (categories, _) in categorical.items():
            counts = np.array([e["columns"][name]["counts"] for e in entries], dtype=np.int64).reshape(
                -1, len(categories) + 1
            )
            slices.categorical[name] = CategoricalCounts(
                counts=counts,
                missing=column(name, "missing", np.int64),
                unseen=[{} for _ in entries],
                unseen_rows=np.zeros(len(entries), dtype=np.int64),
            )
        if roles_["label"] and roles_["prediction"]:
            slices.cells = np.array([e["cells"] for e in entries], dtype=np.int64).reshape(-1, 4)
    except (KeyError, TypeError, ValueError) as exc:
        raise ProfileError(f"malformed profile ({type(exc).__name__}: {exc})", file=file) from None
    return Reference(data=data, plan=plan, slices=slices, sha256=sha256)


def check_schema_fits(ref: Reference, manifest: LoadedManifest, columns: list[str], file: Path) -> None:
    """A profile of another model's data: none of its watched columns is in the production data."""
    watched = list(ref.data["columns"])
    if watched and not set(columns) & set(watched):
        shown = ", ".join(watched[:5])
        raise ManifestError(
            f"the reference profile describes columns {shown} and none is in {file.name}; it was "
            "built from another schema",
            file=manifest.path,
            field="monitoring.reference",
            line=manifest.doc.line_of(("monitoring", "reference")),
        )
