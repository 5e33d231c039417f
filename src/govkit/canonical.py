"""Canonical JSON (RFC 8785) and SHA-256 digests: the identity of everything we record."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import rfc8785

_CHUNK = 1 << 20


def jsonable(value: Any) -> Any:
    """Turn tuples, numpy scalars and non-finite floats into plain JSON values.

    RFC 8785 refuses NaN/Infinity, and a measurement may legitimately be undefined
    (e.g. a ratio over an empty group), so those become None.
    """
    if isinstance(value, Mapping):
        return jsonable_mapping(value)
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    item = getattr(value, "item", None)  # numpy scalar
    if callable(item):
        return jsonable(item())
    return str(value)


def jsonable_mapping(value: Mapping[Any, Any]) -> dict[str, Any]:
    """`jsonable` for a mapping, typed as the JSON object it becomes."""
    return {str(k): jsonable(v) for k, v in value.items()}


def canonical_bytes(value: Any) -> bytes:
    return rfc8785.dumps(jsonable(value))


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def digest(value: Any) -> str:
    """SHA-256 over the RFC 8785 encoding of `value`."""
    return sha256_hex(canonical_bytes(value))


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()
