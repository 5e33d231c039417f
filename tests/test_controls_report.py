"""Controls in the demo's own log, in the PDF report and in the manifest.

`govkit demo` records real evaluations of the tagged demo policies; the coverage matrix is
checked in every format against results recomputed here from the logged findings, the report's
"Regulatory coverage" chapter against `govkit controls coverage --format json`, and its Annex IV
appendix against the points of controls/eu-ai-act.yaml read with PyYAML.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result
from pypdf import PdfReader

from conftest import Project
from govkit.cli import cli
from govkit.demo.run import asset_root

ENV: dict[str, str] = {}
CITED = "eu-ai-act:annex-iv-1-h"
WORST = (("fail", {"fail", "error", "baselined"}), ("waived", {"waived"}), ("pass", {"pass", "warn"}))


def govkit(*args: str) -> Result:
    return CliRunner(env={"NO_COLOR": "1", "CI": "", **ENV}).invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    home = tmp_path_factory.mktemp("controls-demo")
    ENV.update(GOVKIT_KEY=str(home / "log.pem"), GOVKIT_DB=str(home / "demo" / "govkit.db"))
    built = govkit("demo", "--dir", str(home / "demo"))
    assert built.exit_code == 0, built.output
    db = home / "demo" / "govkit.db"
    gates = [
        (ev, digest)
        for ev, digest in logged_evaluations(db)
        if ev["team"] == "lending" and ev["model"]["name"] == "credit-scorer" and "purpose" not in ev["options"]
    ]
    assert [ev["model"]["version"] for ev, _ in gates] == ["2.1.0", "2.2.0"]  # the demo's remediated release last
    gate = gates[-1]  # the latest gate evaluation (what `controls coverage` shows), not the later monitoring run
    pdf = home / "report.pdf"
    rendered = govkit("report", gate[1], "--out", str(pdf))
    assert rendered.exit_code == 0, rendered.output
    return {"home": home, "db": db, "pdf": pdf, "evaluation": gate[0], "digest": gate[1]}


def logged_evaluations(db: Path) -> list[tuple[dict[str, Any], str]]:
    """The recorded evaluations and digests straight from the SQLite file, oldest first (no govkit code)."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "select p.body from entries e join payloads p on p.seq = e.seq "
            "where e.action = 'evaluation.recorded' order by e.seq"
        ).fetchall()
    return [(json.loads(r[0])["evaluation"], json.loads(r[0])["evaluation_digest"]) for r in rows]


def expected_results(evaluations: list[dict[str, Any]], rules: list[str]) -> str:
    """Worst result over the rules, each rule's statuses from the newest evaluation that judged it."""
    if not rules:
        return "not covered"
    statuses: set[str] = set()
    for rule in rules:
        judged = [ev for ev in evaluations if any(f["rule_id"] == rule for f in ev["findings"])]
        if judged:
            statuses |= {f["status"] for f in judged[-1]["findings"] if f["rule_id"] == rule}
    return next((name for name, members in WORST if statuses & members), "not evaluated")


def coverage(*extra: str) -> Result:
    policies = str(asset_root() / "policies")
    return govkit("controls", "coverage", "--policy", policies, "--team", "lending", *extra)


