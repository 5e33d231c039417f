"""Time to render reports, beside weasyprint alone on the same HTML, in one process.

Two reports: the demo (all checks, `govkit check` as team lending) and a synthetic evaluation whose
fairness table has 200 intersectional groups x 8 metrics (the report shows the groups that matter
in its body and all 200 in an appendix). Each is timed as `render_pdf` (template, layout, PDF/A-3b,
attachments) and as weasyprint alone turning the same HTML into a tagged PDF (the structure tree
costs the same either way); wall-clock and this
process's CPU time are both printed, since a shared machine stretches wall-clock time.
Targets (issue 21, speed): the 200-group report < 10 s, the demo report < 5 s, and govkit at most
1.3x weasyprint alone. Run `python benchmarks/report.py [--no-demo]`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from govkit.canonical import digest
from govkit.report.render import ReportInputs, render_pdf
from govkit.report.rules import RulesInForce

RUNS = 3


def groups_evaluation(groups: int = 200) -> dict[str, Any]:
    """A recorded-evaluation dict with one intersectional fairness table of `groups` groups."""
    rows = []
    for i in range(groups):
        n = 40 + 7 * i
        rate = 0.3 + (i % 50) / 120
        tp = round(rate * n * 0.6)
        fp = round(rate * n) - tp
        rows.append(
            {
                "group": f"region-{i // 20} & age-{i % 20:02d} & sex-{i % 2}",
                "key": {},
                "n": n,
                "small": False,
                "tn": n - tp - fp - 5,
                "fp": fp,
                "fn": 5,
                "tp": tp,
                "selection_rate": rate,
                "selection_rate_ci": [rate - 0.04, rate + 0.04],
                "tpr": 0.6,
                "tpr_ci": [0.55, 0.65],
                "fpr": 0.3,
                "fpr_ci": [0.25, 0.35],
                "accuracy": 0.7,
                "impact_ratio": rate / 0.71,
                "auc": 0.7,
            }
        )
    finding = {
        "rule_id": "B-DPR",
        "title": "Selection rates stay within four-fifths",
        "check": "fairness.demographic_parity_ratio",
        "area": "fairness",
        "severity": "high",
        "status": "fail",
        "message": "ratio below 0.8",
        "subject": "region & age & sex",
        "measured": min(r["selection_rate"] for r in rows) / max(r["selection_rate"] for r in rows),
        "threshold": {"min": 0.8, "method": "between_groups", "metric": "selection_rate"},
        "guideline": None,
        "waiver_id": None,
        "blocking": True,
        "fingerprint": "0" * 64,
        "location": None,
    }
    return {
        "schema_version": "1.0",
        "govkit_version": "bench",
        "created_at": "2026-12-01T12:00:00Z",
        "as_of": "2026-12-01",
        "model": {"name": "bench", "version": "1", "owner": "o", "risk_tier": "high", "task": "t", "intended_use": "u"},
        "team": "bench",
        "policy": {"name": "bench", "version": "1", "digest": "0" * 64, "layers": [], "sources": []},
        "inputs": {"files": {}},
        "options": {},
        "fail_on": "high",
        "verdict": "fail",
        "counts": {"fail": 1},
        "findings": [finding],
        "measurements": {
            "fairness": {
                "rows": sum(r["n"] for r in rows),
                "label": "y",
                "prediction": "p",
                "positive_label": "1",
                "overall": {"selection_rate": 0.5},
                "tables": [
                    {
                        "feature": "region & age & sex",
                        "features": ["region", "age", "sex"],
                        "unknown_count": 0,
                        "groups": rows,
                        "summary": {"min_group_size": 30},
                    }
                ],
            }
        },
        "waivers": [],
        "notices": [],
    }


def demo_evaluation() -> dict[str, Any]:
    from govkit.api import run_check
    from govkit.demo.data import build
    from govkit.demo.run import prepare

    folder = Path(tempfile.mkdtemp())
    os.environ.setdefault("GOVKIT_KEY", str(folder / "key.pem"))
    manifest, policies = prepare(folder)
    build(folder)
    evaluation = run_check(manifest, policies, team="lending")
    return dict(json.loads(json.dumps(evaluation.to_dict())))


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def measure(name: str, evaluation: dict[str, Any], target: float) -> None:
    from weasyprint import HTML

    from govkit.report.fetcher import AssetOnlyFetcher
    from govkit.report.render import _html
    from govkit.report.template import default_template_dir

    inputs = ReportInputs(evaluation=evaluation, digest=digest(evaluation), rules=RulesInForce())
    render_pdf(inputs)  # warm-up: fonts and imports are loaded once per process
    base = default_template_dir().as_uri() + "/"
    html = _html(inputs, inline=False)[0]
    ours, weasy = [], []
    for _ in range(RUNS):
        ours.append(timed(lambda: render_pdf(inputs)))
        weasy.append(
            timed(lambda: HTML(string=html, base_url=base, url_fetcher=AssetOnlyFetcher()).write_pdf(pdf_tags=True))
        )
    g_wall, g_cpu = (statistics.median(t[i] for t in ours) for i in (0, 1))
    w_wall, w_cpu = (statistics.median(t[i] for t in weasy) for i in (0, 1))
    print(f"{name:<40} {'wall s':>8} {'cpu s':>8}")
    print(f"{'  govkit render_pdf':<40} {g_wall:>8.2f} {g_cpu:>8.2f}")
    print(f"{'  weasyprint alone, same HTML, tagged':<40} {w_wall:>8.2f} {w_cpu:>8.2f}")
    verdict = "OK" if g_cpu < target else "MISSED"
    print(f"  ratio govkit / weasyprint (cpu): {g_cpu / w_cpu:.2f} (target <= 1.3); < {target:g} s cpu: {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-demo", action="store_true", help="only the 200-group report")
    args = parser.parse_args()
    measure("200 intersectional groups x 8 metrics", groups_evaluation(), 10)
    if not args.no_demo:
        measure("demo report (team lending)", demo_evaluation(), 5)


if __name__ == "__main__":
    main()
