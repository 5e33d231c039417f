"""govkit cohort metrics beside fairlearn's MetricFrame, then the engines on data that outgrows memory.

Part 1: selection rate, TPR, FPR and accuracy for three sensitive features whose intersection has
40 groups (2 x 4 x 5), at 100k and 1M rows. Targets (issue: cohort fairness): >= 30x faster at 1M
rows, largest absolute difference <= 1e-9, 1,000 bootstrap resamples on 1M rows in < 2 s.

Part 2 (issue: scale past one machine): the whole fairness check (counts, AUC, scoring rate for all
7 tables) from Parquet parts. pandas and DuckDB side by side in this process on a 1M-row slice
(identical tables required); then, each in its own process so that its peak RSS is its own,
pandas / DuckDB / Spark local on 10M rows and pandas / DuckDB on 50M rows.
Run `python benchmarks/fairness.py --rows 50000000 --spark-rows 10000000` (the defaults).

Part 3 (issue: regression and multiclass): a regression's MAE, RMSE, mean prediction and R² for the
same 40 intersectional groups at 1M rows, govkit's sufficient statistics (counts and sums per group)
against fairlearn's MetricFrame; goal >= 50x, values equal to 1e-9 relative.
`--only regression` runs this part alone.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from fairlearn.metrics import MetricFrame, false_positive_rate, mean_prediction, selection_rate, true_positive_rate
from sklearn.metrics import accuracy_score, mean_absolute_error, r2_score, root_mean_squared_error

from govkit.checks.fairness.counts import count_table, encode, group_index
from govkit.checks.fairness.engines.pandas_engine import grouped_sums, regression_quantities
from govkit.checks.fairness.metrics import bootstrap_counts, rates, summaries
from govkit.checks.fairness.regression import regression_values

FEATURES = {
    "sex": ["female", "male"],
    "age_band": ["18-24", "25-39", "40-59", "60+"],
    "ethnicity": ["a", "b", "c", "d", "e"],
}


def data(n: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({name: rng.choice(levels, n) for name, levels in FEATURES.items()})
    y = rng.integers(0, 2, n)
    yhat = (rng.random(n) < 0.4 + 0.2 * (frame["sex"] == "male")).astype(int)
    return frame, y, yhat


def run_fairlearn(frame: pd.DataFrame, y: np.ndarray, yhat: np.ndarray) -> pd.DataFrame:
    mf = MetricFrame(
        metrics={
            "selection_rate": selection_rate,
            "tpr": true_positive_rate,
            "fpr": false_positive_rate,
            "accuracy": accuracy_score,
        },
        y_true=y,
        y_pred=yhat,
        sensitive_features=frame[list(FEATURES)],
    )
    return mf.by_group


def run_govkit(frame: pd.DataFrame, y: np.ndarray, yhat: np.ndarray) -> pd.DataFrame:
    table = count_table([encode(name, frame[name]) for name in FEATURES], y, yhat)
    r = rates(table.counts)
    return pd.DataFrame(
        {k: r[k] for k in ("selection_rate", "tpr", "fpr", "accuracy")},
        index=pd.MultiIndex.from_tuples(table.groups, names=list(FEATURES)),
    )


def best_of(fn, *args, repeat: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn(*args)
        best = min(best, time.perf_counter() - start)
    return best, out


def fairlearn_comparison() -> None:
    print(f"{'rows':>9} {'groups':>6} {'fairlearn s':>12} {'govkit s':>9} {'speed-up':>9} {'max |diff|':>11}")
    for n in (100_000, 1_000_000):
        frame, y, yhat = data(n)
        t_fl, fl = best_of(run_fairlearn, frame, y, yhat, repeat=1 if n > 100_000 else 3)
        t_gk, gk = best_of(run_govkit, frame, y, yhat, repeat=5)
        diff = float(np.nanmax(np.abs(fl.loc[gk.index].to_numpy() - gk.to_numpy())))  # type: ignore[union-attr]
        print(f"{n:>9,} {len(gk):>6} {t_fl:>12.3f} {t_gk:>9.4f} {t_fl / t_gk:>8.0f}x {diff:>11.1e}")
    frame, y, yhat = data(1_000_000)
    table = count_table([encode(name, frame[name]) for name in FEATURES], y, yhat)
    start = time.perf_counter()
    boot = bootstrap_counts(table.counts, 1000, seed=1)
    stats = summaries(boot, "between_groups")
    lo, hi = np.percentile(stats["demographic_parity_difference"], [2.5, 97.5])
    elapsed = time.perf_counter() - start
    start = time.perf_counter()
    count_table([encode(name, frame[name]) for name in FEATURES], y, yhat)
    counting = time.perf_counter() - start
    print(
        f"bootstrap: 1,000 resamples of 1,000,000 rows (40 groups) in {elapsed:.3f} s after a {counting:.3f} s "
        f"count pass; DPD 95% CI [{lo:.4f}, {hi:.4f}]"
    )


REGRESSION_METRICS = ("mae", "rmse", "mean_prediction", "r2")


def regression_data(n: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Credit limits around 5,000 with a prediction biased against one group."""
    frame, _, _ = data(n, seed)
    rng = np.random.default_rng(seed + 1)
    y = rng.normal(5000, 1500, n)
    p = y + rng.normal(0, 600, n) - 250 * (frame["sex"] == "female").to_numpy()
    return frame, y, p


