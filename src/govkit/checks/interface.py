"""The check seam: a Check measures once per evaluation and judges any number of rules.

Measuring is the expensive part (reading data, running SHAP), so the engine calls
`measure` at most once per check per evaluation; `judge` only reads the measurement and
applies a rule's parameters. A team overlay that changes a threshold never re-measures.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

__all__ = ["Check", "CheckContext", "CheckOptions", "Measurement", "Outcome", "OutcomeStatus", "RuleParams"]

if TYPE_CHECKING:
    from govkit.manifest import LoadedManifest
    from govkit.report.sections.interface import ReportSection

OutcomeStatus = Literal["pass", "fail", "warn", "error"]


class RuleParams(BaseModel):
    """Parameters of one rule kind.

    Each field may declare how it tightens, as `json_schema_extra={"stricter": ...}`:
    "lower" / "higher" (numbers), "subset" / "superset" (lists), or a list of values ordered
    from lenient to strict. Overlays may move a field only in its stricter direction unless the
    base rule says `allow_relax: true`; a field that declares nothing may not change at all.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class CheckOptions:
    """Run-wide switches a check may honour."""

    as_of: date
    full_scan: bool = False
    trust_model: bool = False
    engine: str = "auto"  # where cohort counts run: auto, pandas, duckdb, spark
    duckdb_above: int = 10**9  # with engine auto, data larger than this (bytes on disk) goes to DuckDB
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CheckContext:
    manifest: LoadedManifest
    options: CheckOptions
    # rule kinds (e.g. "license.model") that will be judged, so a check can skip unused work
    kinds: frozenset[str] = frozenset()
    # every in-scope rule's parameters, for checks whose measuring depends on them
    params: tuple[tuple[str, RuleParams], ...] = ()


@dataclass(frozen=True)
class Measurement:
    """What a check found, JSON-serialisable. It goes into the evaluation as evidence."""

    check: str
    data: Mapping[str, Any]


@dataclass(frozen=True)
class Outcome:
    """The judgement of one rule on one subject (a component, dataset, cohort...)."""

    subject: str
    status: OutcomeStatus
    message: str
    measured: Any = None
    threshold: Any = None


class Check(ABC):
    """One area of checking. Subclasses declare their rule kinds and parameter models."""

    name: ClassVar[str]
    title: ClassVar[str]
    rule_kinds: ClassVar[Mapping[str, type[RuleParams]]]
    # which command judges its rules: "gate" (`govkit check`) or "monitor" (`govkit monitor`)
    purpose: ClassVar[Literal["gate", "monitor"]] = "gate"

    @abstractmethod
    def measure(self, ctx: CheckContext) -> Measurement:
        """Compute evidence once. Raise GovkitError for bad input, CheckError if it can't run."""

    @abstractmethod
    def judge(self, kind: str, params: RuleParams, measurement: Measurement) -> list[Outcome]:
        """Apply one rule's parameters to the measurement. Must not do I/O."""

    def locate(self, kind: str, subject: str) -> tuple[str | int, ...] | None:
        """The manifest key a finding is about (for SARIF regions and annotations); None = the rule itself."""
        return None

    @classmethod
    def report_sections(cls) -> Sequence[ReportSection]:
        """Chapters this check adds to the compliance report (see govkit/report/sections/interface.py).

        None by default: the check's findings then get a plain findings chapter and its measurement
        a raw dump in the appendix. Built-in checks' chapters are listed in report/sections/registry.py.
        """
        return ()
