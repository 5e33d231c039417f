"""No text outside the printable area, for the demo and for adversarial input; no text silently dropped.

pdfplumber gives every glyph's box on every page. Every glyph must lie inside the page and between
the left and right page margins (the running headers and footers sit in the top and bottom margins,
inside those bounds). Every long token of the input must come out whole in the extracted text:
wrapped, never clipped.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pdfplumber
import pytest
from click.testing import CliRunner

from evaluations import _finding, sample_evaluation
from govkit.canonical import digest as canonical_digest
from govkit.report.render import ReportInputs, render_pdf
from govkit.report.rules import RulesInForce

MM = 72 / 25.4
SIDE_MARGIN = 16 * MM  # report.css: @page margin 22mm 16mm 20mm 16mm
TOLERANCE = 0.5  # points

# Each token is one unbroken string: a place where a naive layout runs off the page.
TOKENS = {
    "model": "credit-scorer-" + "x" * 180,
    "title": "Fairness" + "Supercalifragilistic" * 12,
    "subject": "申请人年龄段与收入组合的交叉群体" * 6,
    "emoji": "🦄🏦💳" * 25,
    "licence": "LicenseRef-" + "acme-internal-commercial-evaluation-only-" * 6,
    "group": "région-" + "Ångström" * 20,
    "feature": "feature_" + "très_long_nom_de_colonne_" * 8,
    "column": "contact_" + "identifier" * 20,
    "reason": "https://tickets.example.org/LEGAL/" + "9" * 150,
}


def _group(name: str, n: int, rate: float) -> dict[str, Any]:
    tp = round(rate * n * 0.6)
    fp = round(rate * n) - tp
    fn = round((1 - rate) * n * 0.3)
    return {
        "group": name,
        "key": {},
        "n": n,
        "small": n < 30,
        "tn": n - tp - fp - fn,
        "fp": fp,
        "fn": fn,
        "tp": tp,
        "selection_rate": rate,
        "selection_rate_ci": [max(rate - 0.05, 0), min(rate + 0.05, 1)],
        "tpr": 0.61,
        "tpr_ci": [0.55, 0.66],
        "fpr": 0.31,
        "fpr_ci": [0.25, 0.36],
        "accuracy": 0.7,
        "impact_ratio": rate / 0.9,
        "auc": 0.71,
    }


def adversarial_evaluation() -> dict[str, Any]:
    """200 intersectional groups, 50 features, long licence expressions, long names, CJK and emoji."""
    t = TOKENS
    many = [
        _group(f"{t['group']}-{i:03d}" if i == 7 else f"F-{i // 20} & A-{i % 20:02d}", 40 + i, 0.3 + i / 400)
        for i in range(200)
    ]
    few = [_group(f"{t['group']}", 500, 0.5), _group(t["subject"][:20], 25, 0.4), _group(t["emoji"][:12], 700, 0.6)]
    features = [f"{t['feature']}{i}" if i == 3 else f"feature_{i:02d}" for i in range(50)]
    fairness = {
        "rows": 90000,
        "label": "repaid",
        "prediction": "approved",
        "positive_label": "1",
        "overall": {"selection_rate": 0.5, "tpr": 0.6, "fpr": 0.3},
        "tables": [
            {"feature": t["subject"], "features": ["region"], "unknown_count": 3, "groups": few, "summary": {}},
            {
                "feature": "region & age_band & " + t["title"],
                "features": ["region", "age_band", "x"],
                "unknown_count": 0,
                "groups": many,
                "summary": {"min_group_size": 30, "demographic_parity_ratio": {"value": 0.41, "ci": [0.3, 0.5]}},
            },
        ],
    }
    explainability = {
        "model": {"class": t["model"], "loaded_with": "skops", "explainer": "tree"},
        "rows_explained": 100,
        "rows_requested": 100,
        "seconds": 1.0,
        "stability": {"kendall_tau": 0.9, "k": 5, "top_k_overlap": 1},
        "importance": [
            {"feature": f, "mean_abs_shap": 1 / (i + 1), "share": 1 / (i + 1) / 4.5} for i, f in enumerate(features)
        ],
        "cohorts": [
            {
                "feature": t["subject"],
                "groups": [{"group": g["group"], "n": g["n"], "shares": {f: 0.1 for f in features}} for g in few],
            }
        ],
    }
    licence_expr = " OR ".join([t["licence"], *(f"LicenseRef-vendor-{i}" for i in range(30))])
    components = [
        {
            "name": t["model"],
            "kind": "model",
            "declared": licence_expr,
            "expression": licence_expr,
            "licences": [{"id": t["licence"], "known": False, "traits": []}],
            "source": "manifest " + t["column"],
        }
    ]
    column = {
        "column": t["column"],
        "best": "email",
        "share": 0.9,
        "free_text_share": 0.0,
        "embedded": [],
        "scanned": 100,
        "examples": [t["emoji"][:30]],
        "types": {},
    }
    privacy = {"full_scan": True, "sample_size": 100, "datasets": {"training": {"declared": [], "columns": [column]}}}
    base = sample_evaluation()
    findings = (
        *base.findings,
        _finding(
            "GK-LIC-009",
            "license.model",
            "high",
            "fail",
            "model:" + t["model"],
            f"model: licence '{licence_expr}': unknown",
            blocking=True,
            measured=licence_expr,
            threshold={"deny_traits": [t["title"]], "unknown": "fail"},
        ),
        _finding(
            "GK-FAIR-009",
            "fairness.demographic_parity_ratio",
            "high",
            "fail",
            fairness["tables"][1]["feature"],
            "ratio " + t["reason"],
            blocking=True,
            measured=0.41,
            threshold={"min": 0.8, "method": "between_groups", "metric": "selection_rate"},
        ),
        _finding("GK-X-001", "privacy.no_undeclared_pii", "high", "warn", t["subject"] + t["emoji"], t["reason"] * 3),
    )
    ev = base.to_dict()
    ev.update(
        model={**ev["model"], "name": t["model"], "owner": t["reason"], "intended_use": t["subject"] * 3},
        team=t["emoji"][:9],
        findings=[{**f.to_dict(), "title": t["title"] if i % 2 else f.title} for i, f in enumerate(findings)],
        measurements={
            "license": {"components": components},
            "fairness": fairness,
            "explainability": explainability,
            "privacy": privacy,
            t["feature"]: {"note": t["reason"]},
        },
    )
    ev["policy"] = {**ev["policy"], "name": t["title"], "layers": [t["licence"], t["title"]]}
    ev["waivers"] = [{**w, "reason": w["reason"] + " " + t["reason"], "ticket": t["column"]} for w in ev["waivers"]]
    return ev


def glyphs_outside(pdf: bytes) -> list[str]:
    outside = []
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        for number, page in enumerate(doc.pages, 1):
            left, right = SIDE_MARGIN - TOLERANCE, page.width - SIDE_MARGIN + TOLERANCE
            for c in page.chars:
                if c["x0"] < left or c["x1"] > right or c["top"] < -TOLERANCE or c["bottom"] > page.height + TOLERANCE:
                    outside.append(f"page {number}: {c['text']!r} at x {c['x0']:.1f}-{c['x1']:.1f}, y {c['top']:.1f}")
    return outside


def all_text(pdf: bytes) -> str:
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        return "".join(c["text"] for page in doc.pages for c in page.chars if not c["text"].isspace())


def assert_inside(pdf: bytes) -> None:
    outside = glyphs_outside(pdf)
    assert not outside, f"{len(outside)} glyph(s) outside the printable area, e.g. {outside[:5]}"


@pytest.fixture(scope="module")
def adversarial_pdf() -> bytes:
    ev = adversarial_evaluation()
    return render_pdf(ReportInputs(evaluation=ev, digest=canonical_digest(ev), rules=RulesInForce()))


def test_adversarial_report_keeps_every_glyph_on_the_page(adversarial_pdf: bytes) -> None:
    assert_inside(adversarial_pdf)


@pytest.mark.parametrize("name", sorted(TOKENS))
def test_adversarial_tokens_come_out_whole(adversarial_pdf: bytes, name: str) -> None:
    """Wrapped anywhere, but every character of each long token is in the text (none clipped or hidden)."""
    assert TOKENS[name] in all_text(adversarial_pdf)


def test_the_body_shows_the_groups_that_matter_and_the_appendix_every_group() -> None:
    from govkit.report.render import render_html
    from govkit.report.sections.fairness import BODY_MAX_GROUPS

    ev = adversarial_evaluation()
    html = render_html(ReportInputs(evaluation=ev, digest=canonical_digest(ev), rules=RulesInForce()))
    body = html.split('id="fairness"', 1)[1].split("</section>", 1)[0]
    appendix = html.split('id="fairness-groups"', 1)[1].split("</section>", 1)[0]
    groups = ev["measurements"]["fairness"]["tables"][1]["groups"]
    judged = [g for g in groups if not g["small"]]
    lowest = min(judged, key=lambda g: g["selection_rate"])["group"]
    highest = max(judged, key=lambda g: g["selection_rate"])["group"]
    smallest = min(groups, key=lambda g: g["n"])["group"]
    big_table = body.split("<table", 4)[-1]  # the last table of the chapter: the 200-group one
    assert big_table.count("<tr") - 1 <= BODY_MAX_GROUPS
    for name in (lowest, highest, smallest):
        assert f"<td>{name}" in big_table
    assert f"of {len(groups)}" in body and 'href="#fairness-groups"' in body
    assert all(f"<td>{g['group']}" in appendix for g in groups)


def test_demo_report_keeps_every_glyph_on_the_page(demo_source: Path, tmp_path: Path) -> None:
    from govkit.cli import cli
    from govkit.demo.run import asset_root

    env = {"NO_COLOR": "1", "GOVKIT_DB": str(tmp_path / "g.db"), "GOVKIT_KEY": str(tmp_path / "k.pem")}
    checked = CliRunner(env=env).invoke(
        cli,
        ["check", str(demo_source / "govkit.yaml"), "--policy", str(asset_root() / "policies"), "--format", "json"],
        catch_exceptions=False,
    )
    ev = json.loads(checked.stdout)
    ev.pop("evaluation_digest", None)
    pdf = render_pdf(ReportInputs(evaluation=ev, digest=canonical_digest(ev)))
    assert_inside(pdf)
    text = all_text(pdf)
    for f in ev["findings"]:
        assert f["rule_id"] in text
