"""What each intake source reports, in one shape, so `govkit init` merges sources without knowing them.

A source answers only what it knows (None / empty otherwise); flags and prompts fill the rest,
and whatever is still missing is written as a commented TODO, never guessed silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from govkit.errors import IntakeError

MAX_INTAKE_BYTES = 16 << 20  # a card, an MLmodel or a BOM describes a model; it never carries data


def read_bounded(path: Path, limit: int = MAX_INTAKE_BYTES) -> bytes:
    """The bytes of an intake file, refused (one line, exit 2) when missing, unreadable or too large."""
    from govkit.yamlio import read_bounded as read_small

    return read_small(path, limit=limit, error=IntakeError)


@dataclass(frozen=True)
class BaseModelFact:
    name: str
    license: str | None = None  # None: the source does not say; written as UNKNOWN


@dataclass(frozen=True)
class ModelFacts:
    """What one source says about a model; `notes` (provenance: run id, model uuid) become YAML comments."""

    name: str | None = None
    version: str | None = None
    team: str | None = None
    owner: str | None = None
    risk_tier: str | None = None
    license: str | None = None
    intended_use: str | None = None
    artifact: str | None = None  # absolute path of the saved model file
    base_models: tuple[BaseModelFact, ...] = ()
    features: tuple[str, ...] = ()
    datasets: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)

    def merged(self, other: ModelFacts) -> ModelFacts:
        """`other` where it says something, else this."""
        changes: dict[str, Any] = {}
        for f in fields(self):
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            if f.name == "notes":
                changes[f.name] = (*mine, *theirs)
            elif theirs not in (None, ()):
                changes[f.name] = theirs
        return replace(self, **changes)