def run_fairlearn_regression(frame: pd.DataFrame, y: np.ndarray, p: np.ndarray) -> pd.DataFrame:
    mf = MetricFrame(
        metrics={
            "mae": mean_absolute_error,
            "rmse": root_mean_squared_error,
            "mean_prediction": mean_prediction,
            "r2": r2_score,
        },
        y_true=y,
        y_pred=p,
        sensitive_features=frame[list(FEATURES)],
    )
    return mf.by_group


def run_govkit_regression(frame: pd.DataFrame, y: np.ndarray, p: np.ndarray) -> pd.DataFrame:
    """What the pandas engine does per table: group codes, one pass of sums per quantity, then arithmetic."""
    groups, codes = group_index([encode(name, frame[name]) for name in FEATURES])
    n, sums = grouped_sums(codes, len(groups), regression_quantities(y, p))
    values = regression_values(n, sums)
    return pd.DataFrame(
        {k: values[k] for k in REGRESSION_METRICS}, index=pd.MultiIndex.from_tuples(groups, names=list(FEATURES))
    )


def regression_comparison() -> None:
    print(f"{'rows':>9} {'groups':>6} {'fairlearn s':>12} {'govkit s':>9} {'speed-up':>9} {'max rel diff':>12}")
    for n in (100_000, 1_000_000):
        frame, y, p = regression_data(n)
        t_fl, fl = best_of(run_fairlearn_regression, frame, y, p, repeat=1 if n > 100_000 else 3)
        t_gk, gk = best_of(run_govkit_regression, frame, y, p, repeat=5)
        expected = fl.loc[gk.index, list(REGRESSION_METRICS)].to_numpy(dtype=float)  # type: ignore[union-attr]
        diff = float(np.max(np.abs(expected - gk.to_numpy()) / np.maximum(np.abs(expected), 1e-12)))
        print(f"{n:>9,} {len(gk):>6} {t_fl:>12.3f} {t_gk:>9.4f} {t_fl / t_gk:>8.0f}x {diff:>12.1e}")


PART_ROWS = 5_000_000
LEVELS = {
    "sex": ["female", "male"],
    "age_band": ["18-24", "25-39", "40-59", "60+"],
    "ethnicity": ["a", "b", "c", "d", "e"],
}
RULES = [
    {
        "id": "B-DPR",
        "title": "parity",
        "check": "fairness.demographic_parity_ratio",
        "severity": "high",
        "params": {"min": 0.8},
    },
    {
        "id": "B-AUC",
        "title": "auc",
        "check": "fairness.group_metric",
        "severity": "medium",
        "params": {"metric": "auc", "max_difference": 0.05},
    },
]