def test_demo_coverage_in_every_format(demo: dict[str, Any]) -> None:
    result = coverage("--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    everything = [ev for ev, _ in logged_evaluations(demo["db"]) if ev["team"] == "lending"]
    # the demo's lending team also owns the credit-limit regression model (its own policy)
    assert [m["name"] for m in doc["models"]] == sorted({ev["model"]["name"] for ev in everything})
    lending = [ev for ev in everything if ev["model"]["name"] == "credit-scorer"]
    gate = [ev for ev in lending if "purpose" not in ev["options"]]
    monitor = [ev for ev in lending if ev["options"].get("purpose") == "monitor"]
    assert gate and monitor  # the demo records both: the gate check and the monitoring run
    scorer = next(m for m in doc["models"] if m["name"] == "credit-scorer")
    assert scorer["created_at"] == gate[-1]["created_at"]
    assert scorer["monitoring_evaluation_digest"]
    rows = {r["control"]: r for r in doc["controls"]}
    cited = {ref for ev in lending for f in ev["findings"] for ref in f.get("controls", ())}
    assert "eu-ai-act:art-72-2" in cited and cited <= {ref for ref, r in rows.items() if r["rules"]}
    for ref, row in rows.items():
        assert row["results"]["credit-scorer"] == expected_results(lending, row["rules"]), ref
    results = {ref: r["results"]["credit-scorer"] for ref, r in rows.items()}
    assert {"fail", "pass", "not covered"} <= set(results.values())
    table = list(csv.reader(io.StringIO(coverage("--model", "credit-scorer", "--format", "csv").stdout)))
    assert table[0] == ["control", "title", "rules", f"credit-scorer@{gate[-1]['model']['version']}"]
    assert {r[0]: r[3] for r in table[1:]} == results
    markdown = coverage("--model", "credit-scorer", "--format", "markdown").stdout
    covered = sum(1 for r in rows.values() if r["rules"])
    assert f"{covered} of {len(rows)} controls covered by a rule" in markdown
    for ref, result_text in results.items():
        assert re.search(rf"^\| {re.escape(ref.replace('_', chr(92) + '_'))} \|.*\| {result_text} \|$", markdown, re.M)
    terminal = coverage("--format", "table").stdout
    assert "eu-ai-act:art-10-2-f" in terminal and "not covered" in terminal


def pdf_text(pdf: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(str(pdf)).pages)


def section(text: str, title: str, next_title: str) -> str:
    start = text.rindex(title)  # the chapter's heading, not its line in the contents
    return text[start : text.index(next_title, start + len(title))]


def test_report_coverage_chapter_equals_the_coverage_command(demo: dict[str, Any]) -> None:
    from govkit.report.rules import recover
    from govkit.review.coverage_view import coverage_context

    cli_doc = json.loads(coverage("--model", "credit-scorer", "--format", "json").stdout)
    assert cli_doc["models"][0]["evaluation_digest"] == demo["digest"]
    evaluation = demo["evaluation"]
    context = coverage_context(evaluation, demo["digest"], recover(evaluation))
    assert context["source"] == "policy"
    judged = {f["rule_id"] for f in evaluation["findings"]}
    shown = {r["control"]: (r["result"], [x["id"] for x in r["rules"]]) for r in context["rows"]}
    expected = {}
    for row in cli_doc["controls"]:
        if row["rules"]:  # a control only the monitoring run judges is "not evaluated" in the gate's report
            result = row["results"]["credit-scorer"] if set(row["rules"]) & judged else "not evaluated"
            expected[row["control"]] = (result, row["rules"])
    assert shown == expected
    text = pdf_text(demo["pdf"])
    chapter = "".join(section(text, "Regulatory coverage", "Not covered by any rule").split())
    for control, (result, rules) in expected.items():
        assert control in chapter and result.replace(" ", "") in chapter.lower(), control
        assert all(rule in chapter for rule in rules)
    for framework in cli_doc["frameworks"]:
        in_framework = [r for r in cli_doc["controls"] if r["control"].startswith(framework + ":")]
        assert f"{sum(1 for r in in_framework if r['rules'])} of {len(in_framework)}" in text


def test_annex_iv_appendix_lists_every_point(demo: dict[str, Any]) -> None:
    catalogue = yaml.safe_load((asset_root() / "controls" / "eu-ai-act.yaml").read_text())
    points = [c["id"] for c in catalogue["controls"] if c["id"].startswith("annex-iv-")]
    assert len(points) == 25
    text = pdf_text(demo["pdf"])
    appendix = section(text, "EU AI Act Annex IV technical documentation", "Policy provenance and inputs")
    flat = "".join(appendix.split())
    positions = [flat.index(point) for point in points]
    assert positions == sorted(positions)  # every point, in catalogue order
    assert "needs a document" in appendix.lower() and "AcopyoftheEUdeclarationofconformity" in flat
    # the demo manifest cites its instructions for use by digest: shown against point 1(h), not as a gap
    from govkit.demo.remediation import MANIFEST

    cited = yaml.safe_load((demo["home"] / "demo" / MANIFEST).read_text())["documents"][0]["path"]
    point = flat[flat.index("annex-iv-1-h") : flat.index("annex-iv-2")]
    assert f"Instructionsforuse:{cited}" in point and "needsadocument" not in point.lower()


def test_the_signed_copy_names_its_own_sign_off_in_annex_iv(demo: dict[str, Any]) -> None:
    """The first sign-off re-renders the report before signing and logs the signature after: point 2(e)
    of that copy used to say that no sign-off was recorded, on the very page being signed."""
    signed = demo["home"] / "demo" / "reports" / "credit-scorer-lending-signed1.pdf"
    appendix = section(pdf_text(signed), "EU AI Act Annex IV technical documentation", "Policy provenance and inputs")
    flat = " ".join(appendix.split())
    point = flat[flat.index("annex-iv-2-e") : flat.index("annex-iv-2-f")]
    assert "No sign-off recorded yet" not in point
    assert "Sign-off: approve-with-conditions by Carol Officer" in point and "signature on this document" in point
    unsigned = " ".join(section(pdf_text(demo["pdf"]), "EU AI Act Annex IV", "Policy provenance and inputs").split())
    assert "No sign-off recorded yet" not in unsigned[unsigned.index("annex-iv-2-e") : unsigned.index("annex-iv-2-f")]


def test_report_without_an_earlier_approval_has_no_change_chapter(demo: dict[str, Any]) -> None:
    first = demo["home"] / "demo" / "reports" / "credit-scorer-lending.pdf"  # 2.1.0's, rendered before any sign-off
    assert "Changed since the last approval" not in pdf_text(first)
    # 2.2.0's report comes after the officer's conditional approval of 2.1.0, and compares with it
    chapter = "".join(section(pdf_text(demo["pdf"]), "Changed since the last approval", "Licences").split())
    assert "Comparedwithversion2.1.0" in chapter and "approve-with-conditions" in chapter


def test_manifest_cites_documents_by_digest(project: Project) -> None:
    document = project.write("docs/instructions.md", "# Instructions for use\n")
    digest = hashlib.sha256(document.read_bytes()).hexdigest()

    def cite(sha: str) -> Any:
        def mutate(m: dict[str, Any]) -> None:
            m["documents"] = [
                {
                    "title": "Instructions",
                    "path": "docs/instructions.md",
                    "sha256": sha,
                    "controls": ["eu-ai-act:annex-iv-1-h"],
                }
            ]

        return mutate

    project.manifest(cite(digest))
    _, evaluation = project.check_json()
    recorded = evaluation["inputs"]["files"]["document:docs/instructions.md"]
    assert recorded == {
        "path": "docs/instructions.md",
        "sha256": digest,
        "title": "Instructions",
        "controls": ["eu-ai-act:annex-iv-1-h"],
    }
    from govkit.review.annex_iv import annex_iv

    points = {p["point"]: p for p in annex_iv(evaluation, evaluation["evaluation_digest"])}
    assert (
        points["annex-iv-1-h"]["status"] == "documented" and points["annex-iv-1-h"]["documents"][0]["sha256"] == digest
    )
    assert points["annex-iv-1-g"]["status"] == "needs a document"
    project.manifest(cite("0" * 64))
    changed = project.check("--no-log")
    assert changed.exit_code == 2 and "documents[0].sha256" in changed.stderr and "govkit.yaml" in changed.stderr
    document.unlink()
    project.manifest(cite(digest))
    missing = project.check("--no-log")
    assert missing.exit_code == 2 and "documents[0].path" in missing.stderr and "file not found" in missing.stderr


def test_manifest_document_outside_its_folder_is_refused(project: Project, tmp_path: Path) -> None:
    outside = tmp_path.parent / "elsewhere.txt"
    outside.write_text("x")
    sha = hashlib.sha256(b"x").hexdigest()
    project.manifest(lambda m: m.__setitem__("documents", [{"title": "t", "path": str(outside), "sha256": sha}]))
    refused = project.check("--no-log")
    assert refused.exit_code == 2 and "outside the manifest's folder" in refused.stderr
