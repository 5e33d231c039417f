"""Post-market monitoring: drift measures equal scipy's, engines agree, rules fail what they should."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from scipy.spatial.distance import jensenshannon
from scipy.stats import chi2_contingency, entropy, ks_2samp, wasserstein_distance

from govkit.cli import cli
from govkit.monitoring import drift
from govkit.monitoring.measurement import MonitoringMeasurement
from govkit.monitoring.profile import numeric_edges
from govkit.monitoring.slices import cell_of
from shapes import assert_shape

MONTHS = 6


def applicants(rng: np.random.Generator, n: int, *, income_factor: float = 1.0) -> pd.DataFrame:
    sex = rng.choice(["F", "M"], size=n)
    income = np.round(np.exp(rng.normal(10.5, 0.4, n)) * income_factor, 2)
    debt = np.round(rng.beta(2, 5, n), 4)
    accounts = rng.poisson(4, n)
    region = rng.choice(["north", "south", "east"], size=n, p=[0.5, 0.3, 0.2])
    score = 1 / (1 + np.exp(-(np.log(income / 36000) * 2 - debt * 3 + 0.5)))
    y = (rng.random(n) < score).astype(int)
    yhat = (score >= 0.5).astype(int)
    return pd.DataFrame(
        {
            "income": income,
            "debt": debt,
            "accounts": accounts,
            "region": region,
            "sex": sex,
            "score": np.round(score, 4),
            "y": y,
            "yhat": yhat,
        }
    )


def production(seed: int = 7, rows: int = 400) -> pd.DataFrame:
    """Six months; from month 5 incomes rise by half and the model's predictions for F decay."""
    rng = np.random.default_rng(seed)
    parts = []
    for month in range(1, MONTHS + 1):
        shifted = month >= 5
        frame = applicants(rng, rows, income_factor=1.5 if shifted else 1.0)
        if shifted:
            flip = (frame["sex"] == "F").to_numpy() & (rng.random(rows) < 0.6)
            frame.loc[flip, "yhat"] = 1 - frame.loc[flip, "yhat"]
        if month == MONTHS:  # late labels: half of the last month has none yet; some regions unrecorded
            frame["y"] = frame["y"].astype(float).where(rng.random(rows) < 0.5)
        frame.loc[rng.random(rows) < 0.02, "region"] = None
        days = rng.integers(0, 28, rows)
        frame.insert(0, "ts", [f"2026-{month:02d}-{d + 1:02d}T12:00:00Z" for d in days])
        parts.append(frame)
    return pd.concat(parts, ignore_index=True)


MANIFEST: dict[str, Any] = {
    "apiVersion": "govkit/v1",
    "kind": "ModelManifest",
    "model": {
        "name": "scorer",
        "version": "1.0.0",
        "team": "alpha",
        "owner": "o@example.com",
        "risk_tier": "high",
        "task": "binary-classification",
        "license": "Apache-2.0",
        "intended_use": "tests",
    },
    "datasets": {
        "evaluation": {
            "path": "eval.csv",
            "license": "MIT",
            "label": "y",
            "prediction": "yhat",
            "score": "score",
            "features": ["income", "debt", "accounts", "region"],
        }
    },
    "sensitive_features": ["sex"],
    "monitoring": {
        "production": "prod/*.parquet",
        "timestamp": "ts",
        "window": "month",
        "reference": {"profile": "profile.json"},
        "min_rows": 50,
    },
}

RULES = [
    {
        "id": "M-DRIFT",
        "title": "features stay close",
        "check": "drift.feature",
        "severity": "high",
        "params": {"measure": "psi", "max_distance": 0.2},
    },
    {"id": "M-SCHEMA", "title": "schema", "check": "monitoring.schema", "severity": "high", "params": {}},
    {
        "id": "M-PERF",
        "title": "accuracy per cohort",
        "check": "monitoring.performance",
        "severity": "high",
        "params": {"metric": "accuracy", "max_drop": 0.1, "min_group_size": 30},
    },
]


