"""Page contents: plain data for the templates, computed from the verified log (no HTML here)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from govkit.audit.events import (
    EVALUATION_RECORDED,
    REPORT_RENDERED,
    SIGNOFF_DECIDED,
    SIGNOFF_RECORDED,
    WAIVER_USED,
)
from govkit.web.downloads import RECORDED_FILES, RecordedFile, recorded_file

if TYPE_CHECKING:
    from govkit.audit.interface import Entry
    from govkit.inventory.interface import ModelRecord, VersionRecord
    from govkit.web.source import LogSource, Snapshot

PAGE_SIZE = 100
EXPIRING_WITHIN = timedelta(days=30)
TREND_SERIES = 8  # the chart's palette: the rules measured most often are charted
TREND_POINTS = 40  # newest evaluations charted per model


@dataclass(frozen=True)
class Filters:
    team: str = ""
    state: str = ""
    q: str = ""

    def matches(self, model: ModelRecord) -> bool:
        if self.team and model.team != self.team:
            return False
        if self.state and not any(v.state == self.state for v in model.versions):
            return False
        text = self.q.strip().casefold()
        return not text or any(text in s.casefold() for s in (model.name, model.team, model.owner))


@dataclass
class TeamRow:
    team: str
    models: int = 0
    states: Counter[str] = field(default_factory=Counter)
    failing: int = 0
    overdue: int = 0
    expiring: int = 0
    drifting: int = 0


def lead_version(model: ModelRecord) -> VersionRecord:
    """The version a reader asks about first: the newest deployed one, else the newest."""
    deployed = [v for v in model.versions if v.state == "deployed"]
    return deployed[-1] if deployed else model.latest


def portfolio(source: LogSource, snap: Snapshot, filters: Filters, page: int) -> dict[str, Any]:
    from govkit.inventory.interface import due
    from govkit.inventory.states import STATES

    inventory = source.inventory(snap)
    items = source.cached(snap, "due", lambda: due(inventory, EXPIRING_WITHIN, snap.today))
    shown = [m for m in inventory.models if filters.matches(m)]
    names = {m.name for m in shown}
    shown_items = [i for i in items if i.model in names]
    teams: dict[str, TeamRow] = {}
    for model in shown:
        row = teams.setdefault(model.team, TeamRow(model.team))
        row.models += 1
        row.states.update(v.state for v in model.versions)
        row.failing += sum(1 for v in model.versions if v.latest_evaluation and v.latest_evaluation.verdict == "fail")
    for item in shown_items:
        row = teams[item.team]  # an item of a shown model, whose team has a row
        row.overdue += item.kind == "review" and item.overdue
        row.expiring += item.kind == "waiver"
        row.drifting += item.kind == "monitoring"
    pages = max(1, -(-len(shown) // PAGE_SIZE))
    page = min(max(page, 1), pages)
    total = TeamRow("all teams")
    for row in teams.values():
        total.models += row.models
        total.states.update(row.states)
        for name in ("failing", "overdue", "expiring", "drifting"):
            setattr(total, name, getattr(total, name) + getattr(row, name))
    return {
        "inventory": inventory,
        "filters": filters,
        "states": STATES,
        "all_teams": sorted({m.team for m in inventory.models}),
        "teams": [teams[t] for t in sorted(teams)],
        "total": total,
        "models": [(m, lead_version(m)) for m in shown[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]],
        "matched": len(shown),
        "page": page,
        "pages": pages,
        "due": shown_items[:25],
        "due_total": len(shown_items),
    }


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def trends(evaluations: list[tuple[Entry, dict[str, Any]]]) -> dict[str, Any]:
    """Measured numbers per rule across a model's evaluations (oldest first), and finding counts.

    A rule judged on several subjects (cohorts, windows) contributes its first numeric measurement
    in each evaluation, labelled with that subject, so one series is one quantity.
    """
    from govkit.report.charts import Series, line_chart

    evaluations = evaluations[-TREND_POINTS:]
    labels = [f"{p['evaluation']['model'].get('version', '')} {e.recorded_at[5:10]}" for e, p in evaluations]
    series: dict[str, list[float | None]] = {}
    names: dict[str, str] = {}
    for i, (_, payload) in enumerate(evaluations):
        for finding in payload["evaluation"].get("findings", []):
            value = _number(finding.get("measured"))
            rule = str(finding.get("rule_id", ""))
            if value is None or (rule in series and series[rule][i] is not None):
                continue
            values = series.setdefault(rule, [None] * len(evaluations))
            values[i] = value
            names.setdefault(rule, f"{rule} {finding.get('subject', '')}".strip())
    failed = [p["evaluation"].get("verdict") == "fail" for _, p in evaluations]
    charted = sorted(series, key=lambda r: -sum(v is not None for v in series[r]))[:TREND_SERIES]
    chart = (
        line_chart(
            labels,
            [Series(names[r], series[r]) for r in charted],
            title="Measured values per evaluation (failed evaluations shaded)",
            failed=failed,
        )
        if charted
        else None
    )
    per_status = [
        Series(status, [float(p["evaluation"].get("counts", {}).get(status, 0)) for _, p in evaluations])
        for status in ("fail", "error", "warn", "waived")
    ]
    most = max(v or 0.0 for s in per_status for v in s.values)
    counts = line_chart(
        labels,
        per_status,
        title="Findings per evaluation by status",
        failed=failed,
        scale_max=4.0 if most <= 4 else None,  # whole-number gridlines for small counts (and for none)
    )
    return {"metrics": chart, "counts": counts}


def _proved(source: LogSource, snap: Snapshot, entries: list[Entry]) -> list[tuple[Entry, dict[str, Any]]]:
    """The entries with their payloads, each proved (hash, signature or checkpoint, payload digest)."""
    verified = source.verified(snap)
    seqs = [e.seq for e in entries]

    def read(_log: Any) -> list[tuple[Entry, dict[str, Any]]]:
        verified.prefetch(seqs)  # one round trip for all of them
        return [(e, p) for e, p in verified.entries(seqs) if p is not None]

    return source.run(read)


def model_page(source: LogSource, snap: Snapshot, name: str) -> dict[str, Any] | None:
    inventory = source.inventory(snap)
    model = inventory.model(name)
    if model is None:
        return None
    entries = source.model_entries(snap, name)
    evaluation_entries = [e for e in entries if e.action == EVALUATION_RECORDED]
    evaluations = _proved(source, snap, evaluation_entries[-TREND_POINTS:])
    files = [
        f
        for e, p in _proved(source, snap, [e for e in entries if e.action in RECORDED_FILES])
        if (f := recorded_file(e, p))
    ]
    signoffs = [(v.version, v.latest_signoff) for v in model.versions if v.latest_signoff is not None]
    history = sorted((c for v in model.versions for c in v.history), key=lambda c: c.seq, reverse=True)
    trail = list(reversed(entries[-50:]))
    return {
        "model": model,
        "lead": lead_version(model),
        "evaluations": list(reversed(evaluations)),
        "evaluation_count": len(evaluation_entries),
        "trends": trends(evaluations) if len(evaluations) > 1 else None,
        "files": list(reversed(files)),
        "signoffs": sorted(signoffs, key=lambda pair: pair[1].seq, reverse=True),
        "history": [(c, _version_of(model, c.seq)) for c in history],
        "trail": trail,
        "status": chain_status(source, snap, trail),
    }


def _version_of(model: ModelRecord, seq: int) -> str:
    return next((v.version for v in model.versions for c in v.history if c.seq == seq), "")


@dataclass(frozen=True)
class ChainStatus:
    """What the pages say about the log's integrity, and about each entry they list."""

    ok: bool
    size: int
    covered: int  # entries up to this seq are vouched for by a trusted checkpoint
    anchored: bool  # a key kept outside the database vouches for the log's keys
    message: str  # the first problem when not ok
    entries: dict[int, tuple[bool, str]]  # seq -> (verified, how or why not), for the entries shown


