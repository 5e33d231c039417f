"""The shape of the licence check's measurement, shared by `measure`, `judge` and the report.

The evaluation stores it as plain JSON; these TypedDicts only name its keys, so a typo in a
key is a mypy error. Changing a shape changes every evaluation digest: add keys, never rename.
"""

# no `from __future__ import annotations`: Python 3.11 would then lose NotRequired in __optional_keys__
from typing import Literal, TypedDict

ComponentKind = Literal["model", "base_model", "dataset", "dependency"]


class LicenceEntry(TypedDict):
    id: str
    known: bool
    traits: list[str]
    name: str | None


class Component(TypedDict):
    kind: ComponentKind
    name: str
    declared: str | None  # as written in the manifest or the package metadata
    expression: str | None  # normalised SPDX expression; None when nothing was declared
    source: str  # where the declaration was read
    licences: list[LicenceEntry]


class LicenseMeasurement(TypedDict):
    components: list[Component]
    dependencies_declared: bool
