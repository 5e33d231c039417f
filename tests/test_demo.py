"""`govkit demo` builds a real dataset and model, and two overlays disagree about it."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from govkit.cli import cli
from govkit.demo.run import asset_root


def test_demo_builds_and_gives_two_verdicts(tmp_path: Path) -> None:
    runner = CliRunner(env={"NO_COLOR": "1", "CI": ""})
    result = runner.invoke(cli, ["demo", "--dir", str(tmp_path)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "lending: FAIL, research: PASS" in result.stdout
    # the lifecycle: review, a conditional approval, and the deploy guardrail refusing the failing model
    assert "registered -> in-review" in result.stdout
    assert "in-review -> approved-with-conditions; checked: signoff, four-eyes" in result.stdout
    assert "refused: passing evaluation" in result.stdout
    assert "govkit serve --db" in result.stdout
    assert (tmp_path / "model.skops").stat().st_size > 1000
    header = (tmp_path / "data" / "eval.csv").read_text().splitlines()[0].split(",")
    assert {"approved", "repayment_score", "repaid", "sex", "ethnicity"} <= set(header)
    check = runner.invoke(
        cli, ["check", str(tmp_path / "govkit.yaml"), "--policy", str(asset_root() / "policies"), "--format", "json"]
    )
    assert check.exit_code == 1
    data = json.loads(check.stdout)
    statuses = {(f["rule_id"], f["subject"]): f["status"] for f in data["findings"]}
    assert statuses[("GK-LIC-002", "dataset:training")] == "fail"
    assert statuses[("GK-LIC-003", "dependency:skops==" + _version("skops"))] == "waived"


def test_demo_data_is_deterministic(tmp_path: Path) -> None:
    from govkit.demo.data import synthetic_applicants

    a = synthetic_applicants(500, 7)
    b = synthetic_applicants(500, 7)
    assert a.equals(b)
    assert not a.equals(synthetic_applicants(500, 8))


def _version(name: str) -> str:
    from importlib.metadata import version

    return version(name)
