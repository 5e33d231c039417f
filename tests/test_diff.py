"""`govkit diff` and the last-approved lookup, on two real evaluations of the demo model.

Version 2.1.0 is checked, rendered and approved; then the evaluation data change (400 declined
women approved) and the base policy gets a new version, and 2.2.0 is checked. The significance
of each cohort-rate change is recomputed here with statsmodels / scipy, not with govkit's code.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from scipy.stats import fisher_exact
from statsmodels.stats.proportion import proportions_ztest

from govkit.cli import cli
from govkit.demo.run import asset_root

ENV: dict[str, str] = {}
FLIPPED = 400


def govkit(*args: str) -> Result:
    return CliRunner(env={"NO_COLOR": "1", "CI": "", **ENV}).invoke(cli, list(args), catch_exceptions=False)


def check(manifest: Path, policies: Path) -> dict[str, Any]:
    result = govkit("check", str(manifest), "--policy", str(policies), "--format", "json")
    assert result.exit_code in (0, 1), result.output
    evaluation: dict[str, Any] = json.loads(result.stdout)
    return evaluation


def flip_declined_women(path: Path, count: int) -> None:
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    flipped = 0
    for row in rows:
        if flipped < count and row["sex"] == "female" and row["approved"] == "0":
            row["approved"], flipped = "1", flipped + 1
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture(scope="module")
def two(demo_source: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    home = tmp_path_factory.mktemp("diff")
    ENV.update(GOVKIT_DB=str(home / "govkit.db"), GOVKIT_KEY=str(home / "log.pem"))
    model = home / "model"
    shutil.copytree(demo_source, model)
    policies = home / "policies"
    shutil.copytree(asset_root() / "policies", policies)
    manifest = model / "govkit.yaml"
    first = check(manifest, policies)
    rendered = govkit("report", "--latest", "credit-scorer", "--out", str(home / "r.pdf"))
    assert rendered.exit_code == 0, rendered.output
    govkit("keys", "signer-cert", "--name", "Carol Officer", "--email", "carol@example.org", "--out", str(home))
    signed = govkit(
        "signoff",
        str(home / "r.pdf"),
        "--signer",
        "Carol Officer <carol@example.org>",
        "--role",
        "Compliance Officer",
        "--decision",
        "approve",
        "--key",
        str(home / "carol-officer.key.pem"),
        "--cert",
        str(home / "carol-officer.cert.pem"),
    )
    assert signed.exit_code == 0, signed.output
    flip_declined_women(model / "data" / "eval.csv", FLIPPED)
    manifest.write_text(manifest.read_text().replace("version: 2.1.0", "version: 2.2.0"))
    base = policies / "org-baseline.yaml"
    base.write_text(base.read_text().replace("version: 1.0.0", "version: 1.1.0", 1))
    second = check(manifest, policies)
    return {"home": home, "first": first, "second": second, "policies": policies}


def digest_of(evaluation: dict[str, Any]) -> str:
    return str(evaluation["evaluation_digest"])  # as `check --format json` prints it


def group(evaluation: dict[str, Any], feature: str, label: str) -> dict[str, Any]:
    tables = {t["feature"]: t for t in evaluation["measurements"]["fairness"]["tables"]}
    found: dict[str, Any] = next(g for g in tables[feature]["groups"] if g["group"] == label)
    return found


def reference_p(k1: int, n1: int, k2: int, n2: int) -> float:
    """The documented test, computed with statsmodels (pooled z) or scipy (Fisher) instead of govkit."""
    pooled = (k1 + k2) / (n1 + n2)
    if min(n1 * pooled, n1 * (1 - pooled), n2 * pooled, n2 * (1 - pooled)) < 5:
        return float(fisher_exact([[k1, n1 - k1], [k2, n2 - k2]])[1])
    _, p = proportions_ztest([k1, k2], [n1, n2])
    return float(p)


def test_diff_json_reports_data_policy_and_cohort_changes(two: dict[str, Any]) -> None:
    a, b = digest_of(two["first"]), digest_of(two["second"])
    result = govkit("diff", a[:10], b[:10], "--format", "json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["before"]["digest"] == a and out["after"]["digest"] == b
    assert out["before"]["version"] == "2.1.0" and out["after"]["version"] == "2.2.0"
    inputs = {c["what"]: (c["before"], c["after"]) for c in out["inputs"]}
    files = (two["first"]["inputs"]["files"], two["second"]["inputs"]["files"])
    assert inputs["dataset:evaluation sha256"] == tuple(f["dataset:evaluation"]["sha256"] for f in files)
    assert "dataset:training sha256" not in inputs and "model_artifact sha256" not in inputs  # unchanged
    policy = {c["what"]: (c["before"], c["after"]) for c in out["policy"]}
    assert policy["policy"] == ("org-baseline 1.0.0", "org-baseline 1.1.0")
    assert "policy file org-baseline.yaml" in policy and "policy file teams/lending.yaml" not in policy
    # every cohort rate of both evaluations: the counts, the delta and the significance call
    rates = out["cohort_rates"]
    assert len(rates) == 4 * sum(len(t["groups"]) for t in two["second"]["measurements"]["fairness"]["tables"])
    female = next(r for r in rates if (r["feature"], r["group"], r["metric"]) == ("sex", "female", "selection_rate"))
    old, new = group(two["first"], "sex", "female"), group(two["second"], "sex", "female")
    k1, k2 = old["fp"] + old["tp"], new["fp"] + new["tp"]
    assert k2 - k1 == FLIPPED and female["counts_before"] == [k1, old["n"]] and female["counts_after"] == [k2, new["n"]]
    assert female["delta"] == pytest.approx(k2 / new["n"] - k1 / old["n"])
    assert female["p_value"] == pytest.approx(reference_p(k1, old["n"], k2, new["n"]), rel=1e-9)
    assert female["significant"] is True
    male = next(r for r in rates if (r["feature"], r["group"], r["metric"]) == ("sex", "male", "selection_rate"))
    assert male["delta"] == 0 and male["significant"] is False
    for r in rates:
        (x1, m1), (x2, m2) = r["counts_before"], r["counts_after"]
        if m1 and m2 and r["p_value"] is not None:
            expected = reference_p(x1, m1, x2, m2)
            assert r["p_value"] == pytest.approx(expected, rel=1e-6, abs=1e-12), r
            assert r["significant"] == (expected < 0.05), r
    # findings: matched by rule and subject, with the earlier and later status
    before = {(f["rule_id"], f["subject"]): f["status"] for f in two["first"]["findings"]}
    after = {(f["rule_id"], f["subject"]): f["status"] for f in two["second"]["findings"]}
    for change in out["findings"]:
        key = (change["rule_id"], change["subject"])
        assert (change["before"], change["after"]) == (before.get(key), after.get(key))
    ok = ("pass", "skipped")
    resolved = {k for k, s in before.items() if s not in ok and after.get(k, "pass") in ok}
    assert {(c["rule_id"], c["subject"]) for c in out["findings"] if c["kind"] == "resolved"} == resolved


def test_since_approval_compares_with_the_approved_evaluation(two: dict[str, Any]) -> None:
    a, b = digest_of(two["first"]), digest_of(two["second"])
    since = govkit("diff", "--since-approval", "credit-scorer", "--format", "json")
    assert since.exit_code == 0, since.output
    explicit = govkit("diff", a, b, "--format", "json")
    assert json.loads(since.stdout) == json.loads(explicit.stdout)


def test_text_and_markdown_say_what_changed(two: dict[str, Any]) -> None:
    a, b = digest_of(two["first"]), digest_of(two["second"])
    text = govkit("diff", a, b).stdout
    assert f"From credit-scorer 2.1.0 ({a[:12]}" in text and "verdict" in text
    assert "sex: female | selection_rate" in text and "org-baseline 1.0.0 | org-baseline 1.1.0" in text
    markdown = govkit("diff", a, b, "--format", "markdown").stdout
    assert markdown.startswith("### Changes from credit-scorer 2.1.0 to 2.2.0")
    assert "| sex: female | selection\\_rate |" in markdown  # Markdown-escaped


def test_no_approved_baseline_is_one_line_error(two: dict[str, Any]) -> None:
    # the first evaluation is the approved one: nothing approved before it for a model of another name
    result = govkit("diff", "--since-approval", "no-such-model")
    assert result.exit_code == 2 and result.stderr.startswith("error: ") and "no-such-model" in result.stderr
    usage = govkit("diff", digest_of(two["first"]))
    assert usage.exit_code == 2


def test_hostile_text_is_inert_in_every_format() -> None:
    """A finding subject and message with newlines, terminal escapes, HTML and Markdown: shown, never obeyed."""
    import evaluations
    from govkit.review.diff import compare
    from govkit.review.render import render

    before = evaluations.sample_evaluation(findings=())  # nothing failed then: every finding is new now
    after = evaluations.sample_evaluation()
    cmp = compare(before.to_dict(), before.digest, after.to_dict(), after.digest)
    assert {f.kind for f in cmp.findings} == {"new"} and any(f.subject == evaluations.HOSTILE for f in cmp.findings)
    text = render(cmp, "text")
    assert "\x1b" not in text and "\x0c" not in text and "\\x1b[31m" in text
    assert not any(line.startswith("::warning") for line in text.splitlines())
    markdown = render(cmp, "markdown")
    assert "<img" not in markdown and "&lt;img" in markdown and "\n###" not in markdown.split("### Changes", 1)[1]
    assert "\\[link\\]" in markdown and "\x1b" not in markdown
    doc = json.loads(render(cmp, "json"))
    assert any(f["subject"] == evaluations.HOSTILE for f in doc["findings"])  # JSON keeps the exact string
