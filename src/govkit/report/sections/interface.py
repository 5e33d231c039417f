"""The report-section seam: one chapter of the compliance report = one `ReportSection`.

A section decides whether it has anything to say about an evaluation (`applies`), turns the
recorded evaluation plus the rule parameters actually in force into plain values (`context`), and
names the jinja2 partial that shows them. The layout (templates/report.html.j2) only walks the
sections in `order`: it builds the table of contents from them and includes each partial with its
context as `c`. Built-in sections are listed in `registry.py`; a check adds its own chapter through
`Check.report_sections()`; the report workflow can pass further sections (`ReportInputs.sections`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from govkit.report.rules import RulesInForce

__all__ = ["Part", "ReportSection", "RulesInForce"]

Part = Literal["body", "appendix"]


class ReportSection(ABC):
    """One chapter. Subclasses set the class attributes and implement `applies` and `context`.

    `template` is a file name inside `template_dir`; built-ins keep theirs in
    govkit/report/templates/sections/, a plug-in section points `template_dir` at its own package
    folder (the file is then loaded as `plugins/<id>/<template>`). The partial sees the section's
    context as `c`, the whole evaluation as `ev`, and the section itself as `section`.
    `summary_template`, if set, is a small partial shown on the executive summary page with the
    same `c` (keep it to a few lines: the summary must fit one page).
    """

    id: str  # anchor and identity: lowercase, unique across the report
    title: str
    order: int  # chapters sort by (part, order); built-ins use 100, 200, ... so others fit between
    template: str
    template_dir: Path | None = None
    part: Part = "body"
    summary_template: str | None = None
    # the areas (finding areas = measurement keys = check names) this chapter shows, so their
    # findings get no generic chapter and their measurements no raw dump in the appendix
    areas: frozenset[str] = frozenset()

    @abstractmethod
    def applies(self, evaluation: Mapping[str, Any]) -> bool:
        """Whether this evaluation has anything for this chapter (no chapter, no contents entry)."""

    @abstractmethod
    def context(self, evaluation: Mapping[str, Any], rules: RulesInForce) -> Mapping[str, Any]:
        """Plain values for the partial. Thresholds come from `rules`, never from assumed defaults."""

    def template_name(self) -> str:
        return self.template if self.template_dir is None else f"plugins/{self.id}/{self.template}"

    def summary_template_name(self) -> str | None:
        if self.summary_template is None:
            return None
        return self.summary_template if self.template_dir is None else f"plugins/{self.id}/{self.summary_template}"
