"""Every audit-log action name and subject encoding, defined once.

The writers (`log.py`, `records.py`, the report workflow, evidence export) and the readers
(`verify.py`, export scoping) import these. Two copies stay literal on purpose, each checked
against this module by a test: the SQL triggers in `sqlite.py` / `postgres.py` (SQL text) and the
bundle's stand-alone `evidence/verify.py` (it must run without govkit; the key actions come from
the `chain.py` it ships with).
"""

from __future__ import annotations

import re

from govkit.audit.chain import KEY_ADDED, KEY_ROTATED

__all__ = [
    "EVALUATION_RECORDED",
    "EVIDENCE_EXPORTED",
    "KEY_ACTIONS",
    "KEY_ADDED",
    "KEY_ROTATED",
    "LIFECYCLE_CHANGED",
    "LOG_REDACTED",
    "MODEL_REGISTERED",
    "NOTIFICATION_FAILED",
    "REDACTED_SUBJECT",
    "REPORT_RENDERED",
    "SIGNOFF_DECIDED",
    "SIGNOFF_RECORDED",
    "WAIVER_USED",
    "key_subject",
    "model_name_problem",
    "model_subject",
    "seq_subject",
]

KEY_ACTIONS = (KEY_ADDED, KEY_ROTATED)
LOG_REDACTED = "log.redacted"
EVALUATION_RECORDED = "evaluation.recorded"
WAIVER_USED = "waiver.used"
REPORT_RENDERED = "report.rendered"
SIGNOFF_DECIDED = "signoff.decided"
SIGNOFF_RECORDED = "signoff.recorded"
EVIDENCE_EXPORTED = "evidence.exported"
MODEL_REGISTERED = "model.registered"  # govkit inventory register: team, owner, risk tier of a version
LIFECYCLE_CHANGED = "lifecycle.changed"  # govkit lifecycle set: a version's new state and why
NOTIFICATION_FAILED = "notification.failed"  # a webhook that could not be delivered (the event is logged anyway)

REDACTED_SUBJECT = re.compile(r"seq:([1-9][0-9]{0,17})")  # the subject of a redaction: the entry it redacts


def model_subject(model: dict[str, object]) -> str:
    """`name@version`: what evaluations, waivers, reports and sign-offs are about."""
    return f"{model['name']}@{model['version']}"


def model_name_problem(name: str) -> str | None:
    """Why `name` cannot name a model, or None. A name holding `@` would make subjects ambiguous:
    model `m` version `1@rc` and model `m@1` version `rc` would share `m@1@rc`; with no `@` in
    names a subject splits at its first `@`, and a version may hold any."""
    return "must not contain '@' (the audit log names a version as model@version)" if "@" in name else None


def seq_subject(seq: int) -> str:
    return f"seq:{seq}"


def key_subject(key_id: str) -> str:
    return f"key:{key_id}"
