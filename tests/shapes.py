"""Does a measurement (parsed JSON) have the shape its check's TypedDict declares?

The TypedDicts only help mypy if they describe what `measure` really writes; this walks the
real JSON against them, so a key added to one and not the other fails a test.
"""

from __future__ import annotations

import types
import typing
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints, is_typeddict


def problems(value: Any, tp: Any, path: str = "$") -> list[str]:
    """Every place where `value` does not fit `tp` (empty when it fits)."""
    if tp is Any:
        return []
    if is_typeddict(tp):
        if not isinstance(value, dict):
            return [f"{path}: expected an object, got {type(value).__name__}"]
        hints = get_type_hints(tp)
        out = [f"{path}.{k}: missing" for k in sorted(tp.__required_keys__ - value.keys())]
        out += [f"{path}.{k}: not declared in {tp.__name__}" for k in sorted(value.keys() - hints.keys())]
        for key in sorted(value.keys() & hints.keys()):
            out += problems(value[key], hints[key], f"{path}.{key}")
        return out
    origin, args = get_origin(tp), get_args(tp)
    if origin in (Union, types.UnionType):
        branches = [problems(value, a, path) for a in args]
        return [] if any(not b for b in branches) else min(branches, key=len)
    if origin is Literal:
        return [] if value in args else [f"{path}: {value!r} is not one of {args}"]
    if origin is list:
        if not isinstance(value, list):
            return [f"{path}: expected a list, got {type(value).__name__}"]
        return [p for i, item in enumerate(value) for p in problems(item, args[0], f"{path}[{i}]")]
    if origin is dict:
        if not isinstance(value, dict):
            return [f"{path}: expected an object, got {type(value).__name__}"]
        return [p for k, item in value.items() for p in problems(item, args[1], f"{path}[{k!r}]")]
    if tp is type(None):
        return [] if value is None else [f"{path}: expected null, got {value!r}"]
    if tp is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return [] if ok else [f"{path}: expected a number, got {value!r}"]
    if tp is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        return [] if ok else [f"{path}: expected an integer, got {value!r}"]
    if isinstance(tp, type):
        return [] if isinstance(value, tp) else [f"{path}: expected {tp.__name__}, got {value!r}"]
    raise TypeError(f"{path}: shapes.py does not know {tp!r}")


def assert_shape(value: Any, tp: Any) -> None:
    found = problems(value, tp)
    assert not found, "\n".join(found[:20])


__all__ = ["assert_shape", "problems", "typing"]