def write_parts(folder: Path, rows: int) -> None:
    """Parquet parts of 5M rows (dictionary-encoded groups, continuous scores), made once and kept."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    for i in range(-(-rows // PART_ROWS)):
        path = folder / f"part-{i:03d}.parquet"
        if path.exists():
            continue
        rng = np.random.default_rng(i)
        n = min(PART_ROWS, rows - i * PART_ROWS)
        groups = {
            k: pa.DictionaryArray.from_arrays(pa.array(rng.integers(0, len(v), n).astype(np.int8)), pa.array(v))
            for k, v in LEVELS.items()
        }
        score = np.clip(rng.random(n) + 0.05 * (groups["sex"].indices.to_numpy() == 1), 0, 1)
        table = pa.table(
            {
                "repaid": (rng.random(n) < 0.2 + 0.6 * score).astype(np.int8),
                "approved": (score > 0.5).astype(np.int8),
                "score": score,
                **groups,
            }
        )
        pq.write_table(table, path, row_group_size=1_000_000)


def write_project(folder: Path, data: str) -> Path:
    import yaml

    manifest = {
        "apiVersion": "govkit/v1",
        "kind": "ModelManifest",
        "model": {
            "name": "bench",
            "version": "1",
            "team": "bench",
            "owner": "bench@example.com",
            "risk_tier": "high",
            "task": "binary-classification",
            "license": "Apache-2.0",
            "intended_use": "benchmark",
        },
        "datasets": {
            "evaluation": {
                "path": data,
                "license": "MIT",
                "label": "repaid",
                "prediction": "approved",
                "score": "score",
                "positive_label": 1,
                "features": ["score"],
            }
        },
        "sensitive_features": list(LEVELS),
    }
    path = folder / f"govkit-{data.replace('/', '_').replace('*', 'all')}.yaml"
    path.write_text(yaml.safe_dump(manifest))
    (folder / "policies").mkdir(exist_ok=True)
    (folder / "policies/bench.yaml").write_text(
        yaml.safe_dump(
            {"apiVersion": "govkit/v1", "kind": "PolicySet", "name": "bench", "version": "1", "rules": RULES}
        )
    )
    return path


def check_once(manifest: Path, engine: str) -> dict[str, object]:
    """One fairness check; the tables' digest lets runs in other processes be compared exactly."""
    from govkit.api import run_check
    from govkit.canonical import digest

    start = time.perf_counter()
    evaluation = run_check(manifest, manifest.parent / "policies", engine=engine)
    seconds = time.perf_counter() - start
    measured = evaluation.measurements["fairness"]
    return {
        "engine": measured["engine"],
        "rows": measured["rows"],
        "seconds": seconds,
        "tables": digest(measured["tables"]),
        "verdict": evaluation.verdict,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def in_child(manifest: Path, engine: str, **env: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(manifest), engine],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **env},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def row(result: dict[str, object], reference: dict[str, object] | None, note: str = "") -> None:
    same = "-" if reference is None else ("yes" if result["tables"] == reference["tables"] else "NO")
    ratio = "" if reference is None else f"{float(result['seconds']) / float(reference['seconds']):.2f}x"  # type: ignore[arg-type]
    rss = result["peak_rss_mb"]
    shown = "-" if rss is None else f"{rss:,.0f}"
    print(
        f"{result['rows']:>12,} {result['engine']:>7} {result['seconds']:>9.1f} {shown:>12} "
        f"{ratio:>9} {same:>14}  {note}"
    )


def engines(rows: int, spark_rows: int, data_dir: Path) -> None:
    write_parts(data_dir / "parts", max(rows, spark_rows))
    import pyarrow.parquet as pq

    slice_path = data_dir / "slice-1m.parquet"
    if not slice_path.exists():
        pq.write_table(pq.read_table(data_dir / "parts/part-000.parquet").slice(0, 1_000_000), slice_path)
    print(
        f"\n{'rows':>12} {'engine':>7} {'seconds':>9} {'peak RSS MB':>12} {'vs pandas':>9} "
        f"{'same tables':>14}  (whole fairness check: 7 tables, AUC and scoring rate included)"
    )
    small = write_project(data_dir, slice_path.name)
    reference = check_once(small, "pandas")
    reference["peak_rss_mb"] = None  # shared process: see the per-process rows below
    row(reference, None, "in this process")
    duck = check_once(small, "duckdb")
    duck["peak_rss_mb"] = None
    row(duck, reference, "in this process")
    subset = data_dir / f"parts-{spark_rows}"  # the first parts, linked into a folder of their own
    subset.mkdir(exist_ok=True)
    for i in range(-(-spark_rows // PART_ROWS)):
        link = subset / f"part-{i:03d}.parquet"
        if not link.exists():
            link.symlink_to(data_dir / "parts" / link.name)
    ten = write_project(data_dir, subset.name)
    base = in_child(ten, "pandas")
    row(base, None, "own process")
    row(in_child(ten, "duckdb"), base, "own process")
    row(in_child(ten, "spark"), base, "own process, local[*] on 2 cores; RSS of Python only, not the JVM")
    everything = write_project(data_dir, "parts")
    whole = in_child(everything, "pandas")
    row(whole, None, "own process: the columns loaded whole")
    row(in_child(everything, "duckdb"), whole, "own process: streamed; DuckDB's default memory limit (80% of RAM)")
    row(
        in_child(everything, "duckdb", GOVKIT_DUCKDB_MEMORY="2GB"),
        whole,
        "own process: GOVKIT_DUCKDB_MEMORY=2GB, the sort spills",
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=50_000_000, help="rows for the big pandas / DuckDB runs")
    parser.add_argument("--spark-rows", type=int, default=10_000_000, help="rows for pandas / DuckDB / Spark")
    parser.add_argument("--data-dir", type=Path, default=Path(__file__).parent / ".data")
    parser.add_argument("--only", choices=["binary", "regression", "engines"], help="run one part")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(check_once(Path(args.child[0]), args.child[1])))
        return
    if args.only in (None, "binary"):
        fairlearn_comparison()
    if args.only in (None, "regression"):
        regression_comparison()
    if args.only in (None, "engines"):
        engines(args.rows, args.spark_rows, args.data_dir)


if __name__ == "__main__":
    main()
