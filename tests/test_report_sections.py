"""The report-section seam: chapters from sections, thresholds from the rules in force, plug-in chapters."""

from __future__ import annotations

import re
import sys
from html import unescape
from pathlib import Path
from typing import Any

import pytest

from evaluations import _finding, sample_evaluation
from govkit.canonical import digest as canonical_digest
from govkit.checks import registry
from govkit.checks.privacy.check import PiiParams
from govkit.policy.loader import load_policy
from govkit.report.render import ReportInputs, render_html
from govkit.report.rules import RulesInForce, from_policy, recover
from govkit.report.sections.registry import select

BASE = """\
apiVersion: govkit/v1
kind: PolicySet
name: base
version: 1.0.0
rules:
  - id: GK-PRIV-001
    title: No undeclared personal data
    check: privacy.no_undeclared_pii
    severity: high
"""
OVERLAY = """\
apiVersion: govkit/v1
kind: PolicyOverlay
name: lending
version: 1.0.0
extends: base
team: lending
overrides:
  GK-PRIV-001:
    params:
      min_match_rate: {rate}
"""


def _column(name: str, share: float) -> dict[str, Any]:
    return {
        "column": name,
        "best": "email",
        "share": share,
        "free_text_share": 0.0,
        "embedded": [],
        "scanned": 1000,
        "examples": ["a***@***.org"],
        "types": {"email": share},
    }


def privacy_evaluation(policy_dir: Path, rate: float) -> dict[str, Any]:
    """An evaluation judged against `policy_dir` for team lending, whose overlay sets min_match_rate."""
    (policy_dir / "teams").mkdir(parents=True, exist_ok=True)
    (policy_dir / "base.yaml").write_text(BASE)
    (policy_dir / "teams" / "lending.yaml").write_text(OVERLAY.format(rate=rate))
    policy = load_policy(policy_dir, team="lending")
    measurement = {
        "full_scan": False,
        "sample_size": 1000,
        "datasets": {"training": {"declared": [], "columns": [_column("contact_hint", 0.15), _column("notes", 0.3)]}},
    }
    ev = sample_evaluation(
        team="lending",
        measurements={"privacy": measurement},
        findings=(
            _finding("GK-PRIV-001", "privacy.no_undeclared_pii", "high", "fail", "dataset:training", "x", measured=1),
        ),
    ).to_dict()
    ev["policy"] = {**ev["policy"], "name": policy.name, "version": policy.version, "digest": policy.digest}
    ev["inputs"] = {**ev["inputs"], "policy_root": policy_dir.as_posix()}
    return ev