def policy(rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {"apiVersion": "govkit/v1", "kind": "PolicySet", "name": "monitoring", "version": "1.0", "rules": rules}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    applicants(np.random.default_rng(1), 3000).to_csv(tmp_path / "eval.csv", index=False)
    prod = production()
    (tmp_path / "prod").mkdir()
    for month, part in prod.groupby(prod["ts"].str[:7]):
        part.to_parquet(tmp_path / "prod" / f"{month}.parquet", index=False)
    (tmp_path / "govkit.yaml").write_text(yaml.safe_dump(MANIFEST))
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "monitoring.yaml").write_text(yaml.safe_dump(policy(RULES)))
    return tmp_path


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


# --- measures equal scipy's --------------------------------------------------------------------


def _cells(values: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    c = cell_of(values, edges)
    size = 2 * len(edges) + 1
    return np.bincount(c, minlength=size), np.bincount(c, weights=values, minlength=size)


def test_edges_are_numpy_quantiles_or_every_value() -> None:
    from govkit.monitoring.profile import MAX_EDGES

    rng = np.random.default_rng(2)
    for n in (1500, 7777, 100_000):
        v = rng.normal(0, 1, n)
        edges, exact = numeric_edges(v)
        assert not exact
        assert np.array_equal(edges, np.unique(np.quantile(v, np.linspace(0, 1, MAX_EDGES), method="inverted_cdf")))
    edges, exact = numeric_edges(np.array([3.0, 1.0, np.nan, 1.0]))
    assert exact and edges.tolist() == [1.0, 3.0]


def test_cells_are_searchsorted_cells() -> None:
    rng = np.random.default_rng(11)
    for scale, decimals in ((1e-3, 6), (1.0, 2), (1e5, 0)):
        ref = np.round(rng.standard_t(3, 20_000) * scale, decimals)
        edges, _ = numeric_edges(ref)
        x = np.concatenate(
            [
                np.round(rng.standard_t(3, 100_000) * scale * 1.5, decimals),
                edges,
                [np.inf, -np.inf, np.nextafter(edges[0], -1e300), np.nextafter(edges[-1], 1e300)],
            ]
        )
        assert np.array_equal(cell_of(x, edges), np.searchsorted(edges, x, "left") + np.searchsorted(edges, x, "right"))


@pytest.mark.parametrize("n,m", [(300, 250), (800, 20_000)])
def test_ks_equals_scipy_on_the_raw_values(n: int, m: int) -> None:
    rng = np.random.default_rng(3)
    ref = np.round(rng.normal(0, 1, n), 3)
    cur = np.round(rng.normal(0.15, 1.1, m), 3)
    edges, exact = numeric_edges(ref)
    assert exact
    statistic, p_value = drift.ks(_cells(ref, edges)[0], _cells(cur, edges)[0], edges)
    expected = ks_2samp(ref, cur)
    assert statistic == pytest.approx(expected.statistic, abs=1e-12)
    assert p_value == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-300)


def test_distances_equal_scipy_on_the_same_bins() -> None:
    rng = np.random.default_rng(5)
    ref, cur = rng.normal(10, 2, 5000), rng.normal(10.8, 2.4, 4000)
    edges, exact = numeric_edges(ref)
    assert not exact
    (rc, rs), (cc, cs) = _cells(ref, edges), _cells(cur, edges)
    cuts = drift.coarse_cuts(rc)
    rb, cb = drift.coarse(rc, cuts), drift.coarse(cc, cuts)
    assert len(rb) == drift.COARSE_BINS
    p, q = rb / rb.sum(), cb / cb.sum()
    assert drift.psi(rb, cb) == pytest.approx(entropy(p, q) + entropy(q, p), rel=1e-12)  # no empty bin here
    assert drift.jensenshannon(rb, cb) == pytest.approx(jensenshannon(p, q, base=2), rel=1e-12)
    assert drift.chisquare(rb, cb) == pytest.approx(chi2_contingency(np.vstack([rb, cb])).pvalue, rel=1e-12)
    std = drift.std_of(len(ref), float(ref.sum()), float((ref * ref).sum()))
    assert std == pytest.approx(np.std(ref), rel=1e-9)
    w = drift.wasserstein(rc, rs, cc, cs, std)
    r, c = rc > 0, cc > 0
    assert w == pytest.approx(wasserstein_distance(rs[r] / rc[r], cs[c] / cc[c], rc[r], cc[c]) / std, rel=1e-12)
    # binned in 1000 quantile cells, it is the raw distance to well within 1 %
    assert w == pytest.approx(wasserstein_distance(ref, cur) / np.std(ref), rel=0.01)


