"""Waivers apply only when valid: right rule, model, version and subject; approved by someone else; unexpired."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from conftest import Project
from govkit.policy.waivers import Waiver, WaiverTarget, decide

WAIVER: dict[str, Any] = {
    "id": "W-1",
    "rule": "T-LIC-002",
    "target": {"model": "scorer", "version": ">=1.0,<2", "subject": "dataset:training"},
    "reason": "legal reviewed",
    "ticket": "LEGAL-1",
    "requested_by": "alice@example.com",
    "approved_by": ["bob@example.com"],
    "expires": "2030-01-01",
}


def waivers_file(*waivers: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "govkit/v1", "kind": "Waivers", "waivers": list(waivers)}


@pytest.fixture
def failing(project: Project) -> Project:
    project.manifest(lambda m: m["datasets"]["training"].update(license="CC-BY-NC-4.0"))
    project.policy(lambda p: p["rules"][1].update(severity="high"))
    return project


def training_finding(data: dict[str, Any]) -> dict[str, Any]:
    return next(f for f in data["findings"] if f["subject"] == "dataset:training")


def test_valid_waiver_turns_failure_into_waived(failing: Project) -> None:
    failing.write("waivers.yaml", waivers_file(WAIVER))  # found beside the manifest
    code, data = failing.check_json("--as-of 2029-06-01", log=True)
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
    code, data = failing.check_json("--as-of 2029-06-01", log=True)
    assert code == 1
    assert training_finding(data)["status"] == "fail"
    assert data["waivers"][0]["status"] == status
    assert any("W-1" in n for n in data["notices"])


def test_no_waivers_flag_ignores_them(failing: Project) -> None:
    failing.write("waivers.yaml", waivers_file(WAIVER))
    code, data = failing.check_json("--as-of 2029-06-01 --no-waivers", log=True)
    assert code == 1 and training_finding(data)["status"] == "fail"
    assert data["inputs"]["waivers"]["used"] is False


def test_expiring_soon_is_noticed(failing: Project) -> None:
    failing.write("waivers.yaml", waivers_file(WAIVER))
    _, data = failing.check_json("--as-of 2029-12-25", log=True)
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
    args = {
        "rule_id": "T-LIC-002",
        "waivable": True,
        "model": "scorer",
        "version": "1.4.0",
        "subject": "dataset:training",
        "as_of": date(2029, 1, 1),
    }
    assert decide(waiver, **args).applies
    assert decide(waiver, **{**args, "version": "2.0.0"}).decision == "other-target"
    assert decide(waiver, **{**args, "waivable": False}).decision == "not-waivable"
    assert decide(waiver, **{**args, "as_of": date(2030, 1, 2)}).decision == "expired"
    assert decide(waiver, **{**args, "as_of": date(2030, 1, 1)}).applies  # valid through its expiry day


def test_past_as_of_says_it_revived_an_expired_waiver(failing: Project) -> None:
    today = date.today()
    expired = today - timedelta(days=10)
    failing.write("waivers.yaml", waivers_file({**WAIVER, "expires": expired.isoformat()}))
    as_of = (today - timedelta(days=30)).isoformat()
    code, data = failing.check_json(f"--as-of {as_of}")
    assert code == 0 and training_finding(data)["status"] == "waived"  # judged as of that date, as asked
    use = data["waivers"][0]
    assert use["status"] == "used" and f"as of {as_of}" in use["detail"] and "expired before today" in use["detail"]
    assert any(f"--as-of {as_of}" in n and "before today" in n for n in data["notices"])
    assert any("W-1" in n and "would not apply today" in n for n in data["notices"])


def test_as_of_today_or_later_adds_no_notice(failing: Project) -> None:
    failing.write("waivers.yaml", waivers_file(WAIVER))
    _, data = failing.check_json("--as-of 2029-06-01")
    assert not any("before today" in n for n in data["notices"])


def _max_days(project: Project, days: int, rel: str = "policies/base.yaml") -> None:
    project.policy(lambda p: p.update(waivers={"max_days": days}) or p["rules"][1].update(severity="high"), rel=rel)


def test_policy_caps_waiver_lifetime(failing: Project) -> None:
    _max_days(failing, 180)
    today = date.today()
    for created, expires, status in [
        (today - timedelta(days=200), today + timedelta(days=10), "too-long"),  # 210 days in all
        (today - timedelta(days=100), today + timedelta(days=60), "used"),
        (None, today + timedelta(days=150), "used"),  # no created: counted from today
        (None, today + timedelta(days=400), "too-long"),
        (today + timedelta(days=300), today + timedelta(days=400), "too-long"),  # a future `created` counts as today
    ]:
        waiver = {**WAIVER, "expires": expires.isoformat(), **({"created": created.isoformat()} if created else {})}
        failing.write("waivers.yaml", waivers_file(waiver))
        code, data = failing.check_json()
        use = data["waivers"][0]
        assert use["status"] == status, (created, expires, use)
        assert (code == 1) == (status == "too-long")
        if status == "too-long":
            assert "the policy allows at most 180" in use["detail"]
            assert f"runs {(expires - min(created or today, today)).days} days" in use["detail"]


def test_future_as_of_does_not_shorten_a_waiver(failing: Project) -> None:
    _max_days(failing, 180)
    failing.write("waivers.yaml", waivers_file(WAIVER))  # expires 2030-01-01, years from today
    _, data = failing.check_json("--as-of 2029-09-01")
    assert data["waivers"][0]["status"] == "too-long"


def test_overlay_may_only_shorten_waiver_lifetime(project: Project) -> None:
    from govkit.errors import PolicyError
    from govkit.policy.loader import load_policy

    _max_days(project, 90)
    overlay = {"apiVersion": "govkit/v1", "kind": "PolicyOverlay", "name": "alpha", "team": "alpha", "extends": "base"}
    project.write("policies/alpha.yaml", {**overlay, "waivers": {"max_days": 30}})
    assert load_policy(project.root / "policies", team="alpha").waiver_max_days == 30
    project.write("policies/alpha.yaml", {**overlay, "waivers": {"max_days": 365}})
    with pytest.raises(PolicyError, match="max_days") as err:
        load_policy(project.root / "policies", team="alpha")
    assert err.value.file and err.value.file.endswith("alpha.yaml")
    project.policy()  # no cap in the base: any cap the overlay sets tightens
    assert load_policy(project.root / "policies", team="alpha").waiver_max_days == 365


@pytest.mark.parametrize("expires", ["2026-12-31T23:00:00+05:00", "2026-12-31 23:00:00", "2026-12-31T00:00:00Z"])
def test_expiry_with_a_time_or_timezone_is_refused(project: Project, expires: str) -> None:
    for text in (f"expires: {expires}", f"expires: '{expires}'"):
        project.write(
            "waivers.yaml",
            "apiVersion: govkit/v1\nkind: Waivers\nwaivers:\n  - id: W-1\n"
            "    rule: T-LIC-001\n    reason: r\n    ticket: T-1\n    requested_by: a@x.org\n"
            "    approved_by: [b@x.org]\n"
            f"    {text}\n",
        )
        result = project.check("--no-log")
        assert result.exit_code == 2, result.output
        assert "waivers.yaml:10" in result.stderr and "waivers[0].expires" in result.stderr
        assert "YYYY-MM-DD" in result.stderr and result.stderr.count("\n") == 1
