"""Hugging Face model cards, offline: the YAML front matter of a `README.md`.

The front matter is parsed by govkit.yamlio (size, depth, alias and duplicate-key limits), not by
`yaml.safe_load`; the fields read are those of huggingface_hub's `ModelCardData` (license,
license_name, license_link, base_model, datasets, model-index). A base model's licence is not on
the card: `govkit init` writes it as UNKNOWN unless `--base-model-license NAME=LICENCE` says it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from govkit.errors import IntakeError
from govkit.intake.interface import BaseModelFact, ModelFacts, read_bounded
from govkit.yamlio import MAX_FILE_BYTES, parse_yaml

FRONT_MATTER = re.compile(rb"\A(?:\xef\xbb\xbf)?---[ \t]*\r?\n(.*?\r?\n)?---[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_REF_UNSAFE = re.compile(r"[^A-Za-z0-9.\-]+")
MAX_NOTED_METRICS = 8  # the card's claims, as comments in the manifest; govkit measures its own


def front_matter(path: Path) -> dict[str, Any]:
    """The card's metadata mapping; a card without front matter is an input error."""
    raw = read_bounded(path, limit=MAX_FILE_BYTES * 4)
    match = FRONT_MATTER.match(raw)
    if match is None:
        raise IntakeError("no YAML front matter (a card starts with a '---' line)", file=path, field="front matter")
    data = parse_yaml(match.group(1) or b"", path, error=IntakeError).data
    if not isinstance(data, dict):
        raise IntakeError("front matter is not a mapping", file=path, field="front matter")
    return data


def card_licence(data: dict[str, Any], path: Path) -> tuple[str | None, list[str]]:
    """The card's licence as an expression govkit reads, and notes; `other` + license_name -> LicenseRef-<name>."""
    licence = data.get("license")
    if isinstance(licence, list):  # the Hub allows a list; each applies
        licence = " AND ".join(str(x) for x in licence) if licence else None
    if licence is None:
        return None, []
    text = str(licence).strip()
    notes = []
    if text.lower() == "other" and data.get("license_name"):
        named = str(data["license_name"]).strip()
        compound = named.startswith("LicenseRef-") or any(op in named for op in (" AND ", " OR ", " WITH "))
        text = named if compound else "LicenseRef-" + _REF_UNSAFE.sub("-", named).strip("-")
        notes.append(f"card licence 'other' named {data['license_name']}")
    if data.get("license_link"):
        notes.append(f"card license_link: {data['license_link']}")
    from govkit.licensing.expressions import check_expression_syntax

    try:
        check_expression_syntax(text)
    except ValueError as exc:
        raise IntakeError(str(exc), file=path, field="license") from None
    return text, notes


def _strings(value: Any, path: Path, field: str) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(i, str) and i.strip() for i in items):
        raise IntakeError("expected a name or a list of names", file=path, field=field)
    return tuple(i.strip() for i in items)


def eval_metrics(data: dict[str, Any], path: Path) -> list[dict[str, Any]]:
    """`model-index` results flattened to {task, dataset, metric, value} (the card's own claims)."""
    index = data.get("model-index")
    if index is None:
        return []
    out = []
    try:
        for model in index:
            for result in model.get("results", []):
                task = result.get("task", {}).get("type")
                dataset = result.get("dataset", {}).get("name") or result.get("dataset", {}).get("type")
                for metric in result.get("metrics", []):
                    out.append(
                        {
                            "task": task,
                            "dataset": dataset,
                            "metric": metric["type"],
                            "name": metric.get("name"),
                            "value": metric["value"],
                        }
                    )
    except (AttributeError, KeyError, TypeError):
        raise IntakeError(
            "model-index is not a list of {name, results: [{task, dataset, metrics}]}", file=path, field="model-index"
        ) from None
    return out


def read_card(path: Path) -> ModelFacts:
    data = front_matter(path)
    licence, notes = card_licence(data, path)
    bases = _strings(data.get("base_model"), path, "base_model")
    metrics = eval_metrics(data, path)
    for m in metrics[:MAX_NOTED_METRICS]:
        notes.append(f"card reports {m['name'] or m['metric']} = {m['value']} on {m['dataset']}")
    if len(metrics) > MAX_NOTED_METRICS:
        notes.append(f"... and {len(metrics) - MAX_NOTED_METRICS} more model-index metrics")
    name = data.get("model_name") or (data["model-index"][0].get("name") if data.get("model-index") else None)
    return ModelFacts(
        name=str(name) if name else None,
        license=licence,
        base_models=tuple(BaseModelFact(b) for b in bases),
        datasets=_strings(data.get("datasets"), path, "datasets"),
        notes=(f"Hugging Face card {path}", *notes),
    )