def test_psi_replaces_empty_bins_with_epsilon() -> None:
    ref, cur = np.array([50, 50, 0]), np.array([40, 40, 20])
    p = np.array([0.5, 0.5, drift.EPSILON])
    q = np.array([0.4, 0.4, 0.2])
    assert drift.psi(ref, cur) == pytest.approx(float(np.sum((q - p) * np.log(q / p))), rel=1e-12)


def test_default_measures_follow_evidently() -> None:
    assert drift.default_measure("numeric", 1000, 500) == "ks"
    assert drift.default_measure("numeric", 1001, 500) == "wasserstein"
    assert drift.default_measure("numeric", 50_000, 3) == "jensenshannon"
    assert drift.default_measure("categorical", 800, 4) == "chisquare"
    assert drift.default_measure("categorical", 8000, 4) == "jensenshannon"


# --- the monitor command end to end ----------------------------------------------------------


def _monitor(*extra: str) -> tuple[Any, dict[str, Any]]:
    result = run("monitor", "govkit.yaml", "--policy", "policies", "--format", "json", "-o", "out.json", *extra)
    return result, yaml.safe_load(Path("out.json").read_text()) if Path("out.json").exists() else {}


def _failed(report: dict[str, Any], rule: str) -> list[str]:
    return sorted(f["subject"] for f in report["findings"] if f["rule_id"] == rule and f["status"] == "fail")


def test_profile_then_monitor_finds_the_shift_and_the_decaying_cohort(project: Path) -> None:
    created = run("profile", "create", "govkit.yaml")
    assert created.exit_code == 0, created.output
    assert "recorded as entry" in created.output
    result, report = _monitor()
    assert result.exit_code == 1, result.output
    assert report["options"]["purpose"] == "monitor"
    measured = report["measurements"]["monitoring"]
    assert measured["reference"]["sha256"] == hashlib.sha256(Path("profile.json").read_bytes()).hexdigest()
    assert len(measured["production"]["sha256"]) == 64
    assert {f["check"] for f in report["findings"]} == {"drift.feature", "monitoring.schema", "monitoring.performance"}
    # the income shift from month 5 is the only drift
    assert _failed(report, "M-DRIFT") == ["2026-05 income", "2026-06 income"]
    # accuracy decays for F only, from month 5 (which drags the whole window down too)
    perf = _failed(report, "M-PERF")
    assert [s for s in perf if "sex=" in s] == ["2026-05 sex=F", "2026-06 sex=F"]
    assert all(s.startswith(("2026-05", "2026-06")) for s in perf)
    assert _failed(report, "M-SCHEMA") == []
    windows = report["measurements"]["monitoring"]["windows"]
    assert [w["window"] for w in windows] == [f"2026-{m:02d}" for m in range(1, MONTHS + 1)]
    # `govkit check` does not run monitoring rules
    gate = run("check", "govkit.yaml", "--policy", "policies", "--format", "json", "-o", "gate.json")
    assert gate.exit_code == 0, gate.output
    assert yaml.safe_load(Path("gate.json").read_text())["findings"] == []


def test_allow_outside_reaches_production_data_outside_the_project(project: Path) -> None:
    """`monitor` loaded the manifest once more on its own, without --allow-outside: exit 2 despite the flag."""
    assert run("profile", "create", "govkit.yaml").exit_code == 0
    outside = project.parent / f"{project.name}-production"
    shutil.move(project / "prod", outside)
    data = yaml.safe_load(Path("govkit.yaml").read_text())
    data["monitoring"]["production"] = f"{outside.as_posix()}/*.parquet"
    Path("govkit.yaml").write_text(yaml.safe_dump(data))
    refused, _ = _monitor()
    assert refused.exit_code == 2 and "--allow-outside" in refused.output
    result, report = _monitor("--allow-outside", str(outside))
    assert result.exit_code == 1, result.output  # judged: the shift from month 5 blocks
    assert _failed(report, "M-DRIFT") == ["2026-05 income", "2026-06 income"]


