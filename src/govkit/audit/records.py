"""What govkit writes to the log for each kind of event, in one place."""

from __future__ import annotations

from typing import Any

from govkit.audit.interface import Entry
from govkit.audit.log import AuditLog
from govkit.errors import GovkitError
from govkit.evaluation import Evaluation

EVALUATION_RECORDED = "evaluation.recorded"
WAIVER_USED = "waiver.used"
REPORT_RENDERED = "report.rendered"
SIGNOFF_DECIDED = "signoff.decided"
SIGNOFF_RECORDED = "signoff.recorded"
MODEL_REGISTERED = "model.registered"  # govkit inventory register: team, owner, risk tier of a version
LIFECYCLE_CHANGED = "lifecycle.changed"  # govkit lifecycle set: a version's new state and why
NOTIFICATION_FAILED = "notification.failed"  # a webhook that could not be delivered (the event is logged anyway)


def model_subject(model: dict[str, object]) -> str:
    return f"{model['name']}@{model['version']}"


def evaluation_items(evaluation: Evaluation) -> list[tuple[str, str, dict[str, Any]]]:
    """The entries recording an evaluation: the evaluation itself (digests of all inputs, full
    result), then each waiver used; for `record_evaluation`, or a batch of many."""
    subject = model_subject(dict(evaluation.model))
    digest = evaluation.digest
    items = [(EVALUATION_RECORDED, subject, {"evaluation_digest": digest, "evaluation": evaluation.to_dict()})]
    items += [
        (WAIVER_USED, subject, {"evaluation_digest": digest, "waiver": w.to_dict()})
        for w in evaluation.waivers
        if w.status == "used"
    ]
    return items


def record_evaluation(log: AuditLog, evaluation: Evaluation) -> Entry:
    """One transaction: the evaluation and each waiver used."""
    return log.append_many(evaluation_items(evaluation))[0]


def find_evaluation(
    log: AuditLog,
    *,
    digest: str | None = None,
    model: str | None = None,
) -> tuple[Entry, dict[str, Any]]:
    """The recorded evaluation with this digest (or unique prefix), or the latest one for `model`.

    The entry found is verified (`AuditLog.read_verified`) before its payload is returned: a
    forged or edited row raises LogIntegrityError instead of rendering as the recorded result.
    """
    if digest is not None and len(digest) < 8:
        raise GovkitError("give at least 8 characters of the evaluation digest", field="EVALUATION_DIGEST")
    candidates = log.entries(action=EVALUATION_RECORDED, model=model)
    matches = []
    for entry in reversed(candidates):
        payload = log.payload(entry.seq)
        if payload is None:
            continue  # redacted
        if digest is None or str(payload.get("evaluation_digest", "")).startswith(digest):
            matches.append((entry, payload))
            if digest is None:
                break
    if not matches:
        what = f"digest {digest}" if digest else f"model {model}"
        raise GovkitError(f"no recorded evaluation for {what} in {log.location}")
    if len({p.get("evaluation_digest") for _, p in matches}) > 1:
        raise GovkitError(f"digest prefix {digest} is ambiguous; give more characters")
    entry = matches[0][0]
    return entry, log.read_verified(entry)  # found by an unverified read: act only on what verifies


def find_by_file_digest(log: AuditLog, sha256: str) -> tuple[Entry, dict[str, Any]] | None:
    """The report rendering or sign-off that produced a file with this SHA-256, newest first (verified, as above)."""
    for action, key in ((SIGNOFF_RECORDED, "signed_sha256"), (REPORT_RENDERED, "sha256")):
        for entry in reversed(log.entries(action=action)):
            payload = log.payload(entry.seq)
            if payload is not None and payload.get(key) == sha256:
                return entry, log.read_verified(entry)
    return None
