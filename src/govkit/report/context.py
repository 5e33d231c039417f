"""The report's frame (cover, executive summary, waivers, provenance, trail, sign-off) as plain
values, plus each chapter's own context from its `ReportSection`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from string import ascii_uppercase
from typing import Any

from govkit.evaluation import STATUSES
from govkit.formats.sentences import finding_sentence
from govkit.report.rules import RulesInForce
from govkit.report.sections.interface import ReportSection

SUMMARY_BLOCKING = 5  # the executive summary fits one page: the rest is in the chapters
SUMMARY_SENTENCE = 320  # characters of one finding's sentence on the summary page (all of it in its chapter)


@dataclass(frozen=True)
class SignoffBlock:
    """What a compliance officer decided, shown on the sign-off page."""

    signer: str
    role: str
    decision: str
    conditions: str
    time: str
    entry_seq: int
    checkpoint_size: int
    checkpoint_root: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _short(text: str, limit: int = SUMMARY_SENTENCE) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _chapters(
    evaluation: Mapping[str, Any], sections: Sequence[ReportSection], rules: RulesInForce
) -> list[dict[str, Any]]:
    out = []
    appendix = iter(ascii_uppercase)
    for s in sections:
        letter = next(appendix, "") if s.part == "appendix" else ""
        out.append(
            {
                "id": s.id,
                "title": f"Appendix {letter}: {s.title}" if letter else s.title,
                "part": s.part,
                "template": s.template_name(),
                "summary_template": s.summary_template_name(),
                "areas": sorted(s.areas),
                "c": s.context(evaluation, rules),
            }
        )
    return out


def arrange(chapters: Sequence[Mapping[str, Any]], order: Sequence[str], hidden: Sequence[str]) -> list[Any]:
    """Chapters in a template's `section_order` first (ids it names), the rest in their own order;
    `hidden_sections` dropped. Unknown ids are ignored: a template may name sections a report lacks."""
    shown = [ch for ch in chapters if ch["id"] not in set(hidden)]
    rank = {sid: i for i, sid in enumerate(order)}
    return sorted(shown, key=lambda ch: rank.get(ch["id"], len(rank)))


def build_context(
    evaluation: Mapping[str, Any],
    digest: str,
    *,
    trail: Sequence[Mapping[str, Any]],
    checkpoint: Mapping[str, Any] | None,
    signoff: SignoffBlock | None,
    paper: str,
    sections: Sequence[ReportSection] = (),
    rules: RulesInForce | None = None,
) -> dict[str, Any]:
    rules = rules or RulesInForce()
    findings = evaluation["findings"]
    chapters = _chapters(evaluation, sections, rules)
    chapter_of = {area: ch["id"] for ch in chapters for area in ch["areas"]}
    for f in findings:
        chapter_of.setdefault(f["area"], f"area-{f['area']}")

    def summarised(f: Mapping[str, Any]) -> dict[str, Any]:
        return {
            **f,
            "sentence": _short(finding_sentence(f, evaluation["measurements"], rules.params_of(f))),
            "chapter": chapter_of[f["area"]],
        }

    order = sorted(findings, key=lambda f: (STATUSES.index(f["status"]), f["rule_id"], f["subject"]))
    blocking = [summarised(f) for f in order if f["blocking"]]
    attention = [f for f in order if f["status"] in ("fail", "warn", "error") and not f["blocking"]]
    return {
        "paper": paper,
        "ev": evaluation,
        "digest": digest,
        "model": evaluation["model"],
        "verdict": evaluation["verdict"],
        "counts": [(status, n) for status, n in evaluation["counts"].items() if n],
        "blocking": blocking[:SUMMARY_BLOCKING],
        "blocking_more": len(blocking) - SUMMARY_BLOCKING if len(blocking) > SUMMARY_BLOCKING else 0,
        "attention": len(attention),
        "waived": [w for w in evaluation["waivers"] if w["status"] == "used"],
        "waivers": evaluation["waivers"],
        "chapters": chapters,
        "body": [ch for ch in chapters if ch["part"] == "body"],
        "appendices": [ch for ch in chapters if ch["part"] == "appendix"],
        "rules_confirmed": rules.confirmed,
        "arrange": arrange,
        "policy": evaluation["policy"],
        "inputs": evaluation["inputs"],
        "trail": trail,
        "checkpoint": checkpoint,
        "signoff": signoff,
        "notices": evaluation.get("notices", []),
    }
