"""Lifecycle states on a real SQLite log: a real check, a real rendered report and a real PAdES sign-off.

One module fixture records scorer 1.4.0 (team alpha), asks for its review as alice and has Carol
sign the report "approve"; every test works on its own copy of that log.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result
from dateutil.relativedelta import relativedelta

from conftest import new_project
from govkit.audit.log import AuditLog
from govkit.audit.records import LIFECYCLE_CHANGED
from govkit.cli import cli
from govkit.errors import GovkitError, PolicyError
from govkit.inventory.config import lifecycle_rules, rules_source
from govkit.inventory.interface import (
    EvaluationSummary,
    ModelRecord,
    MonitoringStatus,
    SignoffSummary,
    StateChange,
    VersionRecord,
)
from govkit.inventory.lifecycle import TransitionRefused, guardrails, set_state

MODEL, VERSION = "scorer", "1.4.0"


@dataclass
class Home:
    root: Path

    @property
    def env(self) -> dict[str, str]:
        return {
            "GOVKIT_DB": str(self.root / "govkit.db"),
            "GOVKIT_KEY": str(self.root / "log-key.pem"),
            "GOVKIT_ACTOR": "tester@example.com",
            "GOVKIT_POLICY": str(self.root / "proj" / "policies"),
            "NO_COLOR": "1",
            "CI": "",
        }

    def run(self, *args: str) -> Result:
        return CliRunner(env=self.env).invoke(cli, list(args), catch_exceptions=False)

    def set(self, state: str, actor: str = "bob@example.org", *extra: str) -> Result:
        return self.run("lifecycle", "set", MODEL, VERSION, state, "--reason", f"to {state}", "--actor", actor, *extra)

    def check(self) -> Result:
        return self.run(
            "check", str(self.root / "proj" / "govkit.yaml"), "--policy", str(self.root / "proj" / "policies")
        )

    def log(self, actor: str = "bob@example.org") -> AuditLog:
        return AuditLog(self.root / "govkit.db", key_path=self.root / "log-key.pem", actor=actor)

    def policy(self, mutate: Any) -> None:
        path = self.root / "proj" / "policies" / "base.yaml"
        data = yaml.safe_load(path.read_text())
        mutate(data)
        path.write_text(yaml.safe_dump(data, sort_keys=False))


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lifecycle")
    project = new_project(root / "proj")
    home = Home(root)
    checked = home.run("check", str(project.manifest_path), "--policy", str(root / "proj" / "policies"))
    assert checked.exit_code == 0, checked.output
    assert home.set("in-review", "alice@example.org").exit_code == 0
    pdf = root / "report.pdf"
    rendered = home.run("report", "--latest", MODEL, "--out", str(pdf))
    assert rendered.exit_code == 0, rendered.output
    made = home.run(
        "keys", "signer-cert", "--name", "Carol Officer", "--email", "carol@example.org", "--out", str(root / "signers")
    )
    assert made.exit_code == 0, made.output
    signed = home.run(
        "signoff",
        str(pdf),
        "--signer",
        "Carol Officer <carol@example.org>",
        "--role",
        "Chief Risk Officer",
        "--decision",
        "approve",
        "--key",
        str(root / "signers" / "carol-officer.key.pem"),
        "--cert",
        str(root / "signers" / "carol-officer.cert.pem"),
    )
    assert signed.exit_code == 0, signed.output
    return root


@pytest.fixture
def home(reviewed: Path, tmp_path: Path) -> Home:
    shutil.copytree(reviewed, tmp_path / "home")
    return Home(tmp_path / "home")


def recorded_changes(home: Home) -> list[dict[str, Any]]:
    with home.log() as log:
        return [log.read_verified(e) for e in log.entries(action=LIFECYCLE_CHANGED)]


def test_approved_then_deployed_with_every_guardrail_checked(home: Home) -> None:
    approved = home.set("approved")
    assert approved.exit_code == 0, approved.output
    deployed = home.set("deployed")
    assert deployed.exit_code == 0, deployed.output
    changes = recorded_changes(home)
    assert [(c["from"], c["to"]) for c in changes] == [
        ("registered", "in-review"),
        ("in-review", "approved"),
        ("approved", "deployed"),
    ]
    assert changes[-1]["checked"] == [
        "approve sign-off",
        "passing evaluation",
        "current policy",
        "evaluation age",
        "four-eyes",
    ]
    with home.log() as log:
        entry = log.entries(action=LIFECYCLE_CHANGED)[-1]
        assert entry.actor == "bob@example.org"
    listed = home.run("inventory", "--format", "json")
    assert listed.exit_code == 0, listed.output
    version = json.loads(listed.stdout)["models"][0]["versions"][0]
    assert version["state"] == "deployed"
    assert version["latest_signoff"]["decision"] == "approve"
    assert version["latest_signoff"]["signer"] == "Carol Officer"
    reviewed_on = date.fromisoformat(version["last_review"][:10])
    assert version["next_review_due"] == (reviewed_on + relativedelta(months=6)).isoformat()  # high risk tier


def test_two_racing_deploys_record_one_and_judge_the_other_from_its_result(home: Home) -> None:
    """A second pipeline deploys while the first is between its checks and its write: the first write is
    refused by the log (it grew), the checks run again and see `deployed`. Before, both were logged, the
    second `from: approved` although the version was already deployed."""
    assert home.set("approved").exit_code == 0
    policies = home.root / "proj" / "policies"
    plain = rules_source(policies)
    raced: list[str] = []

    def racing_rules(team: str) -> Any:  # the first check of pipeline A lets pipeline B run to the end
        if not raced:
            raced.append("B")
            with home.log("erin@example.org") as other:
                set_state(other, model=MODEL, version=VERSION, state="deployed", reason="B", rules=plain)
        return plain(team)

    with home.log("frank@example.org") as log, pytest.raises(GovkitError, match="no transition deployed -> deployed"):
        set_state(log, model=MODEL, version=VERSION, state="deployed", reason="A", rules=racing_rules)
    assert raced == ["B"]
    changes = recorded_changes(home)
    assert [(c["from"], c["to"], c["reason"]) for c in changes[-2:]] == [
        ("in-review", "approved", "to approved"),
        ("approved", "deployed", "B"),
    ]


def test_requester_may_not_approve_their_own_review(home: Home) -> None:
    result = home.set("approved", "alice@example.org")
    assert result.exit_code == 1
    assert "refused: four-eyes" in result.output
    assert len(recorded_changes(home)) == 1  # nothing logged


def test_approve_with_conditions_needs_that_decision(home: Home) -> None:
    result = home.set("approved-with-conditions")
    assert result.exit_code == 1
    assert "refused: signoff" in result.output and "'approve-with-conditions'" in result.output


def test_deploy_refused_when_the_evaluation_is_stale(home: Home) -> None:
    assert home.set("approved").exit_code == 0
    rules = rules_source(home.root / "proj" / "policies")
    late = datetime.now(UTC).date() + timedelta(days=91)  # default: at most 90 days old
    with home.log() as log, pytest.raises(TransitionRefused, match=r"evaluation age: .* 91 days old; .* allows 90"):
        set_state(log, model=MODEL, version=VERSION, state="deployed", reason="r", rules=rules, today=late)
    with home.log() as log:
        ok = set_state(
            log, model=MODEL, version=VERSION, state="deployed", reason="r", rules=rules, today=late - timedelta(days=1)
        )
    assert ok.state == "deployed"


def test_a_team_overlay_tightens_the_evaluation_age(home: Home) -> None:
    assert home.set("approved").exit_code == 0
    overlay = {
        "apiVersion": "govkit/v1",
        "kind": "PolicyOverlay",
        "name": "alpha",
        "extends": "base",
        "team": "alpha",
        "lifecycle": {"deploy": {"max_evaluation_age_days": 10}},
    }
    (home.root / "proj" / "policies" / "alpha.yaml").write_text(yaml.safe_dump(overlay))
    assert home.check().exit_code == 0  # evaluated again, under the overlay
    rules = rules_source(home.root / "proj" / "policies")
    assert rules("alpha").max_evaluation_age_days == 10
    late = datetime.now(UTC).date() + timedelta(days=11)
    with home.log() as log, pytest.raises(TransitionRefused, match="allows 10"):
        set_state(log, model=MODEL, version=VERSION, state="deployed", reason="r", rules=rules, today=late)


def test_overlay_may_not_relax_lifecycle_rules(home: Home) -> None:
    home.policy(lambda d: d.update(lifecycle={"review_months": {"high": 3}}))
    overlay = {
        "apiVersion": "govkit/v1",
        "kind": "PolicyOverlay",
        "name": "alpha",
        "extends": "base",
        "team": "alpha",
        "lifecycle": {"review_months": {"high": 12}, "four_eyes": False},
    }
    path = home.root / "proj" / "policies" / "alpha.yaml"
    path.write_text(yaml.safe_dump(overlay))
    with pytest.raises(PolicyError) as err:
        lifecycle_rules(home.root / "proj" / "policies", team="alpha")
    assert "lifecycle.review_months.high" in str(err.value) and "relaxes 3 -> 12" in str(err.value)
    result = home.set("approved")
    assert result.exit_code == 2 and "alpha.yaml" in result.output and "lifecycle.review_months.high" in result.output


def test_deploy_refused_when_the_latest_evaluation_fails(home: Home) -> None:
    assert home.set("approved").exit_code == 0
    manifest = home.root / "proj" / "govkit.yaml"
    data = yaml.safe_load(manifest.read_text())
    data["model"]["license"] = "CC-BY-NC-4.0"  # non-commercial: T-LIC-001 blocks
    manifest.write_text(yaml.safe_dump(data))
    assert home.check().exit_code == 1
    result = home.set("deployed")
    assert result.exit_code == 1
    assert "refused: passing evaluation" in result.output and "fails" in result.output


def test_deploy_refused_after_the_policy_changed(home: Home) -> None:
    assert home.set("approved").exit_code == 0
    home.policy(lambda d: d.update(description="tightened after the evaluation"))
    result = home.set("deployed")
    assert result.exit_code == 1
    assert "refused: current policy" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((MODEL, VERSION, "flying"), "unknown state 'flying'"),
        ((MODEL, VERSION, "deployed"), "no transition in-review -> deployed"),
        ((MODEL, "9.9.9", "in-review"), "never evaluated"),
        (("nobody", VERSION, "in-review"), "never evaluated"),
    ],
)
def test_bad_input_is_exit_2_without_a_traceback(home: Home, args: tuple[str, ...], message: str) -> None:
    result = home.run("lifecycle", "set", *args, "--reason", "x")
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert len(recorded_changes(home)) == 1


def test_a_reason_is_required(home: Home) -> None:
    assert home.run("lifecycle", "set", MODEL, VERSION, "approved").exit_code == 2
    with home.log() as log, pytest.raises(GovkitError, match="needs a reason"):
        set_state(log, model=MODEL, version=VERSION, state="approved", reason="  ", rules=rules_source(None))


def test_review_falls_overdue_after_the_tier_cadence(home: Home) -> None:
    assert home.set("approved").exit_code == 0
    assert home.set("deployed").exit_code == 0
    listed = json.loads(home.run("inventory", "--format", "json").stdout)
    due_on = date.fromisoformat(listed["models"][0]["versions"][0]["next_review_due"])
    before = home.run("inventory", "due", "--as-of", (due_on - timedelta(days=1)).isoformat(), "--format", "json")
    assert before.exit_code == 0
    assert [i["kind"] for i in json.loads(before.stdout)] == ["review"]  # due within 30 days, not overdue
    after = home.run("inventory", "due", "--as-of", (due_on + timedelta(days=1)).isoformat(), "--format", "json")
    assert after.exit_code == 1
    (item,) = json.loads(after.stdout)
    assert item["overdue"] and item["model"] == MODEL and item["due"] == due_on.isoformat()


# -- the four-eyes rule on its own, with identities spelt differently -----------------------------


def _version(requester: str, signer: str, email: str) -> tuple[ModelRecord, VersionRecord]:
    now = datetime.now(UTC).isoformat()
    version = VersionRecord(
        version="1",
        state="in-review",
        state_since=now,
        history=(StateChange("in-review", "registered", requester, "r", now, 5),),
        evaluations=1,
        latest_evaluation=EvaluationSummary("d" * 64, "pass", now, now, 2, "t", "p", "1", "x", "gate"),
        latest_signoff=SignoffSummary("approve", signer, email, "CRO", now, 9, "d" * 64),
        open_findings=(),
        waivers=(),
        monitoring=MonitoringStatus("none"),
        last_review=None,
        next_review_due=None,
    )
    return ModelRecord("m", "t", "o", "high", (version,)), version


@pytest.mark.parametrize(
    "requester",
    ["Carol Officer <carol@example.org>", "carol+review@example.org", "CAROL@EXAMPLE.ORG", "саrol@example.org"],
)
def test_signer_who_requested_the_review_is_refused(requester: str) -> None:
    model, version = _version(requester, "Carol Officer", "carol@example.org")
    rules = rules_source(None)("t")
    with pytest.raises(TransitionRefused, match="four-eyes"):
        guardrails(model, version, "approved", rules, actor="bob@example.org", today=datetime.now(UTC).date())


def test_different_people_pass_four_eyes() -> None:
    model, version = _version("alice@example.org", "Carol Officer", "carol@example.org")
    rules = rules_source(None)("t")
    checked = guardrails(model, version, "approved", rules, actor="bob@example.org", today=datetime.now(UTC).date())
    assert checked == ["signoff", "four-eyes"]
