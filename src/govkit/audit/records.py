"""What govkit writes to the log for each kind of event, in one place."""

from __future__ import annotations

from govkit.audit.interface import Entry
from govkit.audit.log import AuditLog
from govkit.evaluation import Evaluation

EVALUATION_RECORDED = "evaluation.recorded"
WAIVER_USED = "waiver.used"


def model_subject(model: dict[str, object]) -> str:
    return f"{model['name']}@{model['version']}"


def record_evaluation(log: AuditLog, evaluation: Evaluation) -> Entry:
    """One transaction: the evaluation (digests of all inputs, full result) and each waiver used."""
    subject = model_subject(dict(evaluation.model))
    digest = evaluation.digest
    items = [(EVALUATION_RECORDED, subject, {"evaluation_digest": digest, "evaluation": evaluation.to_dict()})]
    items += [
        (WAIVER_USED, subject, {"evaluation_digest": digest, "waiver": w.to_dict()})
        for w in evaluation.waivers
        if w.status == "used"
    ]
    return log.append_many(items)[0]
