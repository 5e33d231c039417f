"""Monitoring at scale: 1M reference rows against 10M production rows x 20 columns in 12 monthly windows.

Part 1 (govkit, end to end through the CLI, each step in its own process so peak RSS is its own):
`govkit profile create` on the 1M-row reference (Parquet), then `govkit monitor --engine duckdb`
on 10M production rows in 10 Parquet parts (12 numeric, 8 categorical columns, 12 months, a shift
in two columns from month 7). Goals (issue 16): < 60 s and < 4 GB peak RSS on 2 cores.

Part 2: Evidently's DataDriftPreset beside govkit at a size Evidently handles here: 100k reference
rows against one window of 100k rows, then against 12 such windows (a year of monthly runs against
one reference), best of `--repeat`. govkit's time is the whole measurement: profile the reference,
count the windows, every measure. Evidently 0.7.23 does not import under pandas 3 (it needs
`pandas.core.dtypes.common.infer_dtype_from_object`); `--evidently-python` runs it from another
environment (e.g. a venv with `pip install evidently "pandas<3"`) on the same rows via Parquet,
timing only the reports. Without it the comparison is with scipy's per-column calls on raw rows.

Run `python benchmarks/monitoring.py --evidently-python /path/to/evidently-venv/bin/python`
(defaults: --rows 10000000 --reference-rows 1000000 --evidently-rows 100000 --windows 12).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

NUMERIC = [f"n{i:02d}" for i in range(12)]
CATEGORICAL = [f"c{i}" for i in range(8)]
LEVELS = [3, 5, 8, 12, 20, 4, 6, 30]
SHIFT_FROM_MONTH = 7


def frame(n: int, seed: int, months: np.ndarray | None = None) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    shift = np.zeros(n) if months is None else (months >= SHIFT_FROM_MONTH).astype(float)
    data: dict[str, np.ndarray] = {}
    for i, name in enumerate(NUMERIC):
        values = rng.normal(100 * (i + 1), 10 * (i + 1), n)
        if i == 0:
            values = values + shift * 8  # 0.8 std from month 7
        data[name] = np.round(values, 3)
    for i, (name, k) in enumerate(zip(CATEGORICAL, LEVELS, strict=True)):
        p = np.arange(1, k + 1, dtype=float)[::-1]
        codes = rng.choice(k, n, p=p / p.sum())
        if i == 0:
            codes = np.where((shift > 0) & (rng.random(n) < 0.3), k - 1, codes)
        data[name] = pd.Categorical.from_codes(codes, [f"v{j}" for j in range(k)])  # Parquet dictionary strings
    return pd.DataFrame(data)


def write_data(root: Path, rows: int, ref_rows: int, parts: int = 10) -> None:
    (root / "prod").mkdir(parents=True, exist_ok=True)
    frame(ref_rows, 1).to_parquet(root / "reference.parquet", index=False)
    per = rows // parts
    for part in range(parts):
        rng = np.random.default_rng(100 + part)
        seconds = rng.integers(0, 365 * 86400, per)
        ts = np.datetime64("2026-01-01T00:00:00") + seconds.astype("timedelta64[s]")
        months = pd.DatetimeIndex(ts).month.to_numpy()
        f = frame(per, 200 + part, months)
        f.insert(0, "ts", ts)
        f.to_parquet(root / "prod" / f"part-{part:02d}.parquet", index=False)


MANIFEST = {
    "apiVersion": "govkit/v1",
    "kind": "ModelManifest",
    "model": {
        "name": "bench",
        "version": "1",
        "team": "t",
        "owner": "o",
        "risk_tier": "low",
        "task": "binary-classification",
        "license": "MIT",
        "intended_use": "benchmark",
    },
    "datasets": {"training": {"path": "reference.parquet", "license": "MIT"}},
    "monitoring": {
        "production": "prod",
        "timestamp": "ts",
        "window": "month",
        "reference": {"profile": "profile.json"},
        "min_rows": 1000,
    },
}
POLICY = {
    "apiVersion": "govkit/v1",
    "kind": "PolicySet",
    "name": "bench",
    "version": "1",
    "rules": [
        {"id": "B-1", "title": "feature drift", "check": "drift.feature", "severity": "high", "params": {}},
        {"id": "B-2", "title": "dataset drift", "check": "drift.dataset", "severity": "high", "params": {}},
        {"id": "B-3", "title": "data quality", "check": "monitoring.data_quality", "severity": "medium", "params": {}},
        {"id": "B-4", "title": "schema", "check": "monitoring.schema", "severity": "high", "params": {}},
    ],
}


def timed(cmd: list[str], cwd: Path) -> tuple[float, float, float]:
    """Wall time, the child's peak RSS (GB) and its CPU seconds, from a fresh `python -c` wrapper so only it
    is measured (on a shared machine CPU time says what wall time would be on an idle one)."""
    wrapper = (
        "import resource, subprocess, sys, time, json; t = time.perf_counter(); "
        "p = subprocess.run(sys.argv[1:]); "
        "u = resource.getrusage(resource.RUSAGE_CHILDREN); "
        "print(json.dumps([time.perf_counter() - t, u.ru_maxrss, p.returncode, u.ru_utime + u.ru_stime]))"
    )
    out = subprocess.run([sys.executable, "-c", wrapper, *cmd], cwd=cwd, capture_output=True, text=True, check=False)
    seconds, rss_kb, code, cpu = json.loads(out.stdout.strip().splitlines()[-1])
    if code not in (0, 1):
        raise SystemExit(f"{cmd} exited {code}: {out.stderr}")
    return seconds, rss_kb / 1e6, cpu


def part1(rows: int, ref_rows: int, root: Path) -> None:
    t = time.perf_counter()
    write_data(root, rows, ref_rows)
    print(f"data: {ref_rows:,} reference + {rows:,} production rows written in {time.perf_counter() - t:.1f} s")
    (root / "govkit.yaml").write_text(yaml.safe_dump(MANIFEST))
    (root / "policies").mkdir(exist_ok=True)
    (root / "policies" / "bench.yaml").write_text(yaml.safe_dump(POLICY))
    govkit = [sys.executable, "-m", "govkit"]
    s, rss, cpu = timed([*govkit, "profile", "create", "govkit.yaml", "--db", "bench.db"], root)
    print(
        f"govkit profile create ({ref_rows:,} rows): {s:.1f} s wall, {cpu:.1f} s CPU, peak RSS {rss:.2f} GB, "
        f"profile {(root / 'profile.json').stat().st_size / 1e6:.2f} MB"
    )
    s, rss, cpu = timed(
        [
            *govkit,
            "monitor",
            "govkit.yaml",
            "--policy",
            "policies",
            "--engine",
            "duckdb",
            "--db",
            "bench.db",
            "--format",
            "json",
            "-o",
            "monitor.json",
        ],
        root,
    )
    report = json.loads((root / "monitor.json").read_text())
    failed = sorted(
        {f["subject"].split()[-1] for f in report["findings"] if f["status"] == "fail" and f["rule_id"] == "B-1"}
    )
    windows = report["measurements"]["monitoring"]["windows"]
    print(
        f"govkit monitor --engine duckdb ({rows:,} rows, {len(windows)} windows, 20 columns): {s:.1f} s wall, "
        f"{cpu:.1f} s CPU, peak RSS {rss:.2f} GB; drifted columns: {', '.join(failed)}"
    )
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


def govkit_measure(reference: pd.DataFrame, windows: list[pd.DataFrame]) -> dict[tuple[int, str], float]:
    """Profile the reference once, count every window in one pass and compute every measure (pandas engine)."""
    from govkit.monitoring.measure import compare
    from govkit.monitoring.pandas_counts import count_frame
    from govkit.monitoring.profile import Reference, Roles, plan_from

    roles = Roles(
        features=tuple(reference.columns), cohorts=(), label=None, prediction=None, score=None, positive_label="1"
    )
    plan, described = plan_from(reference, roles)
    ref = Reference(data={"columns": described}, plan=plan, slices=count_frame(reference, plan), sha256=None)
    codes = np.repeat(np.arange(len(windows)), [len(w) for w in windows])
    cur = count_frame(pd.concat(windows, ignore_index=True), plan, (codes, [str(i) for i in range(len(windows))]))
    out = {}
    for i in range(len(windows)):
        for name in reference.columns:
            measures = compare(ref, 0, cur, i, name)
            assert measures is not None
            out[i, name] = measures["measures"]["wasserstein" if name in plan.numeric else "jensenshannon"]
    return out


def evidently_measure(reference: pd.DataFrame, windows: list[pd.DataFrame]) -> object:
    from evidently import Dataset, Report
    from evidently.presets import DataDriftPreset

    return [Report([DataDriftPreset()]).run(Dataset.from_pandas(w), Dataset.from_pandas(reference)) for w in windows]


def scipy_measure(reference: pd.DataFrame, windows: list[pd.DataFrame]) -> dict[tuple[int, str], float]:
    """What Evidently's default tests compute per column above 1,000 reference rows, on the raw rows:
    scipy's wasserstein_distance (numeric, normed by the reference std) and jensenshannon on value shares."""
    from scipy.spatial.distance import jensenshannon
    from scipy.stats import wasserstein_distance

    out = {}
    for i, current in enumerate(windows):
        for name in NUMERIC:
            ref = reference[name].to_numpy()
            out[i, name] = wasserstein_distance(ref, current[name].to_numpy()) / max(float(np.std(ref)), 0.001)
        for name in CATEGORICAL:
            keys = sorted(set(reference[name]) | set(current[name]))
            p = reference[name].value_counts().reindex(keys, fill_value=0).to_numpy()
            q = current[name].value_counts().reindex(keys, fill_value=0).to_numpy()
            out[i, name] = float(jensenshannon(p / p.sum(), q / q.sum(), base=2))
    return out