def personal_data_columns(html: str) -> list[str]:
    """The Column cells of the "Personal data found" table."""
    table = html.split("Personal data found", 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr><td>training</td><td>(.*?)</td>", table)
    return [unescape(r) for r in rows]


@pytest.mark.parametrize("rate", [0.1, 0.5])
def test_privacy_chapter_lists_what_the_overlay_in_force_flags(tmp_path: Path, rate: float) -> None:
    """The team overlay moves min_match_rate; the chapter lists exactly the columns that rule flags."""
    ev = privacy_evaluation(tmp_path / "policies", rate)
    expected = [
        c["column"] for c in ev["measurements"]["privacy"]["datasets"]["training"]["columns"] if c["share"] >= rate
    ]
    html = render_html(ReportInputs(evaluation=ev, digest=canonical_digest(ev)))
    assert personal_data_columns(html) == expected
    assert f"at least {rate * 100:.0f}% of its values" in html


def test_rules_are_recovered_only_when_the_digest_matches(tmp_path: Path) -> None:
    ev = privacy_evaluation(tmp_path / "policies", 0.1)
    rules = recover(ev)
    assert rules.confirmed and rules.params("privacy.no_undeclared_pii")[0].min_match_rate == 0.1
    (tmp_path / "policies" / "teams" / "lending.yaml").write_text(OVERLAY.format(rate=0.2))  # edited since
    changed = recover(ev)
    assert not changed.confirmed and "changed" in changed.why
    assert changed.params("privacy.no_undeclared_pii") == [PiiParams()]  # defaults, and the chapter says so
    html = render_html(ReportInputs(evaluation=ev, digest=canonical_digest(ev), rules=changed))
    assert "the rule's defaults" in html and personal_data_columns(html) == []


def test_table_of_contents_is_generated_from_the_sections() -> None:
    ev = sample_evaluation().to_dict()
    html = render_html(ReportInputs(evaluation=ev, digest=canonical_digest(ev), rules=RulesInForce()))
    toc = html.split('<nav class="toc">', 1)[1].split("</nav>", 1)[0]
    ids = re.findall(r'href="#([^"]+)"', toc)
    chapters = [s.id for s in select(ev)]
    assert ids[1 : 1 + len(chapters)] == chapters
    for sid in ids:
        assert f'id="{sid}"' in html  # every entry points at a chapter that exists
    # every area with findings has a chapter, and no finding is left out of the chapters
    areas = {f["area"] for f in ev["findings"]}
    assert {"licence", "privacy", "fairness", "explainability"} <= set(chapters) and areas <= {
        a for s in select(ev) for a in s.areas
    }


PLUGIN = """
from pathlib import Path
from typing import ClassVar
from govkit.checks.interface import Check, Measurement, Outcome, RuleParams
from govkit.report.sections.interface import ReportSection

class CardParams(RuleParams):
    min_words: int = 5

class CardSection(ReportSection):
    id = "modelcard"
    title = "Model card"
    order = 350
    template = "card.html.j2"
    template_dir = Path(__file__).parent / "templates"
    areas = frozenset({"modelcard"})

    def applies(self, evaluation):
        return "modelcard" in evaluation["measurements"]

    def context(self, evaluation, rules):
        (params,) = rules.params("modelcard.intended_use")
        return {"words": evaluation["measurements"]["modelcard"]["words"], "min_words": params.min_words}

class ModelCardCheck(Check):
    name = "modelcard"
    title = "Model card"
    rule_kinds: ClassVar = {"modelcard.intended_use": CardParams}

    def measure(self, ctx):
        return Measurement(self.name, {"words": 3})

    def judge(self, kind, params, measurement):
        return [Outcome("model", "fail", "too short", measured=3, threshold=params.min_words)]

    @classmethod
    def report_sections(cls):
        return (CardSection(),)
"""


@pytest.fixture
def card_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    site = tmp_path / "site"
    package = site / "acme_card"
    (package / "templates").mkdir(parents=True)
    (package / "__init__.py").write_text(PLUGIN)
    (package / "templates" / "card.html.j2").write_text(
        "<p class='card'>The intended use has {{ c.words }} words; the rule in force wants {{ c.min_words }}.</p>"
    )
    info = site / "acme_card-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-card\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[govkit.checks]\nmodelcard = acme_card:ModelCardCheck\n")
    monkeypatch.syspath_prepend(str(site))
    registry.available_checks.cache_clear()
    yield
    registry.available_checks.cache_clear()
    sys.modules.pop("acme_card", None)


def test_a_plugin_check_gets_its_own_chapter(card_plugin: None) -> None:
    from acme_card import CardParams  # type: ignore[import-not-found]

    from govkit.policy.loader import ResolvedRule
    from govkit.policy.schema import AppliesTo

    finding = _finding("ACME-CARD-001", "modelcard.intended_use", "medium", "fail", "model", "too short", measured=3)
    ev = sample_evaluation(
        measurements={"modelcard": {"words": 3}, "license": {"components": []}},
        findings=(*sample_evaluation().findings, finding),
    ).to_dict()
    rule = ResolvedRule(
        id="ACME-CARD-001",
        title="Intended use is described",
        check="modelcard.intended_use",
        params=CardParams(min_words=12).model_dump(),
        severity="medium",
        applies_to=AppliesTo(),
        guideline=None,
        description=None,
        locked=False,
        allow_relax=False,
        waivable=True,
        defined_in="base",
    )
    html = render_html(ReportInputs(evaluation=ev, digest=canonical_digest(ev), rules=from_policy([rule])))
    chapter = html.split('id="modelcard"', 1)[1].split("</section>", 1)[0]
    assert "<h2>Model card</h2>" in chapter
    assert "has 3 words; the rule in force wants 12." in chapter  # its template, with the parameter in force
    assert 'href="#modelcard"' in html.split("</nav>", 1)[0]  # in the contents
    assert 'id="area-modelcard"' not in html and 'id="measurements"' not in html  # no generic fallback as well


