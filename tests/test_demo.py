"""`govkit demo` builds a real dataset and model, and two overlays disagree about it."""

from __future__ import annotations

import json
import os
import re
import shlex
import sqlite3
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from govkit.cli import cli
from govkit.demo.run import asset_root

Demo = tuple[Path, dict[str, str], str]  # the demo's folder, its environment, its stdout


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """`govkit demo --dir DIR` once for this module (it takes a minute): (DIR, its environment, its stdout)."""
    folder = tmp_path_factory.mktemp("demo-run")
    env = {"NO_COLOR": "1", "CI": "", "GOVKIT_KEY": str(folder / "log.pem"), "GOVKIT_DB": str(folder / "govkit.db")}
    result = CliRunner(env=env).invoke(cli, ["demo", "--dir", str(folder)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return folder, env, result.stdout


def test_demo_builds_and_gives_two_verdicts(demo_run: Demo, monkeypatch: pytest.MonkeyPatch) -> None:
    tmp_path, env, stdout = demo_run
    runner = CliRunner(env=env)
    assert "lending: FAIL, research: PASS" in stdout
    assert "credit-limit regression (mean error biased against group_d): FAIL" in stdout
    assert (tmp_path / "credit-limit" / "model.skops").is_file()
    # the lifecycle: review, a conditional approval, and the deploy guardrail refusing the failing model
    assert "registered -> in-review" in stdout
    assert "in-review -> approved-with-conditions; checked: signoff, four-eyes" in stdout
    assert "refused: passing evaluation" in stdout
    assert "govkit serve --db" in stdout
    # the commands it prints work as printed in a fresh shell (no GOVKIT_KEY pointing at the demo's key)
    (due,) = [line.removeprefix("due items: govkit ") for line in stdout.splitlines() if line.startswith("due items:")]
    fresh = CliRunner(env={"NO_COLOR": "1", "CI": "", "GOVKIT_KEY": str(tmp_path / "elsewhere.pem"), "GOVKIT_DB": ""})
    listed = fresh.invoke(cli, shlex.split(due))
    assert listed.exit_code in (0, 1) and "credit-scorer" in listed.stdout, listed.output
    (serve,) = [line.removeprefix("web view: govkit ") for line in stdout.splitlines() if line.startswith("web view:")]
    assert "credit-scorer" in _served_portfolio(shlex.split(serve), tmp_path)
    assert (tmp_path / "model.skops").stat().st_size > 1000
    header = (tmp_path / "data" / "eval.csv").read_text().splitlines()[0].split(",")
    assert {"approved", "repayment_score", "repaid", "sex", "ethnicity"} <= set(header)
    check = runner.invoke(
        cli,
        [
            "check",
            str(tmp_path / "govkit.yaml"),
            "--policy",
            str(asset_root() / "policies"),
            "--format",
            "json",
            "--no-log",
        ],
    )
    assert check.exit_code == 1
    data = json.loads(check.stdout)
    statuses = {(f["rule_id"], f["subject"]): f["status"] for f in data["findings"]}
    assert statuses[("GK-LIC-002", "dataset:training")] == "fail"
    assert statuses[("GK-LIC-003", "dependency:skops==" + _version("skops"))] == "waived"
    # the demo folder is a project of its own: `cd DIR && govkit check govkit.yaml` needs no --policy
    monkeypatch.chdir(tmp_path)
    here = runner.invoke(cli, ["check", "govkit.yaml", "--format", "json", "--no-log"])
    assert here.exit_code == 1, here.output
    assert {(f["rule_id"], f["subject"]): f["status"] for f in json.loads(here.stdout)["findings"]} == statuses


def test_demo_deploys_the_remediated_release_through_the_guardrails(demo_run: Demo) -> None:
    """2.2.0 passes the lending policy, the officer approves it (four eyes), the release manager deploys it;
    2.1.0 never reaches production, and the log that records all of it verifies."""
    from govkit.demo.lifecycle import OFFICER, OWNER, RELEASE

    _, env, stdout = demo_run
    runner = CliRunner(env=env)
    listed = runner.invoke(cli, ["inventory", "--format", "json"])
    assert listed.exit_code == 0, listed.output
    (scorer,) = [m for m in json.loads(listed.stdout)["models"] if m["name"] == "credit-scorer"]
    versions = {v["version"]: v for v in scorer["versions"]}
    new = versions["2.2.0"]
    assert new["state"] == "deployed"
    assert new["latest_evaluation"]["verdict"] == "pass" and new["latest_evaluation"]["team"] == "lending"
    signoff = new["latest_signoff"]
    assert (signoff["decision"], signoff["email"]) == ("approve", "carol@example.org")
    assert signoff["evaluation_digest"] == new["latest_evaluation"]["digest"]  # the report of this exact version
    steps = [(h["previous"], h["state"], h["actor"]) for h in new["history"]]
    assert steps == [
        ("registered", "in-review", OWNER),
        ("in-review", "approved", OFFICER),
        ("approved", "deployed", RELEASE),
    ]
    old = versions["2.1.0"]
    assert old["latest_evaluation"]["verdict"] == "fail"
    assert "deployed" not in {h["state"] for h in old["history"]} and old["state"] == "approved-with-conditions"
    assert "credit-scorer 2.2.0, remediated in data and model: lending PASS, deployed" in stdout
    verified = runner.invoke(cli, ["log", "verify"])
    assert verified.exit_code == 0 and verified.stdout.startswith("ok: "), verified.output


def test_remediated_release_is_within_the_lending_fairness_thresholds(
    demo_run: Demo,
) -> None:
    """The 2.2.0 evaluation the demo recorded, read from the log: the age_band gaps that failed 2.1.0 are within
    the rules' own thresholds, fairlearn measures the same on the 2.2.0 data, and the pass needs no waiver of a
    rule 2.1.0 failed."""
    import pandas as pd
    from fairlearn.metrics import demographic_parity_ratio, equalized_odds_difference

    from govkit.demo.data import FEATURES, REMEDIATED

    folder, env, _ = demo_run
    with sqlite3.connect(env["GOVKIT_DB"]) as conn:
        bodies = [
            json.loads(r[0])
            for r in conn.execute(
                "select p.body from entries e join payloads p on p.seq = e.seq where e.action = 'evaluation.recorded'"
            )
        ]
    (evaluation,) = [b["evaluation"] for b in bodies if b["evaluation"]["model"]["version"] == "2.2.0"]
    assert evaluation["verdict"] == "pass"
    found = {(f["rule_id"], f["subject"]): f for f in evaluation["findings"]}
    parity, odds = found[("GK-FAIR-001", "age_band")], found[("GK-FAIR-002", "age_band")]
    assert parity["status"] == "pass" and parity["measured"] >= parity["threshold"]["min"]
    assert odds["status"] == "pass" and odds["measured"] <= odds["threshold"]["max"]
    assert not any(f["blocking"] for f in evaluation["findings"])
    assert found[("GK-LIC-002", "dataset:training")]["status"] == "pass"
    assert found[("GK-PRIV-001", "dataset:training")]["status"] == "pass"

    frame = pd.read_csv(folder / "data" / "eval-2.2.0.csv")
    y, yhat, age = frame["repaid"], frame["approved"], frame["age_band"]
    assert demographic_parity_ratio(y, yhat, sensitive_features=age) == pytest.approx(parity["measured"], abs=1e-4)
    assert equalized_odds_difference(y, yhat, sensitive_features=age) == pytest.approx(odds["measured"], abs=1e-4)
    assert "phone" not in pd.read_csv(folder / "data" / "train-2.2.0.csv", nrows=1).columns
    assert not set(REMEDIATED.features) & {"income", "credit_history_years", "late_payments"}
    assert set(REMEDIATED.features) < set(FEATURES)

    # without the waivers of the rules it had to fix (only the skops licence waiver left), 2.2.0 still passes
    fixed = {"GK-LIC-002", "GK-PRIV-001", "GK-FAIR-001", "GK-FAIR-002"}
    waivers = yaml.safe_load((folder / "waivers.yaml").read_text())
    waivers["waivers"] = [w for w in waivers["waivers"] if w["rule"] not in fixed]
    assert waivers["waivers"]
    (folder / "other-waivers.yaml").write_text(yaml.safe_dump(waivers))
    argv = ["check", str(folder / "govkit-2.2.0.yaml"), "--policy", str(asset_root() / "policies"), "--team", "lending"]
    strict = CliRunner(env=env).invoke(
        cli, [*argv, "--waivers", str(folder / "other-waivers.yaml"), "--format", "json", "--no-log"]
    )
    assert strict.exit_code == 0, strict.output
    assert not {f["rule_id"] for f in json.loads(strict.stdout)["findings"] if f["status"] == "waived"} & fixed


def test_demo_data_is_deterministic(tmp_path: Path) -> None:
    from govkit.demo.data import synthetic_applicants

    a = synthetic_applicants(500, 7)
    b = synthetic_applicants(500, 7)
    assert a.equals(b)
    assert not a.equals(synthetic_applicants(500, 8))


def test_credit_limit_demo_is_deterministic_and_biased_against_group_d(tmp_path: Path) -> None:
    """The regression demo's files are the same on every build, and its model under-grants group_d."""
    import pandas as pd

    from govkit.demo.regression import build_regression

    first = build_regression(tmp_path / "a", train_rows=4000, eval_rows=3000)
    second = build_regression(tmp_path / "b", train_rows=4000, eval_rows=3000)
    for name in ("train", "eval"):
        assert first[name].read_bytes() == second[name].read_bytes()
    frame = pd.read_csv(first["eval"])
    error = (frame["predicted_limit"] - frame["credit_limit"]).groupby(frame["ethnicity"]).mean()
    assert error["group_d"] < error.drop("group_d").min() - 75


def _version(name: str) -> str:
    from importlib.metadata import version

    return version(name)


def _served_portfolio(args: list[str], cwd: Path) -> str:
    """Run `govkit ARGS --port 0` in its own process without GOVKIT_KEY, as a fresh shell would; the portfolio page."""
    env = {k: v for k, v in os.environ.items() if k not in ("GOVKIT_KEY", "GOVKIT_DB")}
    command = [sys.executable, "-m", "govkit", *args, "--port", "0"]
    process = subprocess.Popen(command, cwd=cwd, env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        line = process.stderr.readline()  # "govkit serve: http://127.0.0.1:PORT/ read-only view of ..."
        url = re.search(r"http://\S+/", line)
        assert url, line + process.stderr.read()
        with urllib.request.urlopen(url.group(), timeout=60) as response:
            return str(response.read().decode())
    finally:
        process.terminate()
        process.wait(timeout=20)