EVIDENTLY_SCRIPT = """
import json, sys, time
import pandas as pd
from evidently import Dataset, Report
from evidently.presets import DataDriftPreset
ref, repeat = pd.read_parquet(sys.argv[1]), int(sys.argv[2])
windows = [pd.read_parquet(p) for p in sys.argv[3:]]
Report([DataDriftPreset()]).run(Dataset.from_pandas(windows[0].head(2000)), Dataset.from_pandas(ref.head(2000)))
best = float("inf")
for _ in range(repeat):
    t = time.perf_counter()
    for w in windows:
        Report([DataDriftPreset()]).run(Dataset.from_pandas(w), Dataset.from_pandas(ref))
    best = min(best, time.perf_counter() - t)
import evidently
print(json.dumps([best, evidently.__version__, pd.__version__]))
"""


def evidently_elsewhere(python: str, reference: pd.DataFrame, windows: list[pd.DataFrame], repeat: int) -> float:
    """Evidently in its own environment (it does not import under pandas 3), on the same rows via Parquet."""
    with tempfile.TemporaryDirectory() as tmp:
        ref = Path(tmp) / "ref.parquet"
        reference.to_parquet(ref, index=False)
        paths = []
        for i, w in enumerate(windows):
            paths.append(Path(tmp) / f"w{i}.parquet")
            w.to_parquet(paths[-1], index=False)
        out = subprocess.run(
            [python, "-c", EVIDENTLY_SCRIPT, str(ref), str(repeat), *map(str, paths)],
            capture_output=True,
            text=True,
            check=True,
        )
    seconds, version, pandas_version = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"evidently {version} (pandas {pandas_version}, {python})")
    return float(seconds)


