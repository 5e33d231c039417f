"""The policy gate end to end: `govkit check` as a CI job runs it, beside fairlearn on the same file.

govkit's time is the whole command in a fresh process (interpreter start, imports, reading the
CSV, counting every table, judging, writing nothing to the log), best of three. fairlearn's is
reading the same CSV with pandas plus one MetricFrame over the 40 intersectional groups with
selection rate, TPR, FPR and accuracy, in this process with its imports already paid.
Target (issue 14, speed of the gate): govkit end to end >= 20x faster than fairlearn's MetricFrame
on the same 1M-row file. Run `python benchmarks/gate.py [--rows 1000000]`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from fairness import FEATURES  # the same 40 intersectional groups as the in-process comparison

RULES = [
    {
        "id": "B-DPR",
        "title": "parity",
        "check": "fairness.demographic_parity_ratio",
        "severity": "high",
        "params": {"min": 0.8},
    },
    {
        "id": "B-EOD",
        "title": "odds",
        "check": "fairness.equalized_odds_difference",
        "severity": "high",
        "params": {"max": 0.1},
    },
]


def write_project(folder: Path, rows: int) -> Path:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({name: rng.choice(levels, rows) for name, levels in FEATURES.items()})
    frame["repaid"] = rng.integers(0, 2, rows)
    frame["approved"] = (rng.random(rows) < 0.4 + 0.2 * (frame["sex"] == "male")).astype(int)
    frame["income"] = rng.normal(50_000, 15_000, rows).round(2)
    frame.to_csv(folder / "eval.csv", index=False)
    manifest = {
        "apiVersion": "govkit/v1",
        "kind": "ModelManifest",
        "model": {
            "name": "gate",
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
                "path": "eval.csv",
                "license": "MIT",
                "label": "repaid",
                "prediction": "approved",
                "positive_label": 1,
                "features": ["income"],
            }
        },
        "sensitive_features": list(FEATURES),
    }
    (folder / "govkit.yaml").write_text(yaml.safe_dump(manifest))
    (folder / "policies").mkdir(exist_ok=True)
    (folder / "policies/gate.yaml").write_text(
        yaml.safe_dump({"apiVersion": "govkit/v1", "kind": "PolicySet", "name": "gate", "version": "1", "rules": RULES})
    )
    return folder / "govkit.yaml"


def timed_command(args: list[str], cwd: Path, repeat: int = 3) -> float:
    best = float("inf")
    env = {**os.environ, "CI": "true"}
    for _ in range(repeat):
        start = time.perf_counter()
        done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
        if done.returncode not in (0, 1):  # 1: the gate blocks, which this data is built to do
            raise SystemExit(f"{' '.join(args)} exited {done.returncode}: {done.stderr.strip()}")
        best = min(best, time.perf_counter() - start)
    return best


def fairlearn_run(csv: Path) -> tuple[float, float]:
    from fairlearn.metrics import MetricFrame, false_positive_rate, selection_rate, true_positive_rate
    from sklearn.metrics import accuracy_score

    start = time.perf_counter()
    frame = pd.read_csv(csv)
    read = time.perf_counter() - start
    start = time.perf_counter()
    MetricFrame(
        metrics={
            "selection_rate": selection_rate,
            "tpr": true_positive_rate,
            "fpr": false_positive_rate,
            "accuracy": accuracy_score,
        },
        y_true=frame["repaid"],
        y_pred=frame["approved"],
        sensitive_features=frame[list(FEATURES)],
    )
    return read, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        manifest = write_project(folder, args.rows)
        interpreter = timed_command([sys.executable, "-c", "pass"], folder)
        imports = timed_command([sys.executable, "-c", "import numpy, pandas"], folder)
        gate = timed_command(
            [sys.executable, "-m", "govkit", "check", str(manifest), "--policy", "policies", "--no-log", "-q"], folder
        )
        read, metric_frame = fairlearn_run(folder / "eval.csv")
    print(f"{'rows':>9} {'what':<46} {'seconds':>8} {'ratio':>8}")
    print(f"{args.rows:>9,} {'python -c pass':<46} {interpreter:>8.3f}")
    print(f"{args.rows:>9,} {'python -c import numpy, pandas':<46} {imports:>8.3f}")
    print(f"{args.rows:>9,} {'govkit check (whole process, best of 3)':<46} {gate:>8.3f} {'1.0x':>8}")
    print(
        f"{args.rows:>9,} {'fairlearn MetricFrame (40 groups, 4 metrics)':<46} {metric_frame:>8.3f} "
        f"{metric_frame / gate:>7.1f}x"
    )
    print(
        f"{args.rows:>9,} {'pandas read_csv + MetricFrame':<46} {read + metric_frame:>8.3f} "
        f"{(read + metric_frame) / gate:>7.1f}x"
    )
    print("target: MetricFrame / govkit check >= 20x")


if __name__ == "__main__":
    main()
