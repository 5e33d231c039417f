"""Turn pydantic validation errors into one-line GovkitErrors that name file, line and key."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import ErrorDetails

from govkit.errors import GovkitError
from govkit.yamlio import KeyPath, YamlDocument

M = TypeVar("M", bound=BaseModel)


class StrictModel(BaseModel):
    """Base for every user-facing schema: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def dotted(path: KeyPath) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _message(err: ErrorDetails) -> str:
    msg = str(err["msg"])
    if msg.startswith(("Value error, ", "Assertion failed, ")):
        msg = msg.split(", ", 1)[1]
    if err["type"] == "extra_forbidden":
        return "unknown key"
    if err["type"] == "missing":
        return "required key is missing"
    return msg


def _clean_loc(loc: tuple[Any, ...]) -> KeyPath:
    # pydantic inserts union-member and validator tags into locations; drop them
    return tuple(p for p in loc if isinstance(p, int) or not str(p).startswith(("function-", "union[")))


def validate_document(
    model: type[M],
    data: Any,
    *,
    doc: YamlDocument,
    error: type[GovkitError],
    prefix: KeyPath = (),
) -> M:
    """Validate `data` (found at `prefix` in `doc`) against `model`, or raise one clear error."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        first = errors[0]
        path = (*prefix, *_clean_loc(tuple(first["loc"])))
        more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
        raise error(
            _message(first) + more,
            file=doc.path,
            field=dotted(path) or None,
            line=doc.line_of(path),
        ) from None


def require_unique_ids(
    doc: YamlDocument, ids: Sequence[str], list_key: str, what: str, error: type[GovkitError]
) -> None:
    """Refuse the first id of `doc[list_key][*].id` seen twice, at its own line."""
    seen: set[str] = set()
    for i, value in enumerate(ids):
        if value in seen:
            raise error(
                f"duplicate {what} {value!r}",
                file=doc.path,
                field=f"{list_key}[{i}].id",
                line=doc.line_of((list_key, i, "id")),
            )
        seen.add(value)