def test_a_check_without_a_section_still_gets_its_findings_and_evidence() -> None:
    finding = _finding("ACME-X-001", "acme.thing", "low", "warn", "model", "acme says hello")
    ev = sample_evaluation(
        measurements={"acme": {"answer": 42}, "license": {"components": []}},
        findings=(*sample_evaluation().findings, finding),
    ).to_dict()
    html = render_html(ReportInputs(evaluation=ev, digest=canonical_digest(ev), rules=RulesInForce()))
    chapter = html.split('id="area-acme"', 1)[1].split("</section>", 1)[0]
    assert "acme says hello" in chapter
    appendix = html.split('id="measurements"', 1)[1].split("</section>", 1)[0]
    assert "&#34;answer&#34;: 42" in appendix or "answer" in unescape(appendix)


def test_extra_sections_from_the_caller_slot_into_the_summary() -> None:
    """The seam the "change since the last approval" chapter uses: a caller-supplied section with a
    summary partial shows on the executive summary page."""
    from govkit.report.sections.interface import ReportSection

    class Changes(ReportSection):
        id = "changes"
        title = "Change since the last approval"
        order = 50
        template = "sections/findings.html.j2"
        summary_template = "sections/findings.html.j2"

        def applies(self, evaluation: Any) -> bool:
            return True

        def context(self, evaluation: Any, rules: RulesInForce) -> dict[str, Any]:
            return {"findings": [{**evaluation["findings"][0], "sentence": "Verdict unchanged since 2.0.0."}]}

    ev = sample_evaluation().to_dict()
    html = render_html(
        ReportInputs(evaluation=ev, digest=canonical_digest(ev), rules=RulesInForce(), sections=(Changes(),))
    )
    summary = html.split('id="summary"', 1)[1].split("</section>", 1)[0]
    assert "Verdict unchanged since 2.0.0." in summary
    assert "No earlier approved evaluation" not in summary
    assert html.index('id="changes"') < html.index('id="licence"')  # order 50 comes first


def test_duplicate_section_ids_are_refused() -> None:
    from govkit.errors import GovkitError
    from govkit.report.sections.licence import LicenceSection

    ev = sample_evaluation().to_dict()
    with pytest.raises(GovkitError, match="two report sections have the id 'licence'"):
        select(ev, [LicenceSection()])


def test_finding_sentences_state_result_and_requirement() -> None:
    from govkit.checks.fairness.check import FairnessCheck, MinParams
    from govkit.checks.interface import Measurement
    from govkit.formats.sentences import finding_sentence

    groups = [
        {"group": g, "n": n, "small": False, "selection_rate": r, "tn": 0, "fp": 0, "fn": 0, "tp": 0}
        for g, n, r in (("18-24", 400, 0.39), ("25-39", 900, 0.55), ("60+", 500, 0.6))
    ]
    for g in groups:  # confusion cells that give the selection rate, so the rule's significance test runs
        g["tp"] = round(g["selection_rate"] * g["n"])
        g["tn"] = g["n"] - g["tp"]
    table = {"feature": "age_band", "features": ["age_band"], "groups": groups}
    data = {"tables": [table], "overall": {"selection_rate": 0.52}}
    (outcome,) = FairnessCheck().judge(
        "fairness.demographic_parity_ratio", MinParams(min=0.8), Measurement("fairness", data)
    )
    finding = {
        "check": "fairness.demographic_parity_ratio",
        "status": outcome.status,
        "subject": outcome.subject,
        "measured": outcome.measured,
        "threshold": outcome.threshold,
        "message": outcome.message,
    }
    sentence = finding_sentence(finding, {"fairness": data})
    ratio = 0.39 / 0.6
    assert sentence == (
        f"Selection rate for age_band 18-24 (39%) is {ratio:.0%} of the highest group's rate (60+, 60%); "
        "policy requires at least 80%."
    )
    errored = {**finding, "status": "error", "message": "could not read data.csv"}
    assert finding_sentence(errored, {"fairness": data}) == "could not read data.csv"
