"""Decide whether an overlay's change to a rule tightens it or relaxes it."""

from __future__ import annotations

from typing import Any

from govkit.checks.interface import RuleParams
from govkit.policy.schema import severity_rank


def _as_set(value: Any) -> set[Any]:
    return set(value or ())


def _tighter(direction: Any, old: Any, new: Any) -> bool:
    if old == new:
        return True
    if direction == "lower":
        return new is not None and (old is None or new <= old)
    if direction == "higher":
        return new is not None and (old is None or new >= old)
    if direction == "subset":  # e.g. an allow-list: None means "anything"
        return new is not None and (old is None or _as_set(new) <= _as_set(old))
    if direction == "superset":  # e.g. a deny-list
        return _as_set(new) >= _as_set(old)
    if isinstance(direction, list | tuple):  # ordered from lenient to strict
        try:
            return direction.index(new) >= direction.index(old)
        except ValueError:
            return False
    return False  # undeclared: any change counts as relaxing


def relaxed_params(model: type[RuleParams], old: RuleParams, new: RuleParams) -> list[str]:
    """Names of parameters that `new` relaxes compared with `old`."""
    relaxed = []
    for name, info in model.model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        if not _tighter(extra.get("stricter"), getattr(old, name), getattr(new, name)):
            relaxed.append(name)
    return relaxed


def relaxes_severity(old: str, new: str) -> bool:
    return severity_rank(new) < severity_rank(old)