def chain_status(source: LogSource, snap: Snapshot, shown: list[Entry]) -> ChainStatus:
    """From the verified read the pages already use (every header hashed and linked, checkpoints
    checked); the entries shown also have their payload digests checked here, and their signatures
    when no trusted checkpoint covers them. Only a log whose chain does not verify pays for
    `log verify` of everything, to name each failing entry."""
    from govkit.audit.log import LogIntegrityError

    anchored = source.run(lambda log: bool(log.anchor_keys()))
    try:
        verified = source.verified(snap)
    except LogIntegrityError as exc:
        result = source.verification(snap)
        bad = {p.seq: p.message for p in result.problems if p.seq is not None}
        marks = {e.seq: (False, bad[e.seq]) if e.seq in bad else (True, "no problem found") for e in shown}
        return ChainStatus(False, result.size, 0, anchored, str(exc), marks)

    def mark(_log: Any) -> dict[int, tuple[bool, str]]:
        marks: dict[int, tuple[bool, str]] = {}
        verified.prefetch([e.seq for e in shown if e.seq <= verified.position.size])
        for entry in shown:
            try:
                if entry.seq > verified.position.size:
                    raise verified.fail(entry, "appended after the chain was checked; reload the page")
                verified.entry(entry.seq)  # its hash, signature (or a checkpoint over it) and payload digest
            except LogIntegrityError as exc:
                marks[entry.seq] = (False, str(exc).partition(" does not verify: ")[2].rpartition("; run ")[0])
                continue
            marks[entry.seq] = (True, "checkpoint" if entry.seq <= verified.covered else "signed")
        return marks

    marks = source.run(mark)
    ok = all(good for good, _ in marks.values())
    message = "" if ok else next(f"entry {seq}: {why}" for seq, (good, why) in marks.items() if not good)
    return ChainStatus(ok, verified.position.size, verified.covered, anchored, message, marks)


