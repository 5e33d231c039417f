"""Policy file schemas: PolicySet, PolicyOverlay (team layer) and their rules."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from govkit.controls.catalogue import CONTROL_REF
from govkit.inventory.sections import LifecycleSection, NotificationsSection
from govkit.manifest import RiskTier
from govkit.validation import StrictModel
from govkit.vocab import SEVERITIES, Severity

RULE_ID = r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$"
ControlRef = Annotated[str, StringConstraints(pattern=CONTROL_REF)]


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity)


class AppliesTo(StrictModel):
    """Scope of a rule; an empty list (or absent key) means "all"."""

    risk_tiers: tuple[RiskTier, ...] = ()
    tasks: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()


class Rule(StrictModel):
    id: str = Field(pattern=RULE_ID, description="stable, namespaced id such as GK-LIC-001")
    title: str = Field(min_length=1)
    check: str = Field(description="rule kind, e.g. license.model or fairness.demographic_parity_ratio")
    params: dict[str, Any] = Field(default_factory=dict)
    severity: Severity
    applies_to: AppliesTo = AppliesTo()
    guideline: str | None = Field(default=None, pattern=r"^https?://")
    description: str | None = None
    locked: bool = False
    allow_relax: bool = False
    waivable: bool = True
    controls: tuple[ControlRef, ...] = Field(
        default=(),
        max_length=200,
        description="regulatory controls this rule evidences, as framework:id (e.g. eu-ai-act:art-10-2-f)",
    )


class WaiverPolicy(StrictModel):
    """Limits on the waivers a policy accepts; overlays may only tighten them."""

    max_days: int | None = Field(
        default=None, ge=1, le=36600, description="longest allowed waiver: expires - created (or - the evaluation date)"
    )


class PolicySet(StrictModel):
    apiVersion: Literal["govkit/v1"]
    kind: Literal["PolicySet"]
    name: str = Field(min_length=1)
    version: str = Field(min_length=1)
    description: str | None = None
    waivers: WaiverPolicy = WaiverPolicy()
    lifecycle: LifecycleSection | None = None
    notifications: NotificationsSection | None = None
    rules: tuple[Rule, ...] = Field(min_length=1)


class RuleOverride(StrictModel):
    severity: Severity | None = None
    params: dict[str, Any] | None = None
    applies_to: AppliesTo | None = None
    controls: tuple[ControlRef, ...] | None = Field(
        default=None, max_length=200, description="controls to add to the rule's (an overlay cannot remove one)"
    )


class Disable(StrictModel):
    justification: str = Field(min_length=10)


class PolicyOverlay(StrictModel):
    apiVersion: Literal["govkit/v1"]
    kind: Literal["PolicyOverlay"]
    name: str = Field(min_length=1)
    version: str = "0"
    extends: str = Field(min_length=1, description="name of a PolicySet or another overlay")
    team: str | None = None
    description: str | None = None
    waivers: WaiverPolicy | None = None
    lifecycle: LifecycleSection | None = Field(default=None, description="may only tighten the set's")
    notifications: NotificationsSection | None = Field(default=None, description="webhooks added for this team")
    overrides: dict[str, RuleOverride] = Field(default_factory=dict)
    add: tuple[Rule, ...] = ()
    disable: dict[str, Disable] = Field(default_factory=dict)
