"""CI outputs: SARIF against the OASIS schema, JUnit through junitparser, Markdown, GitHub annotations
(rendered from the hand-built sample evaluation where only the format is under test), and on the demo
(with waivers) what needs a real run: locations in the manifest, fingerprints, gate controls, baselines."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from click.testing import CliRunner, Result
from junitparser import Error, Failure, JUnitXml, Skipped

from govkit.cli import cli
from govkit.evaluation import AREA_TITLES, Evaluation
from govkit.formats.github import GithubFormatter, _data, _prop
from govkit.formats.junit import JunitFormatter
from govkit.formats.markdown import MarkdownFormatter
from govkit.formats.sarif import SarifFormatter

SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text())


@pytest.fixture
def demo(demo_source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the demo, with the working directory set to it (as in a CI checkout)."""
    folder = tmp_path / "repo"
    shutil.copytree(demo_source, folder)  # the demo folder carries its policies (`govkit demo` copies them)
    monkeypatch.chdir(folder)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("CI", raising=False)
    return folder


def run(*args: str) -> Result:
    return CliRunner().invoke(
        cli, ["check", "govkit.yaml", "--policy", "policies", "--no-log", *args], catch_exceptions=False
    )


def evaluation(*args: str) -> dict[str, Any]:
    result = run("--format", "json", *args)
    return json.loads(result.stdout)


def test_all_formats_in_one_run(demo: Path) -> None:
    result = run(
        "--format",
        "sarif",
        "--output",
        "out/govkit.sarif",
        "--format",
        "junit",
        "-o",
        "out/govkit.xml",
        "--format",
        "markdown",
        "--format",
        "json",
        "--output-dir",
        "more",
    )
    assert result.exit_code == 1
    assert {p.name for p in (demo / "out").iterdir()} == {"govkit.sarif", "govkit.xml"}
    assert {p.name for p in (demo / "more").iterdir()} == {"govkit.md", "govkit.json"}
    assert "govkit: FAIL credit-scorer 2.1.0" in result.stdout


def test_sarif_is_valid_and_complete(demo: Path) -> None:
    run("--format", "sarif", "-o", "govkit.sarif")
    sarif = json.loads((demo / "govkit.sarif").read_text())
    jsonschema.Draft4Validator(SCHEMA).validate(sarif)
    data = evaluation()
    (run_,) = sarif["runs"]
    rules = {r["id"]: r for r in run_["tool"]["driver"]["rules"]}
    assert set(rules) == {f["rule_id"] for f in data["findings"]}  # every rule evaluated, passing ones too
    for rule in rules.values():
        assert rule["helpUri"].startswith("https://")
        assert rule["shortDescription"]["text"]
        assert float(rule["properties"]["security-severity"]) >= 0
        assert rule["properties"]["tags"]
    results = run_["results"]
    open_statuses = {"fail", "warn", "error", "waived", "baselined"}
    assert len(results) == sum(1 for f in data["findings"] if f["status"] in open_statuses)
    waived = [r for r in results if "suppressions" in r]
    assert len(waived) == data["counts"]["waived"] == sum(w["status"] == "used" for w in data["waivers"]) > 0
    for r in waived:
        (s,) = r["suppressions"]
        assert s["kind"] == "external" and "ticket" in s["justification"]
    for r in results:
        loc = r["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uri"] == "govkit.yaml"  # relative to the repository root
        assert loc["region"]["startLine"] >= 1
    licence = next(r for r in results if r["ruleId"] == "GK-LIC-002" and r["level"] == "error")
    lines = (demo / "govkit.yaml").read_text().splitlines()
    assert "license: CC-BY-NC-4.0" in lines[licence["locations"][0]["physicalLocation"]["region"]["startLine"] - 1]


def test_sarif_of_every_status_is_valid(sample_evaluation: Evaluation) -> None:
    sarif = json.loads(SarifFormatter().render(sample_evaluation))
    jsonschema.Draft4Validator(SCHEMA).validate(sarif)
    results = sarif["runs"][0]["results"]
    statuses = [f.status for f in sample_evaluation.findings]
    assert sorted(r["properties"]["status"] for r in results) == sorted(
        s for s in statuses if s in ("fail", "warn", "error", "waived", "baselined")
    )
    assert [r["ruleId"] for r in results if "suppressions" in r] == ["GK-LIC-002"]
    assert [r["ruleId"] for r in results if r.get("baselineState") == "unchanged"] == ["GK-FAIR-002"]
    texts = [r["message"]["text"] for r in results]
    assert any("red" in t for t in texts) and not any("\x1b" in t for t in texts)  # escapes shown, not obeyed


