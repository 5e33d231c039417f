"""The policy's `lifecycle:` and `notifications:` sections as validated models (the policy schema).

Kept apart from `config.py` (how the sections combine into a team's rules) so that reading the
inventory does not import pydantic: only loading a policy folder does.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from govkit.validation import StrictModel

Event = Literal["evaluation.failed", "signoff.recorded", "state.changed", "review.overdue", "monitoring.failed"]
WebhookFormat = Literal["json", "slack", "teams"]
Months = Field(default=None, ge=1, le=120)


class ReviewMonths(StrictModel):
    """Months between periodic reviews, by risk tier."""

    high: int | None = Months
    medium: int | None = Months
    low: int | None = Months


class DeployGuardrails(StrictModel):
    """What `govkit lifecycle set ... deployed` requires of that exact version."""

    require_signoff: bool | None = Field(default=None, description="an approve sign-off of the version (default true)")
    require_passing_evaluation: bool | None = Field(
        default=None, description="a passing evaluation under the team's current policy (default true)"
    )
    max_evaluation_age_days: int | None = Field(
        default=None, ge=1, le=3660, description="that evaluation is at most this old (default 90)"
    )


class LifecycleSection(StrictModel):
    review_months: ReviewMonths = ReviewMonths()
    deploy: DeployGuardrails = DeployGuardrails()
    four_eyes: bool | None = Field(
        default=None, description="whoever asked for the review may not approve or deploy it (default true)"
    )


class Webhook(StrictModel):
    url: str = Field(pattern=r"^https?://[^\s/]+", max_length=2000, description="http or https URL")
    format: WebhookFormat = "json"
    events: tuple[Event, ...] = Field(default=(), description="events to send (default: all)")
    timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    retries: int = Field(default=3, ge=0, le=10)


class NotificationsSection(StrictModel):
    webhooks: tuple[Webhook, ...] = Field(default=(), max_length=20)
