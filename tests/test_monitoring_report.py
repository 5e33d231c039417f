"""The report's monitoring section: the demo's eight months, drift and cohort decay from month 5."""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from govkit.report.charts import FAILED_MARK, Series, line_chart
from govkit.report.render import ReportInputs, render_html

SHIFTED = ["2026-05", "2026-06", "2026-07", "2026-08"]
STEADY = ["2026-01", "2026-02", "2026-03", "2026-04"]


@pytest.fixture(scope="module")
def monitored(demo_source: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The demo's monitor run, recorded in a fresh log and rendered as PDF and HTML."""
    from govkit.audit.log import AuditLog
    from govkit.audit.records import find_evaluation
    from govkit.demo.monitoring import run_monitoring
    from govkit.demo.run import asset_root
    from govkit.engine import no_progress
    from govkit.report.workflow import render_report

    folder = tmp_path_factory.mktemp("monitored")
    shutil.copytree(demo_source, folder, dirs_exist_ok=True)
    with AuditLog(str(folder / "govkit.db"), key_path=folder / "log-key.pem") as log:
        verdict, digest = run_monitoring(
            folder / "govkit.yaml",
            asset_root() / "policies",
            log,
            echo=lambda *a, **k: None,
            color=False,
            progress=no_progress,
        )
        pdf, _ = render_report(log, digest=digest, model=None, out=folder / "monitoring.pdf", paper="a4")
        html, _ = render_report(log, digest=digest, model=None, out=folder / "monitoring.html", paper="a4", html=True)
        _, payload = find_evaluation(log, digest=digest)
    return {
        "verdict": verdict,
        "digest": digest,
        "pdf": pdf,
        "html": html.read_text(encoding="utf-8"),
        "evaluation": payload["evaluation"],
    }


def _section(html: str) -> str:
    start = html.index('id="monitoring"')
    return html[start : html.index("</section>", start)]


def _charts(html: str) -> dict[str, str]:
    """Each SVG of the monitoring section by its title."""
    return {m.group(1): m.group(0) for m in re.finditer(r'<svg[^>]*aria-label="([^"]*)".*?</svg>', _section(html))}


def test_the_pdf_lists_the_failed_windows(monitored: dict[str, Any]) -> None:
    assert monitored["verdict"] == "fail"
    text = subprocess.run(
        ["pdftotext", "-layout", str(monitored["pdf"]), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Post-market monitoring: the trend" in text
    assert "4 failed" in text
    for month in SHIFTED:
        assert re.search(rf"{month}\s+1500\s+1500\s+✗ FAILED\s+GK-MON-003, GK-MON-001", text), month
        assert f"{month}: income drifted: wasserstein" in text
    for month in STEADY:
        assert re.search(rf"{month}\s+1500\s+1500\s+PASSED", text), month
    assert "Drift per feature" in text and "Performance per window: accuracy" in text
    assert "Fairness per window" in text
    assert '"windows"' not in text  # the raw measurement is no longer dumped as "Other measurements"
    fonts = subprocess.run(
        ["pdffonts", str(monitored["pdf"])], capture_output=True, text=True, check=True
    ).stdout.splitlines()[2:]
    assert fonts and all(" yes yes yes " in f for f in fonts)  # PDF/A: the marks' glyphs are embedded too


def test_the_charts_mark_the_failed_windows_where_they_failed(monitored: dict[str, Any]) -> None:
    charts = _charts(monitored["html"])
    drift = charts["Drift per feature: wasserstein"]
    assert drift.count(FAILED_MARK) == 4  # months 5 to 8, under the axis
    assert "threshold 0.1" in drift and drift.count("<polyline") == 7  # one line per demo feature
    assert charts["accuracy per window by age_band"].count(FAILED_MARK) == 4
    assert charts["accuracy per window by sex"].count(FAILED_MARK) == 0  # the decay is the 18-24 cohort's
    assert any(t.startswith("equalized_odds_difference per window") for t in charts)
    section = _section(monitored["html"])
    income = re.search(r"<tr><td>income</td>.*?</tr>", section, re.S)
    assert income is not None
    assert income.group(0).count('class="num failed"') == 4


def test_the_values_are_the_measurement_s(monitored: dict[str, Any]) -> None:
    windows = monitored["evaluation"]["measurements"]["monitoring"]["windows"]
    section = _section(monitored["html"])
    for w in windows:
        assert f"{w['columns']['income']['measures']['wasserstein']:.3f}" in section
        cohort = next(c for c in w["cohorts"] if c["group"] == "18-24")
        assert f"{cohort['performance']['accuracy']:.3f}" in section


def test_user_strings_stay_text(monitored: dict[str, Any]) -> None:
    evaluation = copy.deepcopy(monitored["evaluation"])
    evaluation["model"]["name"] = "<script>alert(1)</script>"
    for w in evaluation["measurements"]["monitoring"]["windows"]:
        for c in w["cohorts"]:
            if c["group"] == "18-24":
                c["group"] = '<img src="x" onerror="alert(2)">'
    html = render_html(ReportInputs(evaluation=evaluation, digest=monitored["digest"]))
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;" in _section(html) or "&lt;script&gt;" in html
    assert "&lt;img src=" in _section(html)


def test_a_skipped_window_is_shown_as_skipped_with_its_reason(monitored: dict[str, Any]) -> None:
    evaluation = copy.deepcopy(monitored["evaluation"])
    window = evaluation["measurements"]["monitoring"]["windows"][2]
    window.update(rows=12, skipped="12 rows < min_rows 200", cohorts=[])
    del window["columns"], window["performance"]
    section = _section(render_html(ReportInputs(evaluation=evaluation, digest=monitored["digest"])))
    row = re.search(r"<tr><td>2026-03</td>.*?</tr>", section, re.S)
    assert row is not None and "skipped" in row.group(0) and "12 rows &lt; min_rows 200" in row.group(0)


def test_a_gate_evaluation_has_no_monitoring_section(monitored: dict[str, Any]) -> None:
    evaluation = copy.deepcopy(monitored["evaluation"])
    del evaluation["measurements"]["monitoring"]
    html = render_html(ReportInputs(evaluation=evaluation, digest=monitored["digest"]))
    assert 'id="monitoring"' not in html


def test_line_chart_breaks_at_missing_values_and_marks_failures() -> None:
    svg = line_chart(
        ["a", "b", "c", "d"],
        [Series("x", [0.1, None, 0.3, 0.4])],
        title="t",
        failed=[False, True, False, True],
        threshold=0.2,
        threshold_label="limit 0.2",
    )
    assert svg.count("<polyline") == 1  # a lone point before the gap, a line after it
    assert svg.count("<circle") == 4  # three points and the legend's marker
    assert svg.count(FAILED_MARK) == 2 and "limit 0.2" in svg
    assert svg == line_chart(
        ["a", "b", "c", "d"],
        [Series("x", [0.1, None, 0.3, 0.4])],
        title="t",
        failed=[False, True, False, True],
        threshold=0.2,
        threshold_label="limit 0.2",
    )
