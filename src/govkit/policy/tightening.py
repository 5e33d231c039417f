"""Decide whether an overlay's change to a rule tightens it or relaxes it.

Directions a parameter may declare (`json_schema_extra={"stricter": ...}`):

- "lower" / "higher": a number; None means "no limit", so setting one tightens and removing it relaxes.
- "subset": an allow-list; None means "anything", so only a (smaller) list is tighter.
- "superset": a deny-list or a list of things to check; None is not a value (the empty list is).
- "superset-or-all": a scope where None means "all of them" (e.g. every sensitive feature): None is
  the widest scope, so narrowing None to a list relaxes, and widening a list to None tightens.
- "superset-or-default": a scope where None means "whatever the manifest declares" (e.g. its
  quasi-identifiers): that is not comparable with a fixed list, so moving to or from None relaxes.
- a list of values ordered from lenient to strict.

Anything undeclared may not change at all.
"""

from __future__ import annotations

from typing import Any

from govkit.checks.interface import RuleParams
from govkit.policy.schema import severity_rank

DIRECTIONS = ("lower", "higher", "subset", "superset", "superset-or-all", "superset-or-default")


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
        return new is not None and _as_set(new) >= _as_set(old)
    if direction == "superset-or-all":
        return new is None or (old is not None and _as_set(new) >= _as_set(old))
    if direction == "superset-or-default":
        return new is not None and old is not None and _as_set(new) >= _as_set(old)
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