def part2(rows: int, n_windows: int, repeat: int, evidently_python: str | None) -> None:
    reference = frame(rows, 1)
    windows = [frame(rows, 2 + i, np.full(rows, i + 1)) for i in range(n_windows)]
    try:
        import evidently  # noqa: F401

        here = True
    except ImportError as exc:
        here = False
        if not evidently_python:
            print(f"evidently cannot run here ({exc}); comparing with scipy per-window calls on the raw rows instead")
    other = "evidently" if here or evidently_python else "scipy"
    govkit_measure(reference.head(2000), [w.head(2000) for w in windows[:1]])  # imports outside the timing
    timings = {}
    for name in ("govkit", other):
        if name == "evidently" and not here:
            assert evidently_python is not None
            timings[name] = evidently_elsewhere(evidently_python, reference, windows, repeat)
        else:
            fn = {"govkit": govkit_measure, "evidently": evidently_measure, "scipy": scipy_measure}[name]
            best = float("inf")
            for _ in range(repeat):
                t = time.perf_counter()
                fn(reference, windows)
                best = min(best, time.perf_counter() - t)
            timings[name] = best
        print(
            f"{name} drift, {rows:,} reference rows vs {n_windows} window(s) of {rows:,} rows x 20 columns: "
            f"{timings[name]:.2f} s"
        )
    print(f"ratio {other} / govkit: {timings[other] / timings['govkit']:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--reference-rows", type=int, default=1_000_000)
    parser.add_argument("--evidently-rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--windows", type=int, default=12, help="windows in the second comparison (one reference)")
    parser.add_argument("--skip-evidently", action="store_true")
    parser.add_argument("--skip-scale", action="store_true", help="only part 2")
    parser.add_argument("--evidently-python", help="a Python with evidently installed, when it cannot import here")
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}, python {sys.version.split()[0]}")
    if not args.skip_scale:
        with tempfile.TemporaryDirectory(prefix="govkit-bench-monitoring-") as tmp:
            part1(args.rows, args.reference_rows, Path(tmp))
    if not args.skip_evidently:
        for n_windows in (1, args.windows):
            part2(args.evidently_rows, n_windows, args.repeat, args.evidently_python)
    print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6:.2f} GB")


if __name__ == "__main__":
    main()
