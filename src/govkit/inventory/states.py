"""The lifecycle vocabulary, in one place: states, the transitions between them, and the log actions.

A version enters the inventory as `registered` (by `govkit inventory register` or its first recorded
evaluation). Review decides it; only a decided-positive version may be deployed; a deployed version
can be suspended and come back, and anything may be retired for good.
"""

from __future__ import annotations

from typing import Literal, get_args

State = Literal[
    "registered",
    "in-review",
    "approved",
    "approved-with-conditions",
    "rejected",
    "deployed",
    "suspended",
    "retired",
]
STATES: tuple[State, ...] = get_args(State)
INITIAL: State = "registered"
APPROVED: frozenset[State] = frozenset({"approved", "approved-with-conditions"})
# states in which a version is in use or cleared for use, so its periodic review falls due
REVIEWED: frozenset[State] = frozenset({"approved", "approved-with-conditions", "deployed", "suspended"})

TRANSITIONS: dict[State, frozenset[State]] = {
    "registered": frozenset({"in-review", "retired"}),
    "in-review": frozenset({"approved", "approved-with-conditions", "rejected", "retired"}),
    "approved": frozenset({"deployed", "in-review", "retired"}),
    "approved-with-conditions": frozenset({"deployed", "in-review", "retired"}),
    "rejected": frozenset({"in-review", "retired"}),
    "deployed": frozenset({"suspended", "in-review", "retired"}),
    "suspended": frozenset({"deployed", "in-review", "retired"}),
    "retired": frozenset(),
}

# The sign-off decision that backs each decided state (a sign-off of that exact version).
DECISION_FOR: dict[State, str] = {
    "approved": "approve",
    "approved-with-conditions": "approve-with-conditions",
    "rejected": "reject",
}