def test_engines_count_identical_windows(project: Path) -> None:
    from govkit.manifest import load_manifest
    from govkit.monitoring.duckdb_counts import count_dataset as duck
    from govkit.monitoring.measure import load_reference, production
    from govkit.monitoring.pandas_counts import count_dataset as pand

    MANIFEST["monitoring"]["reference"] = {"dataset": "evaluation"}
    try:
        (project / "govkit.yaml").write_text(yaml.safe_dump(MANIFEST))
        manifest = load_manifest(project / "govkit.yaml")
    finally:
        MANIFEST["monitoring"]["reference"] = {"profile": "profile.json"}
    ref = load_reference(manifest, None)
    path, columns = production(manifest)
    from dataclasses import replace

    for window in ("month", "week", "quarter", "day"):
        plan = replace(ref.plan, timestamp="ts", window=window)
        a, _ = pand(path, plan, columns)
        b, _ = duck(path, plan, columns)
        assert a.keys == b.keys
        assert np.array_equal(a.rows, b.rows)
        assert np.array_equal(a.cells, b.cells)
        for name in a.numeric:
            x, y = a.numeric[name], b.numeric[name]
            assert np.array_equal(x.counts, y.counts) and np.array_equal(x.missing, y.missing)
            assert np.allclose(x.sums, y.sums, rtol=1e-12) and np.array_equal(x.low, y.low)
        for name in a.categorical:
            assert np.array_equal(a.categorical[name].counts, b.categorical[name].counts)
    assert [k.window for k in a.keys if k.feature is None][:2] == ["2026-01-01", "2026-01-02"]


def test_a_dropped_column_fails_the_schema_rule(project: Path) -> None:
    assert run("profile", "create", "govkit.yaml").exit_code == 0
    for f in (project / "prod").glob("*.parquet"):
        pd.read_parquet(f).drop(columns=["debt"]).assign(extra=1).to_parquet(f, index=False)
    result, report = _monitor()
    assert result.exit_code == 1
    schema = [f for f in report["findings"] if f["rule_id"] == "M-SCHEMA"]
    assert [f["status"] for f in schema] == ["fail"]
    assert "missing column(s) debt" in schema[0]["message"] and "new column(s) extra" in schema[0]["message"]


def test_small_windows_are_reported_not_passed(project: Path) -> None:
    assert run("profile", "create", "govkit.yaml").exit_code == 0
    MANIFEST["monitoring"]["min_rows"] = 1000
    try:
        (project / "govkit.yaml").write_text(yaml.safe_dump(MANIFEST))
        result, report = _monitor()
    finally:
        MANIFEST["monitoring"]["min_rows"] = 50
    assert result.exit_code == 0
    drift_findings = [f for f in report["findings"] if f["rule_id"] == "M-DRIFT"]
    assert len(drift_findings) == MONTHS and {f["status"] for f in drift_findings} == {"warn"}
    assert "400 rows < min_rows 1000" in drift_findings[0]["message"]


# --- bad input: one line, exit 2 -----------------------------------------------------------------


def _error(result: Any) -> str:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


def test_an_edited_profile_is_refused(project: Path) -> None:
    assert run("profile", "create", "govkit.yaml").exit_code == 0
    data = Path("profile.json").read_bytes()
    Path("profile.json").write_bytes(data.replace(b'"rows":3000', b'"rows":3001'))
    line = _error(_monitor()[0])
    assert "profile.json" in line and "not recorded in the audit log" in line


def test_a_profile_from_a_newer_govkit_is_refused(project: Path) -> None:
    assert run("profile", "create", "govkit.yaml").exit_code == 0
    data = yaml.safe_load(Path("profile.json").read_text())
    data["govkit_version"] = "99.0.0"
    from govkit.audit.log import AuditLog
    from govkit.monitoring.profile import write_profile
    from govkit.monitoring.records import record_profile

    with AuditLog(os.environ["GOVKIT_DB"]) as log:  # as a newer govkit would have written and logged it
        record_profile(log, data, Path("profile.json"), write_profile(data, Path("profile.json")))
    line = _error(_monitor()[0])
    assert "profile.json" in line and "newer than this govkit" in line


