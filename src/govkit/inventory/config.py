"""The `lifecycle:` and `notifications:` sections of a policy set or overlay, and how they combine.

The platform team sets the lifecycle guardrails in the policy set; a team overlay may only tighten
them (shorter review cadence, younger evaluations, more checks switched on), never relax them, so
a team cannot deploy on weaker evidence than the baseline asks. Webhooks accumulate: the set's go
to every team, an overlay's add the team's own.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from govkit.errors import PolicyError
    from govkit.inventory.sections import LifecycleSection, Webhook
    from govkit.policy.loader import PolicyDoc, PolicyLibrary

DEFAULT_REVIEW_MONTHS = {"high": 6, "medium": 12, "low": 24}
DEFAULT_MAX_EVALUATION_AGE_DAYS = 90


@dataclass(frozen=True)
class LifecycleRules:
    """A team's effective lifecycle rules."""

    review_months: dict[str, int]
    require_signoff: bool = True
    require_passing_evaluation: bool = True
    max_evaluation_age_days: int | None = DEFAULT_MAX_EVALUATION_AGE_DAYS
    four_eyes: bool = True
    policy_digest: str | None = None  # the team's resolved rule policy; None when no policy was given
    webhooks: tuple[Webhook, ...] = ()

    @staticmethod
    def defaults() -> LifecycleRules:
        return LifecycleRules(review_months=dict(DEFAULT_REVIEW_MONTHS))

    def review_months_for(self, risk_tier: str) -> int:
        return self.review_months.get(risk_tier, self.review_months["high"])  # undeclared tier: strictest


def _tighten(rules: LifecycleRules, section: LifecycleSection, overlay: PolicyDoc | None) -> LifecycleRules:
    """Apply one layer; in an overlay, a value that relaxes the rules so far is a PolicyError naming the key."""

    def refuse(key: str, old: object, new: object) -> PolicyError:
        assert overlay is not None
        path = ("lifecycle", *key.split("."))
        return overlay.error(f"relaxes {old} -> {new}; an overlay may only tighten lifecycle rules", path)

    months = dict(rules.review_months)
    for tier in ("high", "medium", "low"):
        new = getattr(section.review_months, tier)
        if new is not None:
            if new > months[tier] and overlay is not None:
                raise refuse(f"review_months.{tier}", months[tier], new)
            months[tier] = new
    flags: dict[str, bool] = {}
    for key, new_flag, old_flag in (
        ("deploy.require_signoff", section.deploy.require_signoff, rules.require_signoff),
        (
            "deploy.require_passing_evaluation",
            section.deploy.require_passing_evaluation,
            rules.require_passing_evaluation,
        ),
        ("four_eyes", section.four_eyes, rules.four_eyes),
    ):
        if new_flag is not None:
            if old_flag and not new_flag and overlay is not None:
                raise refuse(key, old_flag, new_flag)
            flags[key.rsplit(".", 1)[-1]] = new_flag
    age = rules.max_evaluation_age_days
    new_age = section.deploy.max_evaluation_age_days
    if new_age is not None:
        if age is not None and new_age > age and overlay is not None:
            raise refuse("deploy.max_evaluation_age_days", age, new_age)
        age = new_age
    return LifecycleRules(
        review_months=months,
        require_signoff=flags.get("require_signoff", rules.require_signoff),
        require_passing_evaluation=flags.get("require_passing_evaluation", rules.require_passing_evaluation),
        max_evaluation_age_days=age,
        four_eyes=flags.get("four_eyes", rules.four_eyes),
        policy_digest=rules.policy_digest,
        webhooks=rules.webhooks,
    )


def lifecycle_rules(path: Path, *, team: str | None, policy_set: str | None = None) -> LifecycleRules:
    """The effective lifecycle rules and webhooks of `team` under the policy folder `path`.

    The base set may set any value (it is the baseline); each overlay above it may only tighten.
    """
    return _resolve_rules(_library(path), team=team, policy_set=policy_set)


def _library(path: Path) -> PolicyLibrary:
    from govkit.policy.loader import load_library

    return load_library(path)


def _resolve_rules(library: PolicyLibrary, *, team: str | None, policy_set: str | None) -> LifecycleRules:
    from govkit.policy.loader import layers_for, resolve

    rules = LifecycleRules.defaults()
    webhooks: list[Webhook] = []
    for i, layer in enumerate(layers_for(library, team=team, policy_set=policy_set)):
        section = layer.spec.lifecycle
        if section is not None:
            rules = _tighten(rules, section, layer if i else None)
        if layer.spec.notifications is not None:
            webhooks += layer.spec.notifications.webhooks
    digest = resolve(library, team=team, policy_set=policy_set).digest
    return replace(rules, policy_digest=digest, webhooks=tuple(webhooks))


def policy_folder(given: Path | None) -> Path | None:
    """The policy folder to take lifecycle rules and webhooks from: `given` (--policy or
    GOVKIT_POLICY), else ./policies when it exists, else None (the defaults, no webhooks)."""
    if given is not None:
        return given
    env = os.environ.get("GOVKIT_POLICY")
    if env:
        return Path(env)
    return Path("policies") if Path("policies").is_dir() else None


def rules_source(policy: Path | None, policy_set: str | None = None) -> Callable[[str], LifecycleRules]:
    """`team -> LifecycleRules` from the policy folder (each team resolved once), or the defaults.

    The folder is loaded on the first call, not before: an inventory with no reviewed version
    never needs it, and loading (every check's rule kinds, every YAML file) takes most of a second.
    """
    if policy is None:
        return lambda _team: LifecycleRules.defaults()
    library = functools.cache(lambda: _library(policy))

    @functools.cache
    def rules(team: str) -> LifecycleRules:
        return _resolve_rules(library(), team=team or None, policy_set=policy_set)

    return rules
