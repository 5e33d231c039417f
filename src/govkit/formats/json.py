"""Versioned JSON: the evaluation exactly as recorded, plus its digest."""

from __future__ import annotations

from govkit.evaluation import Evaluation
from govkit.formats.common import json_text
from govkit.formats.interface import Formatter


class JsonFormatter(Formatter):
    name = "json"
    suffix = ".json"

    def render(self, evaluation: Evaluation, *, digest: str | None = None, color: bool = False) -> str:
        doc = evaluation.to_dict()
        doc = {"schema_version": doc.pop("schema_version"), "evaluation_digest": digest or evaluation.digest, **doc}
        return json_text(doc, indent=2) + "\n"