def test_a_profile_of_another_schema_is_refused(project: Path) -> None:
    assert run("profile", "create", "govkit.yaml").exit_code == 0
    for f in (project / "prod").glob("*.parquet"):
        frame = pd.read_parquet(f)
        frame.columns = ["ts", *(f"x{i}" for i in range(len(frame.columns) - 1))]
        frame.to_parquet(f, index=False)
    line = _error(_monitor()[0])
    assert "govkit.yaml" in line and "monitoring.reference" in line and "another schema" in line


@pytest.mark.parametrize(
    "change,expected",
    [
        ({"production": "nothing/*.parquet"}, "monitoring.production: no files match this pattern"),
        ({"timestamp": "when"}, "monitoring.timestamp: column 'when' not in"),
    ],
)
def test_bad_monitoring_sections(project: Path, change: dict[str, Any], expected: str) -> None:
    assert run("profile", "create", "govkit.yaml").exit_code == 0
    spec = {**MANIFEST, "monitoring": {**MANIFEST["monitoring"], **change}}
    (project / "govkit.yaml").write_text(yaml.safe_dump(spec))
    line = _error(_monitor()[0])
    assert "govkit.yaml" in line and expected in line


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_unparseable_timestamps(project: Path, engine: str) -> None:
    assert run("profile", "create", "govkit.yaml").exit_code == 0
    first = sorted((project / "prod").glob("*.parquet"))[0]
    frame = pd.read_parquet(first)
    frame.loc[3, "ts"] = "last tuesday"
    frame.to_parquet(first, index=False)
    line = _error(_monitor("--engine", engine)[0])
    assert "timestamp column 'ts'" in line and "last tuesday" in line and "prod" in line


def test_every_rule_kind_on_one_run(project: Path) -> None:
    """drift.dataset, drift.prediction, data quality and fairness per window, with the reference a dataset."""
    spec = {**MANIFEST, "monitoring": {**MANIFEST["monitoring"], "reference": {"dataset": "evaluation"}}}
    (project / "govkit.yaml").write_text(yaml.safe_dump(spec))
    last = sorted((project / "prod").glob("*.parquet"))[-1]
    frame = pd.read_parquet(last)
    frame.loc[:99, "region"] = "atlantis"  # a category the reference never had
    frame.loc[100:199, "debt"] = np.nan
    frame.to_parquet(last, index=False)
    rules = [
        {
            "id": "M-SHARE",
            "title": "dataset drift",
            "check": "drift.dataset",
            "severity": "high",
            "params": {"measure": "psi", "max_distance": 0.2, "max_share": 0.2},
        },
        {
            "id": "M-PRED",
            "title": "score drift",
            "check": "drift.prediction",
            "severity": "high",
            "params": {"measure": "psi", "max_distance": 0.2},
        },
        {"id": "M-DQ", "title": "data quality", "check": "monitoring.data_quality", "severity": "high", "params": {}},
        {
            "id": "M-FAIR",
            "title": "equal opportunity every month",
            "check": "monitoring.fairness",
            "severity": "high",
            "params": {"metric": "equalized_odds_difference", "max": 0.25},
        },
        {
            "id": "M-COHORT",
            "title": "income drift per cohort",
            "check": "drift.feature",
            "severity": "high",
            "params": {"features": ["income"], "measure": "psi", "max_distance": 0.2, "cohorts": True},
        },
    ]
    (project / "policies" / "monitoring.yaml").write_text(yaml.safe_dump(policy(rules)))
    result, report = _monitor()
    assert result.exit_code == 1, result.output
    assert report["measurements"]["monitoring"]["reference"]["source"] == "dataset"
    assert_shape(report["measurements"]["monitoring"], MonitoringMeasurement)
    # income is 1 of 4 features: share 0.25 > 0.2 from month 5
    assert _failed(report, "M-SHARE") == ["2026-05", "2026-06"]
    # richer applicants score higher: the score drifts with income
    assert _failed(report, "M-PRED") == ["2026-05 score", "2026-06 score"]
    dq = [f for f in report["findings"] if f["rule_id"] == "M-DQ" and f["status"] == "fail"]
    assert sorted(f["subject"] for f in dq) == ["2026-06 debt", "2026-06 region"]
    assert "atlantis" in next(f["message"] for f in dq if f["subject"] == "2026-06 region")
    assert _failed(report, "M-FAIR") == ["2026-05 sex", "2026-06 sex"]
    assert _failed(report, "M-COHORT") == [f"2026-0{m} {c}income" for m in (5, 6) for c in ("", "sex=F ", "sex=M ")]


