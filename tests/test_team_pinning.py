"""Who picks the policy: overlays cannot escape the selected base set, locked rules cannot be waived,
and CI can pin the team so a manifest's `model.team` cannot choose a laxer overlay by itself."""

from __future__ import annotations

import json
from typing import Any

import pytest

from conftest import BASE_POLICY, Project
from govkit.errors import PolicyError
from govkit.policy.loader import load_policy


def overlay(name: str = "alpha", team: str | None = "alpha", extends: str = "base", **body: Any) -> dict[str, Any]:
    return {
        "apiVersion": "govkit/v1",
        "kind": "PolicyOverlay",
        "name": name,
        "extends": extends,
        **({"team": team} if team else {}),
        **body,
    }


def _lax_set(project: Project) -> None:
    """A second set in the folder that carries the same rule unlocked and allow_relax."""
    rules = [{**r, "allow_relax": True} for r in BASE_POLICY["rules"]]
    project.write("policies/sandbox.yaml", {**BASE_POLICY, "name": "sandbox", "rules": rules})


def test_overlay_cannot_escape_the_selected_set(project: Project) -> None:
    project.policy(lambda p: p["rules"][0].update(locked=True))
    _lax_set(project)
    project.write(
        "policies/teams/alpha.yaml",
        overlay(extends="sandbox", disable={"T-LIC-001": {"justification": "we know better"}}),
    )
    with pytest.raises(PolicyError, match="extends set 'sandbox', but this run uses set 'base'") as err:
        load_policy(project.root / "policies", team="alpha", policy_set="base")
    assert err.value.file and err.value.file.endswith("alpha.yaml") and err.value.field == "extends"
    # several sets and no --policy-set: the overlay may not pick its own base
    with pytest.raises(PolicyError, match="several policy sets"):
        load_policy(project.root / "policies", team="alpha")
    # naming an overlay of base selects base too
    project.write("policies/division.yaml", overlay(name="division", team=None))
    with pytest.raises(PolicyError, match="but this run uses set 'base'"):
        load_policy(project.root / "policies", team="alpha", policy_set="division")
    # the set the overlay was written for still works when the run selects it
    rule = load_policy(project.root / "policies", team="alpha", policy_set="sandbox").rule("T-LIC-001")
    assert rule is not None and not rule.enabled


def test_team_without_overlay_uses_the_selected_set(project: Project) -> None:
    _lax_set(project)
    resolved = load_policy(project.root / "policies", team="nobody", policy_set="base")
    assert resolved.name == "base"


def test_locked_rule_is_never_waived(project: Project) -> None:
    project.manifest(lambda m: m["model"].update(license="CC-BY-NC-4.0"))
    project.policy(lambda p: p["rules"][0].update(locked=True))
    project.write(
        "waivers.yaml",
        {
            "apiVersion": "govkit/v1",
            "kind": "Waivers",
            "waivers": [
                {
                    "id": "W-1",
                    "rule": "T-LIC-001",
                    "reason": "r",
                    "ticket": "T-1",
                    "requested_by": "a@x.org",
                    "approved_by": ["b@x.org"],
                    "expires": "2099-01-01",
                }
            ],
        },
    )
    result = project.check("--format json --no-log")
    data = json.loads(result.stdout)
    assert result.exit_code == 1
    assert next(f for f in data["findings"] if f["rule_id"] == "T-LIC-001")["status"] == "fail"
    assert data["waivers"][0]["status"] == "not-waivable" and "locked" in data["waivers"][0]["detail"]


def _team_overlays(project: Project) -> None:
    project.manifest(lambda m: m["model"].update(team="lab"))
    project.write(
        "policies/teams/lab.yaml",
        overlay(name="lab", team="lab", disable={"T-LIC-002": {"justification": "research sandbox"}}),
    )


def test_manifest_team_is_recorded_with_its_source(project: Project) -> None:
    _team_overlays(project)
    _, data = project.check_json()
    assert data["team"] == "lab"
    assert data["options"]["team"] == {"name": "lab", "source": "model.team", "pinned": False}


@pytest.mark.parametrize(
    ("args", "env", "source"), [("--team lending", {}, "--team"), ("", {"GOVKIT_TEAM": "lending"}, "GOVKIT_TEAM")]
)
def test_ci_team_overrides_the_manifest_loudly(
    project: Project, monkeypatch: pytest.MonkeyPatch, args: str, env: dict[str, str], source: str
) -> None:
    _team_overlays(project)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    result = project.check(f"--format json --no-log {args}")
    data = json.loads(result.stdout)
    assert data["team"] == "lending"
    assert data["options"]["team"] == {"name": "lending", "source": source, "pinned": False}
    assert any("lending" in n and "model.team" in n and "lab" in n for n in data["notices"])
    assert not any("lab.yaml" in layer for layer in data["policy"]["layers"])


def test_pinned_team_refuses_a_manifest_of_another_team(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    _team_overlays(project)
    result = project.check("--team lending --require-team --no-log")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "govkit.yaml" in result.stderr and "model.team" in result.stderr
    assert "lending" in result.stderr and "lab" in result.stderr
    monkeypatch.setenv("GOVKIT_TEAM", "lab")
    monkeypatch.setenv("GOVKIT_REQUIRE_TEAM", "1")
    _, data = project.check_json()
    assert data["options"]["team"] == {"name": "lab", "source": "GOVKIT_TEAM", "pinned": True}


def test_require_team_needs_a_team(project: Project) -> None:
    result = project.check("--require-team --no-log")
    assert result.exit_code == 2 and "--require-team" in result.stderr and "Traceback" not in result.output
