"""Policy sets and team overlays: tighten freely, relax only where allowed, locked is immovable."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from conftest import Project
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


def test_overlay_tightens_and_records_provenance(project: Project) -> None:
    project.write(
        "policies/teams/alpha.yaml",
        overlay(
            overrides={
                "T-LIC-002": {"severity": "critical", "params": {"deny_traits": ["non-commercial", "no-derivatives"]}}
            }
        ),
    )
    resolved = load_policy(project.root / "policies", team="alpha")
    rule = resolved.rule("T-LIC-002")
    assert rule is not None
    assert rule.severity == "critical"
    assert rule.params["deny_traits"] == ["non-commercial", "no-derivatives"]
    assert rule.provenance["severity"] == "teams/alpha.yaml (overlay alpha)"
    assert rule.provenance["params.unknown"] == "base.yaml (set base)"
    assert resolved.layers == ("base.yaml (set base)", "teams/alpha.yaml (overlay alpha)")


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"T-LIC-001": {"severity": "low"}}, "lowers severity high -> low"),
        ({"T-LIC-003": {"params": {"deny_traits": []}}}, "relaxes deny_traits"),
        ({"T-LIC-003": {"params": {"unknown": "warn", "allow": ["MIT"]}}}, None),  # tightening: fine
        ({"T-LIC-001": {"applies_to": {"risk_tiers": ["high"]}}}, "narrows the scope"),
    ],
)
def test_relaxing_needs_allow_relax(project: Project, override: dict[str, Any], message: str | None) -> None:
    project.write("policies/teams/alpha.yaml", overlay(overrides=override))
    if message is None:
        load_policy(project.root / "policies", team="alpha")
        return
    with pytest.raises(PolicyError, match=message) as err:
        load_policy(project.root / "policies", team="alpha")
    assert err.value.file and err.value.file.endswith("alpha.yaml")


def test_allow_relax_permits_lowering_and_disabling(project: Project) -> None:
    project.write(
        "policies/teams/alpha.yaml",
        overlay(overrides={"T-LIC-002": {"severity": "low", "params": {"deny_traits": []}}}),
    )
    rule = load_policy(project.root / "policies", team="alpha").rule("T-LIC-002")
    assert rule is not None and rule.severity == "low" and rule.params["deny_traits"] == []
    project.write("policies/teams/alpha.yaml", overlay(disable={"T-LIC-002": {"justification": "not in scope for us"}}))
    rule = load_policy(project.root / "policies", team="alpha").rule("T-LIC-002")
    assert rule is not None and not rule.enabled and rule.justification == "not in scope for us"


def test_locked_rule_cannot_be_touched_even_to_tighten(project: Project) -> None:
    project.policy(lambda p: p["rules"][0].update(locked=True))
    project.write("policies/teams/alpha.yaml", overlay(overrides={"T-LIC-001": {"severity": "critical"}}))
    with pytest.raises(PolicyError, match="locked"):
        load_policy(project.root / "policies", team="alpha")
    project.write("policies/teams/alpha.yaml", overlay(disable={"T-LIC-001": {"justification": "long enough text"}}))
    with pytest.raises(PolicyError, match="locked"):
        load_policy(project.root / "policies", team="alpha")


def test_disabling_without_allow_relax_is_refused(project: Project) -> None:
    project.write("policies/teams/alpha.yaml", overlay(disable={"T-LIC-001": {"justification": "long enough text"}}))
    with pytest.raises(PolicyError, match="does not allow relaxing"):
        load_policy(project.root / "policies", team="alpha")


def test_overlay_chain_and_added_rules(project: Project) -> None:
    project.write(
        "policies/division.yaml", overlay(name="division", team=None, overrides={"T-LIC-003": {"severity": "critical"}})
    )
    project.write(
        "policies/teams/alpha.yaml",
        overlay(
            extends="division",
            add=[
                {
                    "id": "A-LIC-009",
                    "title": "no GPL data",
                    "check": "license.datasets",
                    "params": {"deny": ["GPL-*"]},
                    "severity": "low",
                }
            ],
        ),
    )
    resolved = load_policy(project.root / "policies", team="alpha")
    assert [r.id for r in resolved.rules] == ["T-LIC-001", "T-LIC-002", "T-LIC-003", "A-LIC-009"]
    assert resolved.rule("T-LIC-003").severity == "critical"  # type: ignore[union-attr]
    assert len(resolved.sources) == 3


def test_digest_tracks_exact_policy_bytes(project: Project) -> None:
    first = load_policy(project.root / "policies").digest
    path = project.root / "policies" / "base.yaml"
    path.write_text(path.read_text() + "\n# a comment changes the bytes\n")
    assert load_policy(project.root / "policies").digest != first


def test_same_model_two_overlays_two_verdicts(project: Project) -> None:
    project.manifest(lambda m: m["datasets"]["training"].update(license="CC-BY-NC-4.0"))
    project.write(
        "policies/teams/strict.yaml",
        overlay(name="strict", team="strict", overrides={"T-LIC-002": {"severity": "critical"}}),
    )
    project.write(
        "policies/teams/lab.yaml",
        overlay(name="lab", team="lab", disable={"T-LIC-002": {"justification": "research sandbox only"}}),
    )
    strict = project.check("--team strict")
    lab = project.check("--team lab")
    assert strict.exit_code == 1 and "FAIL" in strict.stdout
    assert lab.exit_code == 0 and "verdict: PASS" in lab.stdout
    shown = project.run(f"policy show --policy {project.root / 'policies'} --team lab")
    assert "disabled" in shown.stdout and "research sandbox only" in shown.stdout
    shown = json.loads(
        project.run(f"policy show --policy {project.root / 'policies'} --team strict --format json").stdout
    )
    rule = next(r for r in shown["rules"] if r["id"] == "T-LIC-002")
    assert rule["severity"] == "critical"
    assert rule["provenance"]["severity"] == "teams/strict.yaml (overlay strict)"


def test_policy_validate_resolves_every_overlay(project: Project) -> None:
    project.write("policies/teams/alpha.yaml", overlay(overrides={"T-LIC-001": {"severity": "low"}}))
    result = project.run(f"policy validate {project.root / 'policies'}")
    assert result.exit_code == 2
    assert "alpha.yaml" in result.stderr and "lowers severity" in result.stderr


def test_rule_out_of_scope_is_skipped(project: Project) -> None:
    project.policy(lambda p: p["rules"][0].update(applies_to={"risk_tiers": ["low"]}))
    _, data = project.check_json(log=True)
    finding = next(f for f in data["findings"] if f["rule_id"] == "T-LIC-001")
    assert finding["status"] == "skipped" and "risk tier high" in finding["message"]


def _with_rule(rule: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    return lambda p: p["rules"].append({"id": "T-X-001", "title": "scoped rule", "severity": "high", **rule})


FAIRNESS = {"check": "fairness.demographic_parity_ratio", "params": {"min": 0.8}}
KANON = {"check": "privacy.k_anonymity", "params": {}}


@pytest.mark.parametrize(
    ("base", "params", "relaxes"),
    [
        (FAIRNESS, {"sensitive_features": ["sex"]}, True),  # None = every sensitive feature: narrowing
        (FAIRNESS, {"sensitive_features": []}, True),
        (
            {**FAIRNESS, "params": {"min": 0.8, "sensitive_features": ["sex", "age"]}},
            {"sensitive_features": ["sex"]},
            True,
        ),
        (
            {**FAIRNESS, "params": {"min": 0.8, "sensitive_features": ["sex"]}},
            {"sensitive_features": ["sex", "age"]},
            False,
        ),
        ({**FAIRNESS, "params": {"min": 0.8, "sensitive_features": ["sex"]}}, {"sensitive_features": None}, False),
        (KANON, {"quasi_identifiers": ["f1"]}, True),  # None = the manifest's declared ones
        (KANON, {"quasi_identifiers": []}, True),
        ({**KANON, "params": {"quasi_identifiers": ["f1", "f2"]}}, {"quasi_identifiers": None}, True),
        ({**KANON, "params": {"quasi_identifiers": ["f1"]}}, {"quasi_identifiers": ["f1", "f2"]}, False),
        (KANON, {"datasets": []}, True),
        (KANON, {"datasets": ["training", "evaluation"]}, False),
        ({"check": "privacy.no_undeclared_pii", "params": {}}, {"datasets": ["training"]}, True),
    ],
)
def test_narrowing_a_scope_parameter_is_relaxing(
    project: Project, base: dict[str, Any], params: dict[str, Any], relaxes: bool
) -> None:
    project.policy(_with_rule(base))
    project.write("policies/teams/alpha.yaml", overlay(overrides={"T-X-001": {"params": params}}))
    if not relaxes:
        load_policy(project.root / "policies", team="alpha")
        return
    with pytest.raises(PolicyError, match=f"relaxes {next(iter(params))}"):
        load_policy(project.root / "policies", team="alpha")


def test_every_declared_direction_is_known() -> None:
    from govkit.checks.registry import rule_kinds
    from govkit.policy.tightening import DIRECTIONS

    for kind, (_, model) in rule_kinds().items():
        for name, info in model.model_fields.items():
            extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
            direction = extra.get("stricter")
            if direction is None or isinstance(direction, list):
                continue
            assert direction in DIRECTIONS, f"{kind}.{name}: {direction}"
            optional = info.default is None or "None" in str(info.annotation)
            # None must mean something explicit: a plain deny-list superset cannot be None
            assert not (direction == "superset" and optional), f"{kind}.{name} needs a direction that defines None"


def test_policy_show_prints_user_text_literally(project: Project) -> None:
    project.write(
        "policies/teams/alpha.yaml", overlay(name="alpha[/]", disable={"T-LIC-002": {"justification": "[red]fake[/]"}})
    )
    project.policy(lambda p: p.update(waivers={"max_days": 90}))
    result = project.run(f"policy show --policy {project.root / 'policies'} --team alpha")
    assert result.exit_code == 0, result.output
    assert "[red]fake[/]" in result.stdout
    assert "alpha[/]" in result.stdout
    assert "waivers: at most 90 days" in result.stdout


def test_policy_file_symlinked_out_of_the_folder_is_refused(
    project: Project, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A .yaml symlink in the policy folder is not followed out of it (the folder is what --policy
    names; a file it links to elsewhere was read, and its text could land in errors and outputs)."""
    outside = tmp_path_factory.mktemp("outside") / "secret.yaml"
    outside.write_text(json.dumps(overlay(name="hunter2-secret")))
    (project.root / "policies" / "teams").mkdir()
    (project.root / "policies" / "teams" / "alpha.yaml").symlink_to(outside)
    with pytest.raises(PolicyError) as raised:
        load_policy(project.root / "policies", team="alpha")
    assert "alpha.yaml" in str(raised.value) and "outside the policy folder" in str(raised.value)
    result = project.check()
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.strip().splitlines()
    assert "alpha.yaml" in line and "hunter2" not in result.output


def test_policy_file_linked_within_the_folder_is_read(project: Project) -> None:
    project.write("policies/shared/alpha.yaml", overlay(overrides={"T-LIC-002": {"severity": "critical"}}))
    (project.root / "policies" / "teams").mkdir()
    (project.root / "policies" / "teams" / "alpha.yaml").symlink_to(project.root / "policies" / "shared" / "alpha.yaml")
    with pytest.raises(PolicyError, match="duplicate policy name"):  # read twice: as itself and through the link
        load_policy(project.root / "policies", team="alpha")
