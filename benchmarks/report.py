"""Time to render the demo report, beside weasyprint alone on the same HTML, in one process.

Targets (issue: compliance report): the demo report (all checks) in under 5 s, and at most
1.3x the time weasyprint alone takes to turn the same HTML into a PDF.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from govkit.api import run_check
from govkit.demo.data import build
from govkit.demo.run import prepare
from govkit.report.fetcher import ASSETS, AssetOnlyFetcher
from govkit.report.render import ReportInputs, render_html, render_pdf

RUNS = 3


def main() -> None:
    folder = Path(tempfile.mkdtemp())
    os.environ.setdefault("GOVKIT_KEY", str(folder / "key.pem"))
    manifest, policies = prepare(folder)
    build(folder)
    evaluation = run_check(manifest, policies, team="lending")
    inputs = ReportInputs(evaluation=json.loads(json.dumps(evaluation.to_dict())), digest=evaluation.digest)
    from weasyprint import HTML

    render_pdf(inputs)  # warm-up: fonts and imports are loaded once per process
    govkit_times, weasy_times = [], []
    for _ in range(RUNS):
        start = time.perf_counter()
        pdf = render_pdf(inputs)
        govkit_times.append(time.perf_counter() - start)
        html = render_html(inputs)
        start = time.perf_counter()
        HTML(string=html, base_url=ASSETS.as_uri() + "/", url_fetcher=AssetOnlyFetcher()).write_pdf()
        weasy_times.append(time.perf_counter() - start)
    g, w = statistics.median(govkit_times), statistics.median(weasy_times)
    print(f"{'what':<58} {'median s':>9}")
    print(f"{'govkit render_pdf (template + PDF/A-3b + attachments)':<58} {g:>9.3f}")
    print(f"{'weasyprint alone, same HTML, plain PDF':<58} {w:>9.3f}")
    print(
        f"ratio govkit / weasyprint: {g / w:.2f}  (target <= 1.3); demo report {len(pdf):,} bytes; "
        f"target < 5 s: {'OK' if g < 5 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