def sarif_locations(sarif: dict[str, Any]) -> list[dict[str, Any]]:
    """Every artifact location, checked the way SARIF1004 does: a uriBaseId only on a relative
    reference, and every base id declared as an absolute file URI ending in a slash."""
    jsonschema.Draft4Validator(SCHEMA).validate(sarif)
    (run_,) = sarif["runs"]
    bases = run_.get("originalUriBaseIds", {})
    for base in bases.values():
        assert base["uri"].startswith("file:///") and base["uri"].endswith("/")
    found = [r["locations"][0]["physicalLocation"]["artifactLocation"] for r in run_["results"] if "locations" in r]
    assert found
    for loc in found:
        if "uriBaseId" in loc:
            assert loc["uriBaseId"] in bases and not loc["uri"].startswith(("/", "file:")), loc
        else:
            assert loc["uri"].startswith("file:///"), loc
    return found


def test_sarif_paths_when_the_manifest_is_outside_the_working_directory(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    args = ["check", str(demo / "govkit.yaml"), "--policy", str(demo / "policies"), "--no-log", "--format", "sarif"]
    found = sarif_locations(json.loads(CliRunner().invoke(cli, args).stdout))
    assert {loc["uri"] for loc in found} >= {(demo / "govkit.yaml").as_uri()}  # absolute, no base id


def test_sarif_paths_are_relative_to_the_repository_root(demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess

    subprocess.run(["git", "init", "-q", str(demo)], check=True)
    (demo / "ci").mkdir()
    monkeypatch.chdir(demo / "ci")  # a job that runs in a sub-folder of the checkout
    args = ["check", "../govkit.yaml", "--policy", "../policies", "--no-log", "--format", "sarif"]
    sarif = json.loads(CliRunner().invoke(cli, args).stdout)
    found = sarif_locations(sarif)
    assert {loc["uri"] for loc in found} == {"govkit.yaml"}
    assert sarif["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"] == demo.resolve().as_uri() + "/"


def test_sarif_fingerprints_are_stable(demo: Path) -> None:
    run("--format", "sarif", "-o", "a.sarif")
    run("--format", "sarif", "-o", "b.sarif", "--fail-on", "critical")
    fps = [
        sorted(r["partialFingerprints"]["govkitFinding/v1"] for r in json.loads(p.read_text())["runs"][0]["results"])
        for p in (demo / "a.sarif", demo / "b.sarif")
    ]
    assert fps[0] == fps[1] and len(set(fps[0])) == len(fps[0])


def test_junit_counts_read_by_junitparser(sample_evaluation: Evaluation, tmp_path: Path) -> None:
    (tmp_path / "govkit.xml").write_text(JunitFormatter().render(sample_evaluation), encoding="utf-8")
    data = sample_evaluation.to_dict()
    xml = JUnitXml.fromfile(str(tmp_path / "govkit.xml"))
    cases = [case for suite in xml for case in suite]
    assert len(cases) == len(data["findings"])
    kinds = {"failure": 0, "skipped": 0, "error": 0}
    for case in cases:
        for res in case.result:
            kinds[
                "failure"
                if isinstance(res, Failure)
                else "error"
                if isinstance(res, Error)
                else "skipped"
                if isinstance(res, Skipped)
                else "other"
            ] += 1
    counts = data["counts"]
    assert kinds["failure"] == counts["fail"] > 0
    assert kinds["skipped"] == counts["waived"] + counts["skipped"] + counts["baselined"]
    assert kinds["error"] == counts["error"]
    suites = {suite.name for suite in xml}
    assert suites == {AREA_TITLES[f["area"]] for f in data["findings"]}
    waived = [
        case
        for case in cases
        for res in case.result
        if isinstance(res, Skipped) and "WVR-2026-021" in (res.message or "")
    ]
    assert waived and "2027-04-01" in waived[0].result[0].message


def test_markdown_summary_is_plain(sample_evaluation: Evaluation) -> None:
    md = MarkdownFormatter().render(sample_evaluation)
    assert md.startswith("### govkit: FAIL - credit-scorer 2.1.0 (team lending)")
    assert "#### Failing rules" in md and "| FAIL (blocking) | critical | GK-LIC-002 |" in md
    assert "#### Waived" in md and "WVR-2026-021" in md and "LEGAL-1302" in md
    assert "http" not in md and "](" not in md  # link-free
    assert "WVR-2026-014 (GK-LIC-002): expired" in md
    assert "<img" not in md and not any(line.startswith("### Forged") for line in md.splitlines())


def test_github_annotations(sample_evaluation: Evaluation) -> None:
    out = GithubFormatter().render(sample_evaluation).splitlines()
    errors = [line for line in out if line.startswith("::error ")]
    assert errors and all("file=govkit.yaml,line=" in line for line in errors)
    assert any("title=GK-LIC-002 Training and evaluation data may be used commercially" in line for line in errors)
    assert out[-1] == "govkit: FAIL credit-scorer 2.1.0"
    attention = sum(f.status in ("fail", "error", "warn") for f in sample_evaluation.findings)
    assert len(out) == attention + sum(w.expiring_soon for w in sample_evaluation.waivers) + 1  # nothing forged
    assert all(line.startswith(("::error ", "::warning ", "::notice ", "govkit: ")) for line in out)

    assert _data("50% done\nnext") == "50%25 done%0Anext"
    assert _prop("a:b,c") == "a%3Ab%2Cc"


def test_gate_controls(demo: Path) -> None:
    assert run().exit_code == 1
    assert run("--soft-fail").exit_code == 0
    # research: nothing blocks, but fairness fails below --fail-on and a rule warns
    assert run("--team", "research").exit_code == 0
    assert run("--team", "research", "--warn-exit-code", "3").exit_code == 3


def test_baseline_adopts_known_findings_and_still_catches_new_ones(demo: Path) -> None:
    runner = CliRunner()
    created = runner.invoke(cli, ["baseline", "create", "govkit.yaml", "--policy", "policies", "-o", "bl.json"])
    assert created.exit_code == 0, created.output
    entries = json.loads((demo / "bl.json").read_text())["findings"]
    assert entries and all("measured" not in e for e in entries)  # never the value
    ok = run("--baseline", "bl.json", "--format", "json")
    data = json.loads(ok.stdout)
    assert ok.exit_code == 0, [f for f in data["findings"] if f["blocking"]]
    assert data["counts"]["baselined"] == len(entries) and data["counts"]["fail"] == 0
    # a new violation: the model itself becomes non-commercial
    manifest = yaml.safe_load((demo / "govkit.yaml").read_text())
    manifest["model"]["license"] = "cc-by-nc-4.0"
    (demo / "govkit.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    new = run("--baseline", "bl.json", "--format", "json")
    assert new.exit_code == 1
    blocking = [f for f in json.loads(new.stdout)["findings"] if f["blocking"]]
    assert [f["rule_id"] for f in blocking] == ["GK-LIC-001"]
    # fix the training data licence: prune drops what no longer fails; update adds the new one
    manifest["datasets"]["training"]["license"] = "CC-BY-4.0"
    (demo / "govkit.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    pruned = runner.invoke(cli, ["baseline", "prune", "govkit.yaml", "--policy", "policies", "-o", "bl.json"])
    assert "1 pruned" in pruned.stdout
    updated = runner.invoke(cli, ["baseline", "update", "govkit.yaml", "--policy", "policies", "-o", "bl.json"])
    assert "1 added" in updated.stdout
    assert run("--baseline", "bl.json").exit_code == 0
    again = runner.invoke(cli, ["baseline", "create", "govkit.yaml", "--policy", "policies", "-o", "bl.json"])
    assert again.exit_code == 2 and "already exists" in again.stderr


def test_stale_baseline_is_noticed(demo: Path) -> None:
    CliRunner().invoke(cli, ["baseline", "create", "govkit.yaml", "--policy", "policies", "-o", "bl.json"])
    data = evaluation("--team", "research", "--baseline", "bl.json")
    assert any("no longer fail" in n for n in data["notices"])


def test_bad_baseline_file_is_exit_2(demo: Path) -> None:
    (demo / "bl.json").write_text("{not json")
    result = run("--baseline", "bl.json")
    assert result.exit_code == 2 and "bl.json" in result.stderr