def audit_page(source: LogSource, snap: Snapshot, model: str, action: str, before: int | None) -> dict[str, Any]:
    """The newest entries first, PAGE_SIZE at a time (`before` a seq), with their verification state."""

    def read(log: Any) -> list[Entry]:
        found: list[Entry] = log.entries(model=model or None, action=action or None)
        return found

    entries = source.run(read)
    if before is not None:
        entries = [e for e in entries if e.seq < before]
    page = list(reversed(entries[-PAGE_SIZE:]))
    return {
        "entries": page,
        "older": page[-1].seq if len(entries) > PAGE_SIZE else None,
        "model": model,
        "action": action,
        "actions": sorted(
            {EVALUATION_RECORDED, WAIVER_USED, REPORT_RENDERED, SIGNOFF_DECIDED, SIGNOFF_RECORDED}
            | {e.action for e in page}
        ),
        "status": chain_status(source, snap, page),
    }


def downloads_page(source: LogSource, snap: Snapshot, model: str) -> dict[str, Any]:
    if model:
        entries = [e for e in source.model_entries(snap, model) if e.action in RECORDED_FILES]
    else:
        entries = source.run(lambda log: [e for action in RECORDED_FILES for e in log.entries(action=action)])
    entries = sorted((e for e in entries if e.seq <= snap.position.size), key=lambda e: e.seq)
    files = [f for e, p in _proved(source, snap, entries[-500:]) if (f := recorded_file(e, p))]
    return {"files": list(reversed(files)), "total": len(entries), "model": model}


def _entry(source: LogSource, snap: Snapshot, seq: int) -> tuple[Entry, dict[str, Any]] | None:
    """Entry `seq` of the verified log and its proved payload (None when absent or redacted)."""
    verified = source.verified(snap)
    if not 1 <= seq <= verified.position.size:
        return None
    entry, payload = source.run(lambda _log: verified.entry(seq))
    return (entry, payload) if payload is not None else None


def evaluation_page(source: LogSource, snap: Snapshot, seq: int) -> dict[str, Any] | None:
    found = _entry(source, snap, seq)
    if found is None or found[0].action != EVALUATION_RECORDED:
        return None
    entry, payload = found
    evaluation = payload["evaluation"]
    order = {s: i for i, s in enumerate(("fail", "error", "warn", "waived", "baselined", "pass", "skipped"))}
    findings = sorted(evaluation.get("findings", []), key=lambda f: order.get(f.get("status"), 9))
    name = str(evaluation.get("model", {}).get("name", ""))
    return {
        "entry": entry,
        "digest": payload.get("evaluation_digest", ""),
        "evaluation": evaluation,
        "findings": findings,
        "name": name,
    }


def find_download(source: LogSource, snap: Snapshot, seq: int) -> RecordedFile | None:
    """The file entry `seq` recorded, when it is a report, sign-off or evidence-bundle entry."""
    found = _entry(source, snap, seq)
    if found is None or found[0].action not in RECORDED_FILES:
        return None
    return recorded_file(*found)
