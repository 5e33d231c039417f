"""How long `govkit --help` takes, beside a bare interpreter start (the floor) in the same process.

Target (issue: policy gate foundation): under 0.5 s on this machine.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

RUNS = 15


def timed(argv: list[str], runs: int = RUNS, env: dict[str, str] | None = None) -> float:
    """Median wall time of the whole process over `runs` runs."""
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True, env=env)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    govkit = shutil.which("govkit") or str(Path(sys.executable).parent / "govkit")
    rows = [
        ("python -c pass (interpreter floor)", timed([sys.executable, "-c", "pass"])),
        ("python -c 'import click'", timed([sys.executable, "-c", "import click"])),
        ("govkit --help", timed([govkit, "--help"])),
        ("govkit check --help", timed([govkit, "check", "--help"])),
    ]
    floor = rows[0][1]
    print(f"{'command':<40} {'median s':>9} {'x floor':>8}   ({RUNS} runs each)")
    for name, seconds in rows:
        print(f"{name:<40} {seconds:>9.3f} {seconds / floor:>8.1f}")
    verdict = "OK" if rows[2][1] < 0.5 else "OVER TARGET"
    print(f"target: govkit --help < 0.5 s -> {verdict}")


if __name__ == "__main__":
    main()
