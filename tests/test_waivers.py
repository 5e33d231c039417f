"""Waivers apply only when valid: right rule, model, version and subject; approved by someone else; unexpired."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from conftest import Project
from govkit.policy.waivers import Waiver, WaiverTarget, decide

WAIVER: dict[str, Any] = {
    "id": "W-1", "rule": "T-LIC-002",
    "target": {"model": "scorer", "version": ">=1.0,<2", "subject": "dataset:training"},
    "reason": "legal reviewed", "ticket": "LEGAL-1", "requested_by": "alice@example.com",
    "approved_by": ["bob@example.com"], "expires": "2030-01-01",
}


def waivers_file(*waivers: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "govkit/v1", "kind": "Waivers", "waivers": list(waivers)}


@pytest.fixture
def failing(project: Project) -> Project:
    project.manifest(lambda m: m["datasets"]["training"].update(license="CC-BY-NC-4.0"))
    project.policy(lambda p: p["rules"][1].update(severity="high"))
    return project


def run(project: Project, extra: str = "") -> tuple[int, dict[str, Any]]:
    result = project.check(f"--format json {extra}")
    return result.exit_code, json.loads(result.stdout)


def training_finding(data: dict[str, Any]) -> dict[str, Any]:
    return next(f for f in data["findings"] if f["subject"] == "dataset:training")


def test_valid_waiver_turns_failure_into_waived(failing: Project) -> None:
    failing.write("waivers.yaml", waivers_file(WAIVER))  # found beside the manifest
    code, data = run(failing, "--as-of 2029-06-01")
    assert code == 0
    finding = training_finding(data)
    assert finding["status"] == "waived" and finding["waiver_id"] == "W-1"
    assert data["counts"]["waived"] == 1
    assert data["waivers"][0]["status"] == "used"


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"expires": "2029-01-01"}, "expired"),
        ({"approved_by": ["Alice@example.com"]}, "self-approved"),
        ({"approved_by": ["bob@example.com", "\u0430lice@example.com"]}, "self-approved"),  # Cyrillic a
        ({"approved_by": ["Alice <alice+ok@example.com>"]}, "self-approved"),
        ({"approved_by": ["ali\u200bce@ｅｘａｍｐｌｅ.com"]}, "self-approved"),  # zero-width, fullwidth
        ({"target": {"model": "other-model"}}, "unused"),
        ({"target": {"model": "scorer", "version": ">=2"}}, "unused"),
        ({"target": {"model": "scorer", "subject": "dataset:evaluation"}}, "unused"),
        ({"rule": "T-LIC-001"}, "unused"),
    ],
)
def test_invalid_or_mistargeted_waivers_never_apply(failing: Project, change: dict[str, Any], status: str) -> None:
    failing.write("waivers.yaml", waivers_file({**WAIVER, **change}))
    code, data = run(failing, "--as-of 2029-06-01")
    assert code == 1
    assert training_finding(data)["status"] == "fail"
    assert data["waivers"][0]["status"] == status
    assert any("W-1" in n for n in data["notices"])


def test_no_waivers_flag_ignores_them(failing: Project) -> None:
    failing.write("waivers.yaml", waivers_file(WAIVER))
    code, data = run(failing, "--as-of 2029-06-01 --no-waivers")
    assert code == 1 and training_finding(data)["status"] == "fail"
    assert data["inputs"]["waivers"]["used"] is False


def test_expiring_soon_is_noticed(failing: Project) -> None:
    failing.write("waivers.yaml", waivers_file(WAIVER))
    _, data = run(failing, "--as-of 2029-12-25")
    assert data["waivers"][0]["expiring_soon"] is True
    assert any("expires soon" in n for n in data["notices"])


@pytest.mark.parametrize("missing", ["expires", "approved_by", "reason", "ticket", "requested_by"])
def test_incomplete_waiver_is_an_input_error(failing: Project, missing: str) -> None:
    failing.write("waivers.yaml", waivers_file({k: v for k, v in WAIVER.items() if k != missing}))
    result = failing.check()
    assert result.exit_code == 2
    assert f"waivers[0].{missing}" in result.stderr and "waivers.yaml" in result.stderr


def test_decide_is_the_single_rule() -> None:
    waiver = Waiver.model_validate({**WAIVER, "target": WaiverTarget(model="sc*", version="1.*").model_dump()})
    args = {"rule_id": "T-LIC-002", "waivable": True, "model": "scorer", "version": "1.4.0",
            "subject": "dataset:training", "as_of": date(2029, 1, 1)}
    assert decide(waiver, **args).applies
    assert decide(waiver, **{**args, "version": "2.0.0"}).decision == "other-target"
    assert decide(waiver, **{**args, "waivable": False}).decision == "not-waivable"
    assert decide(waiver, **{**args, "as_of": date(2030, 1, 2)}).decision == "expired"
    assert decide(waiver, **{**args, "as_of": date(2030, 1, 1)}).applies  # valid through its expiry day
