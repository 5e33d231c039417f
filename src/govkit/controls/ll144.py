"""NYC Local Law 144 bias audit summary, computed from a recorded evaluation's cohort counts only.

The DCWP rules (6 RCNY 5-301, 5-303) ask for the number of individuals assessed, the selection
rate (or, for a continuous score, the scoring rate: share above the sample median) and the impact
ratio of every category of sex, of race/ethnicity and of their intersections, the number of
individuals with an unknown category, and allow leaving out of the impact ratios a category under
2% of the data if that is stated. Nothing is re-measured: every number follows from the
evaluation JSON, so anyone holding it can recompute the summary.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from govkit.errors import GovkitError

SMALL_SHARE = 0.02
UNKNOWN = "Unknown"  # the fairness engines' label for a missing value
Rate = Literal["selection", "scoring"]


@dataclass(frozen=True)
class Category:
    labels: tuple[str, ...]
    n: int
    rate: float | None
    impact_ratio: float | None
    excluded: bool = False


@dataclass(frozen=True)
class Section:
    title: str
    features: tuple[str, ...]
    categories: tuple[Category, ...]
    unknown_count: int


@dataclass(frozen=True)
class BiasAuditSummary:
    model: str
    evaluation_digest: str
    evaluated_at: str
    rate: Rate
    assessed: int
    exclude_small: bool
    sections: tuple[Section, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "evaluation_digest": self.evaluation_digest,
            "evaluated_at": self.evaluated_at,
            "rate": self.rate,
            "individuals_assessed": self.assessed,
            "small_categories_excluded": self.exclude_small,
            "small_share": SMALL_SHARE,
            "sections": [
                {
                    "title": s.title,
                    "features": list(s.features),
                    "unknown_count": s.unknown_count,
                    "categories": [
                        {
                            "category": list(c.labels),
                            "n": c.n,
                            "rate": c.rate,
                            "impact_ratio": c.impact_ratio,
                            "excluded": c.excluded,
                        }
                        for c in s.categories
                    ],
                }
                for s in self.sections
            ],
        }


def _table(tables: list[Mapping[str, Any]], features: tuple[str, ...]) -> Mapping[str, Any]:
    for table in tables:
        if set(table["features"]) == set(features):
            return table
    raise GovkitError(
        f"the evaluation has no cohort table for {' x '.join(features)}; the manifest's "
        "sensitive_features must list these columns and a fairness rule must have run",
        field="--sex/--race",
    )


def _rate(group: Mapping[str, Any], rate: Rate) -> float | None:
    if rate == "scoring":
        return group.get("scoring_rate")
    return (group["fp"] + group["tp"]) / group["n"] if group["n"] else None


def _section(
    title: str, table: Mapping[str, Any], features: tuple[str, ...], rate: Rate, assessed: int, exclude_small: bool
) -> Section:
    rows = []
    for group in table["groups"]:
        labels = tuple(str(group["key"][f]) for f in features)
        if UNKNOWN in labels:
            continue  # counted in unknown_count
        small = exclude_small and group["n"] < SMALL_SHARE * assessed
        rows.append((labels, group["n"], _rate(group, rate), small))
    top = max((r for _, _, r, small in rows if r is not None and not small), default=None)
    categories = tuple(
        Category(
            labels=labels, n=n, rate=r, excluded=small, impact_ratio=None if small or r is None or not top else r / top
        )
        for labels, n, r, small in sorted(rows)
    )
    return Section(title=title, features=features, categories=categories, unknown_count=int(table["unknown_count"]))


def summarise(
    evaluation: Mapping[str, Any],
    digest: str,
    *,
    sex: str,
    race: str,
    rate: Rate = "selection",
    exclude_small: bool = False,
) -> BiasAuditSummary:
    fairness = evaluation.get("measurements", {}).get("fairness")
    if not fairness:
        raise GovkitError("the evaluation has no fairness measurements (no fairness rule ran)")
    if rate == "scoring" and fairness.get("score") is None:
        raise GovkitError("scoring rates need a score column in the evaluation dataset", field="--rate")
    if rate == "selection" and fairness.get("task") == "regression" and not fairness.get("favourable_outcome"):
        raise GovkitError(
            "a regression has selection rates only with datasets.evaluation.favourable_outcome; use --rate scoring",
            field="--rate",
        )
    tables = list(fairness["tables"])
    assessed = int(fairness["overall"]["n"])
    sections = tuple(
        _section(title, _table(tables, features), features, rate, assessed, exclude_small)
        for title, features in (
            ("Sex", (sex,)),
            ("Race/ethnicity", (race,)),
            ("Intersectional (sex x race/ethnicity)", (sex, race)),
        )
    )
    model = evaluation["model"]
    return BiasAuditSummary(
        model=f"{model['name']}@{model['version']}",
        evaluation_digest=digest,
        evaluated_at=evaluation["created_at"],
        rate=rate,
        assessed=assessed,
        exclude_small=exclude_small,
        sections=sections,
    )


def _label(c: Category) -> str:
    from govkit.formats.markdown import _md

    return " & ".join(_md(label) for label in c.labels)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def render(summary: BiasAuditSummary, fmt: str) -> str:
    """Markdown, JSON or CSV; category labels are data values, escaped for Markdown and CSV."""
    from govkit.formats.common import csv_cell
    from govkit.formats.markdown import _md

    if fmt == "json":
        return json.dumps(summary.to_dict(), indent=2) + "\n"
    word = "Selection" if summary.rate == "selection" else "Scoring"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["section", "category", "individuals", f"{word.lower()}_rate", "impact_ratio", "excluded"])
        for s in summary.sections:
            for c in s.categories:
                writer.writerow(
                    [
                        csv_cell(x)
                        for x in (
                            s.title,
                            " & ".join(c.labels),
                            str(c.n),
                            _fmt(c.rate),
                            _fmt(c.impact_ratio),
                            "yes" if c.excluded else "",
                        )
                    ]
                )
            writer.writerow([csv_cell(s.title), UNKNOWN, str(s.unknown_count), "", "", ""])
        return out.getvalue()
    lines = [
        f"## Bias audit summary (NYC Local Law 144): {_md(summary.model)}",
        "",
        f"- Evaluation `{summary.evaluation_digest[:16]}` of {_md(summary.evaluated_at)}",
        f"- Number of individuals assessed: {summary.assessed}",
        f"- {word} rate: "
        + (
            "share of individuals selected (positive prediction)"
            if summary.rate == "selection"
            else "share of individuals scoring above the sample median"
        ),
        "- Impact ratio: the category's rate divided by the highest rate among the categories shown",
        "",
    ]
    excluded = [(s, c) for s in summary.sections for c in s.categories if c.excluded]
    if summary.exclude_small:
        lines += [
            f"Categories with fewer than {SMALL_SHARE:.0%} of the individuals assessed are left out of the "
            f"impact ratios ({len(excluded)} such categor{'y' if len(excluded) == 1 else 'ies'}: "
            + (", ".join(f"{_label(c)} (n={c.n})" for _, c in excluded) or "none")
            + ").",
            "",
        ]
    for s in summary.sections:
        lines += [
            f"### {_md(s.title)}",
            "",
            f"| Category | Number of individuals | {word} rate | Impact ratio |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {_label(c)} | {c.n} | {_fmt(c.rate)} | "
            f"{'excluded (under 2%)' if c.excluded else _fmt(c.impact_ratio)} |"
            for c in s.categories
        ]
        lines += ["", f"Individuals with an unknown category: {s.unknown_count}", ""]
    return "\n".join(lines)