def test_row_windows_are_the_same_in_both_engines(project: Path) -> None:
    from dataclasses import replace

    from govkit.manifest import WindowRows, load_manifest
    from govkit.monitoring.duckdb_counts import count_dataset as duck
    from govkit.monitoring.measure import load_reference, production
    from govkit.monitoring.pandas_counts import count_dataset as pand

    spec = {**MANIFEST, "monitoring": {**MANIFEST["monitoring"], "reference": {"dataset": "evaluation"}}}
    (project / "govkit.yaml").write_text(yaml.safe_dump(spec))
    manifest = load_manifest(project / "govkit.yaml")
    ref = load_reference(manifest, None)
    path, columns = production(manifest)
    plan = replace(ref.plan, timestamp="ts", window=WindowRows(rows=500))
    a, _ = pand(path, plan, columns)
    b, _ = duck(path, plan, columns)
    assert a.keys == b.keys and np.array_equal(a.rows, b.rows)
    overall = a.rows[[k.feature is None for k in a.keys]]
    assert overall.sum() == MONTHS * 400 and (overall[:-1] >= 500).all()
    assert np.array_equal(a.numeric["income"].counts, b.numeric["income"].counts)


def test_monitor_needs_a_monitoring_section(project: Path) -> None:
    spec = {k: v for k, v in MANIFEST.items() if k != "monitoring"}
    (project / "govkit.yaml").write_text(yaml.safe_dump(spec))
    line = _error(_monitor()[0])
    assert "monitoring" in line and "govkit.yaml" in line


def test_monitor_needs_monitoring_rules(project: Path) -> None:
    (project / "policies" / "monitoring.yaml").write_text(
        yaml.safe_dump(
            policy(
                [
                    {
                        "id": "T-LIC",
                        "title": "licence",
                        "check": "license.model",
                        "severity": "high",
                        "params": {"deny_traits": ["non-commercial"]},
                    }
                ]
            )
        )
    )
    assert "has no monitor rules" in _error(_monitor()[0])


def test_every_format_renders_a_monitor_evaluation(project: Path) -> None:
    import json
    import xml.etree.ElementTree as ET

    assert run("profile", "create", "govkit.yaml").exit_code == 0
    result = run(
        "monitor",
        "govkit.yaml",
        "--policy",
        "policies",
        "--output-dir",
        "out",
        "--format",
        "json",
        "--format",
        "sarif",
        "--format",
        "junit",
        "--format",
        "markdown",
        "--format",
        "github",
    )
    assert result.exit_code == 1, result.output
    github = [f for f in Path("out").iterdir() if "::error" in f.read_text()]
    assert len(github) == 1 and "2026-05 income" in github[0].read_text()
    sarif = json.loads(Path("out/govkit.sarif").read_text())
    assert any(r["ruleId"] == "M-DRIFT" for r in sarif["runs"][0]["results"])
    suites = ET.parse("out/govkit.junit.xml").getroot()
    assert any("monitoring" in (s.get("name") or "").lower() for s in suites)
    assert "2026-05 income" in Path("out/govkit.md").read_text()


def test_report_latest_means_the_latest_gate_evaluation_not_a_monitoring_run(project: Path) -> None:
    from govkit.audit.log import AuditLog
    from govkit.audit.records import find_evaluation

    gate = run("check", "govkit.yaml", "--policy", "policies", "--format", "json", "-o", "gate.json")
    assert gate.exit_code == 0, gate.output
    assert run("profile", "create", "govkit.yaml").exit_code == 0
    _monitor()  # recorded after the gate run: the newest evaluation of the model is a monitoring run
    gate_digest = json.loads(Path("gate.json").read_text())["evaluation_digest"]
    with AuditLog(os.environ["GOVKIT_DB"], create=False) as log:
        _, latest_gate = find_evaluation(log, model="scorer")
        _, latest_monitor = find_evaluation(log, model="scorer", purpose="monitor")
    assert latest_gate["evaluation_digest"] == gate_digest
    assert latest_monitor["evaluation"]["options"]["purpose"] == "monitor"
