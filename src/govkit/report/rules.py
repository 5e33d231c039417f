"""The rule parameters in force when an evaluation was made, as the report's sections read them.

The evaluation records the resolved policy's digest, not its rules (adding them would change every
recorded digest). The report re-resolves the recorded policy folder for the recorded team and uses
the rules only if that resolution has the recorded digest, so a section never shows thresholds the
evaluation was not judged against; otherwise each section says the parameters are unknown and uses
the rule kind's defaults.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from govkit.errors import GovkitError


@dataclass(frozen=True)
class RulesInForce:
    """Every enabled rule's parameters by rule id, or `confirmed=False` when they could not be recovered."""

    rules: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # id -> ResolvedRule.to_dict()
    confirmed: bool = False
    why: str = ""

    def of_kind(self, kind: str) -> list[Mapping[str, Any]]:
        """The rules of one kind (e.g. `privacy.no_undeclared_pii`), in policy order."""
        return [r for r in self.rules.values() if r["check"] == kind and r.get("enabled", True)]

    def params_of(self, finding: Mapping[str, Any]) -> Mapping[str, Any] | None:
        """The raw parameters of the rule a recorded finding came from, if known."""
        rule = self.rules.get(finding["rule_id"])
        return rule["params"] if rule else None

    def params(self, kind: str) -> list[Any]:
        """Each rule's parameters of this kind as its validated model (defaults filled); the kind's
        defaults alone when the rules are not confirmed."""
        from govkit.checks.registry import rule_kinds

        try:
            model = rule_kinds()[kind][1]
        except KeyError:
            return []
        if not self.confirmed:
            try:
                return [model()]
            except ValueError:  # the kind has required parameters: no default to show
                return []
        return [model.model_validate(r["params"]) for r in self.of_kind(kind)]


def from_policy(rules: Sequence[Any]) -> RulesInForce:
    """From a ResolvedPolicy's rules (what `govkit check` judged with)."""
    return RulesInForce({r.id: r.to_dict() for r in rules}, confirmed=True)


def recover(evaluation: Mapping[str, Any], *, base: Path | None = None) -> RulesInForce:
    """Re-resolve the recorded policy folder and keep it only if its digest is the recorded one."""
    from govkit.policy.loader import load_policy

    recorded = evaluation.get("policy", {})
    root_text = evaluation.get("inputs", {}).get("policy_root")
    if not root_text:
        return RulesInForce(why="the evaluation names no policy folder")
    root = Path(root_text)
    if not root.is_absolute():
        root = (base or Path.cwd()) / root
    if not root.exists():
        return RulesInForce(why=f"the policy folder {root_text} is not here")
    team, name = evaluation.get("team"), recorded.get("name")
    for as_team, policy_set in ((team, None), (team, name), (None, name)):
        try:
            policy = load_policy(root, team=as_team, policy_set=policy_set)
        except GovkitError:
            continue
        if policy.digest == recorded.get("digest"):
            return from_policy(policy.rules)
    return RulesInForce(why=f"the policy in {root_text} has changed since the evaluation (digest differs)")
