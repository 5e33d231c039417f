"""`govkit inventory` on real SQLite logs written by `record_evaluation`: what it shows, how it
escapes hostile names in every format, what is due, and that it refuses a tampered log."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import sqlite3
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import evaluations
from backends import SQLITE_TRIGGERS
from govkit.audit.chain import entry_hash
from govkit.audit.log import AuditLog, LogIntegrityError
from govkit.audit.records import EVALUATION_RECORDED, record_evaluation
from govkit.cli import cli
from govkit.evaluation import Evaluation, Finding
from govkit.inventory.interface import build_inventory, due
from govkit.inventory.lifecycle import register

# A CSV formula, a Markdown table breaker, rich markup, a terminal escape and a newline.
HOSTILE = '=HYPERLINK("http://x")|[red]x[/red] \x1b[31m\n| col | *b*'


def evaluation(
    name: str, version: str, *, team: str = "lending", owner_team: str | None = None, fail: bool = False, **changes: Any
) -> Evaluation:
    """The sample evaluation (tests/evaluations.py) of this model, passing or failing one licence rule,
    checked under `team`'s policy; the manifest's model.team is `owner_team` (default: `team`)."""
    model = {
        "name": name,
        "version": version,
        "team": owner_team or team,
        "owner": "ann@example.org",
        "risk_tier": "high",
    }
    finding = Finding(
        "GK-LIC-001", "model licence", "license.model", "high", "fail" if fail else "pass", "m", "model", blocking=fail
    )
    return evaluations.sample_evaluation(**{"model": model, "team": team, "findings": (finding,), **changes})


def run(*args: str) -> Result:
    return CliRunner(env={"NO_COLOR": "1", "CI": ""}).invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def log() -> Any:
    with AuditLog() as opened:  # GOVKIT_DB / GOVKIT_KEY of this test (conftest)
        yield opened


def test_latest_evaluation_per_version_under_the_models_own_team(log: AuditLog) -> None:
    record_evaluation(log, evaluation("scorer", "1", fail=True))
    own = record_evaluation(log, evaluation("scorer", "1"))
    record_evaluation(log, evaluation("scorer", "1", team="research", owner_team="lending", fail=True))  # newer
    record_evaluation(log, evaluation("scorer", "2", fail=True))
    record_evaluation(log, evaluation("other", "1"))
    inventory = build_inventory(log)
    assert [m.name for m in inventory.models] == ["other", "scorer"]
    scorer = inventory.model("scorer")
    assert scorer is not None and [v.version for v in scorer.versions] == ["1", "2"]
    v1 = scorer.versions[0]
    assert v1.evaluations == 3
    assert v1.latest_evaluation is not None and v1.latest_evaluation.seq == own.seq
    assert v1.latest_evaluation.verdict == "pass" and v1.state == "registered"
    assert [w.id for w in v1.waivers] == [w.id for w in evaluations.WAIVERS if w.status == "used"]
    assert scorer.versions[1].open_findings[0].rule_id == "GK-LIC-001"
    assert inventory.log_position.size == len(log.entries())


def test_registration_overrides_the_manifest_fields(log: AuditLog) -> None:
    record_evaluation(log, evaluation("scorer", "1"))
    register(log, model="scorer", version="1", team="risk", owner="Ben", risk_tier="low")
    (model,) = build_inventory(log).models
    assert (model.team, model.owner, model.risk_tier) == ("risk", "Ben", "low")


def test_monitoring_status_comes_from_the_newest_monitoring_run(log: AuditLog) -> None:
    record_evaluation(log, evaluation("scorer", "1"))
    drift = Finding("GK-MON-001", "drift", "monitoring.psi", "high", "fail", "drifted", "income", blocking=True)
    record_evaluation(log, evaluation("scorer", "1", findings=(drift,), options={"purpose": "monitor"}))
    version = build_inventory(log).models[0].versions[0]
    assert version.monitoring.status == "fail" and version.monitoring.failing == ("GK-MON-001",)
    assert version.latest_evaluation is not None and version.latest_evaluation.purpose == "gate"
    items = due(build_inventory(log), timedelta(days=30))
    assert [(i.kind, i.overdue) for i in items if i.kind == "monitoring"] == [("monitoring", False)]  # not deployed


def test_expiring_waivers_are_due(log: AuditLog) -> None:
    record_evaluation(log, evaluation("scorer", "1"))
    expires = date.fromisoformat(next(w.expires for w in evaluations.WAIVERS if w.status == "used"))
    inventory = build_inventory(log, today=expires - timedelta(days=10))
    assert [i.kind for i in due(inventory, timedelta(days=30))] == ["waiver"]
    assert due(inventory, timedelta(days=5)) == []
    late = build_inventory(log, today=expires + timedelta(days=1))
    (item,) = due(late, timedelta(days=0))
    assert item.overdue and item.due == expires


def test_a_redacted_evaluation_is_skipped_not_a_crash(log: AuditLog) -> None:
    kept = record_evaluation(log, evaluation("scorer", "1"))
    newer = record_evaluation(log, evaluation("scorer", "1", fail=True))
    log.redact(newer.seq, "erasure request")
    version = build_inventory(log).models[0].versions[0]
    assert version.evaluations == 2
    assert version.latest_evaluation is not None and version.latest_evaluation.seq == kept.seq


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("UPDATE payloads SET body = CAST('{\"evaluation\":{}}' AS BLOB) WHERE seq = 2", "payload edited"),
        ("UPDATE entries SET subject = 'forged@1' WHERE seq = 2", "header edited"),
        ("DELETE FROM entries WHERE seq = 3", "missing or out of order"),
    ],
)
def test_a_tampered_log_is_refused_exit_1(log: AuditLog, sql: str, message: str) -> None:
    for i in range(3):
        record_evaluation(log, evaluation("scorer", str(i)))
    conn = sqlite3.connect(log.location, isolation_level=None)
    for name in SQLITE_TRIGGERS:
        conn.execute(f"DROP TRIGGER IF EXISTS {name}")
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute(sql)
    conn.close()
    with pytest.raises(LogIntegrityError, match=message):
        build_inventory(log)
    result = run("inventory")
    assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output


def test_a_checkpoint_that_no_longer_matches_is_refused(log: AuditLog) -> None:
    record_evaluation(log, evaluation("scorer", "1"))
    log.checkpoint()
    conn = sqlite3.connect(log.location, isolation_level=None)
    for name in SQLITE_TRIGGERS:
        conn.execute(f"DROP TRIGGER IF EXISTS {name}")
    size = len(log.entries())
    conn.execute("DELETE FROM payloads WHERE seq = ?", [size])
    conn.execute("DELETE FROM entries WHERE seq = ?", [size])  # the tail: the chain itself still links
    conn.close()
    with pytest.raises(LogIntegrityError, match=f"has {size - 1} entries but a checkpoint covers {size}"):
        build_inventory(log)


def _hostile_log(log: AuditLog) -> None:
    record_evaluation(log, evaluation(HOSTILE, HOSTILE, team=HOSTILE))
    record_evaluation(log, evaluation("-2+3", "@SUM(A1)", fail=True))


def test_hostile_names_in_csv_are_inert(log: AuditLog) -> None:
    _hostile_log(log)
    result = run("inventory", "--format", "csv")
    assert result.exit_code == 0
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert len(rows) == 3 and all(len(r) == len(rows[0]) for r in rows)  # no row broken by a newline
    for row in rows[1:]:
        assert all(cell[:1] not in ("=", "+", "-", "@") for cell in row), row
    assert "\x1b" not in result.stdout


def test_hostile_names_in_markdown_stay_in_their_cells(log: AuditLog) -> None:
    _hostile_log(log)
    result = run("inventory", "--format", "markdown")
    lines = [ln for ln in result.stdout.splitlines() if ln.startswith("|")]
    assert len(lines) == 4  # header, rule, two versions
    columns = {ln.replace("\\|", "").count("|") for ln in lines}
    assert columns == {13}, lines  # 12 columns: no cell split by a | in a name
    assert "[red]" not in result.stdout.replace("\\[red\\]", "") and "\x1b" not in result.stdout


def test_hostile_names_in_the_terminal_table_are_shown_not_run(log: AuditLog) -> None:
    _hostile_log(log)
    result = CliRunner(env={"CI": ""}).invoke(cli, ["inventory", "--format", "table"], color=True)
    assert result.exit_code == 0
    assert "\x1b[31m\n" not in result.stdout and "\\x1b[31m" in result.stdout  # shown as its escape
    assert "[red]" in result.stdout  # markup shown as text, not applied


def test_hostile_names_in_json_round_trip(log: AuditLog) -> None:
    _hostile_log(log)
    data = json.loads(run("inventory", "--format", "json").stdout)
    assert HOSTILE in [m["name"] for m in data["models"]]


def test_filters_and_output_file(log: AuditLog, tmp_path: Path) -> None:
    record_evaluation(log, evaluation("a", "1"))
    record_evaluation(log, evaluation("b", "1", team="research"))
    out = tmp_path / "out" / "inv.json"
    assert run("inventory", "--team", "research", "--format", "json", "-o", str(out)).exit_code == 0
    assert [m["name"] for m in json.loads(out.read_text())["models"]] == ["b"]
    none = json.loads(run("inventory", "--state", "deployed", "--format", "json").stdout)
    assert none["models"] == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["inventory", "--state", "flying"], "unknown state 'flying'"),
        (["inventory", "due", "--within", "soon"], "expected days like 30d"),
        (["inventory", "--db", "/nonexistent/folder/x.db"], "does not exist"),
        (["inventory", "register", "m", "1", "--team", " ", "--owner", "o", "--risk-tier", "high"], "--team"),
        (["inventory", "register", "m", "1", "--team", "t", "--owner", "o", "--risk-tier", "extreme"], "extreme"),
    ],
)
def test_bad_input_is_exit_2(log: AuditLog, args: list[str], message: str) -> None:
    record_evaluation(log, evaluation("a", "1"))
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output


def test_empty_log_lists_nothing(tmp_path: Path) -> None:
    with AuditLog(tmp_path / "empty.db") as empty:
        inventory = build_inventory(empty)
    assert inventory.models == () and inventory.log_position.size == 0
    assert EVALUATION_RECORDED == "evaluation.recorded"


def test_postgres_gives_the_same_inventory(
    pg_base: str, log: AuditLog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from postgres_server import new_database

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # where a PostgreSQL log's index is kept

    record_evaluation(log, evaluation("scorer", "1"))
    record_evaluation(log, evaluation("scorer", "2", fail=True))
    location = new_database(pg_base)
    with AuditLog(location, key_path=log.key_path) as pg:
        for entry in log.entries()[1:]:
            pg.append(entry.action, entry.subject, log.payload(entry.seq) or {})
        sqlite_view = build_inventory(log)
        pg_view = build_inventory(pg)
        assert build_inventory(pg) == pg_view  # the second read starts from the cached index
    assert len(list((tmp_path / "cache" / "govkit").glob("inventory-*.json"))) == 1

    def timeless(models: Any) -> list[Any]:
        return [
            replace(m, versions=tuple(replace(v, latest_evaluation=None, state_since="") for v in m.versions))
            for m in models
        ]

    assert timeless(pg_view.models) == timeless(sqlite_view.models)
    assert [v.latest_evaluation.digest for m in pg_view.models for v in m.versions if v.latest_evaluation] == [
        v.latest_evaluation.digest for m in sqlite_view.models for v in m.versions if v.latest_evaluation
    ]


# -- the signed index cache ----------------------------------------------------------------------


def test_the_cache_is_used_and_extended_by_new_entries(log: AuditLog) -> None:
    record_evaluation(log, evaluation("scorer", "1"))
    first = build_inventory(log)
    cache = Path(log.location + ".inventory-cache.json")
    assert json.loads(cache.read_text().splitlines()[0])["size"] == first.log_position.size
    record_evaluation(log, evaluation("scorer", "2", fail=True))
    second = build_inventory(log)
    assert [v.version for v in second.models[0].versions] == ["1", "2"]
    assert json.loads(cache.read_text().splitlines()[0])["size"] == second.log_position.size == len(log.entries())
    assert run("log", "verify").exit_code == 0  # a cache that matches the log is no problem


def _cache(log: AuditLog) -> tuple[Path, dict[str, Any], dict[str, Any]]:
    cache = Path(log.location + ".inventory-cache.json")
    meta, body = (json.loads(part) for part in cache.read_text().split("\n", 1))
    return cache, meta, body


@pytest.mark.parametrize("part", ["subjects", "summaries"])
def test_an_edited_cache_is_ignored_and_reported_by_log_verify(log: AuditLog, part: str) -> None:
    record_evaluation(log, evaluation("scorer", "1"))
    record_evaluation(log, evaluation("scorer", "2"))
    build_inventory(log)
    cache, meta, body = _cache(log)
    body[part] = {k: v for k, v in body[part].items() if not k.endswith("@2")}
    edited = json.dumps(meta) + "\n" + json.dumps(body)
    cache.write_text(edited)  # version 2 hidden, the signature left as it was
    assert [v.version for v in build_inventory(log).models[0].versions] == ["1", "2"]  # signature fails: rebuilt
    cache.write_text(edited)
    verified = run("log", "verify")
    assert verified.exit_code == 1 and "inventory cache" in verified.output


def test_a_signed_cache_with_a_wrong_summary_is_reported_by_log_verify(log: AuditLog) -> None:
    """`log verify` derives the summaries again from the log, so even a validly signed wrong one is found."""
    from govkit.inventory.cache import load, save

    record_evaluation(log, evaluation("scorer", "1", fail=True))
    build_inventory(log)
    ring = log.key_ring()
    index = load(log, ring, set(ring.keys), log.identity(ring))
    assert index is not None
    (key,) = index.summaries
    record = index.summaries[key]["record"]
    index.summaries[key] = {
        **index.summaries[key],
        "record": {**record, "latest_evaluation": {**record["latest_evaluation"], "verdict": "pass"}},
    }
    save(log, index, log.identity(ring))  # signed by the log's own key
    assert build_inventory(log).models[0].versions[0].latest_evaluation.verdict == "pass"  # trusted: it is signed
    verified = run("log", "verify")
    assert verified.exit_code == 1 and "does not match the log" in verified.output


def test_a_payload_edited_after_the_cache_was_built_is_still_caught(log: AuditLog) -> None:
    """The cached summary is reused only after the entries it came from are proved again."""
    used = record_evaluation(log, evaluation("scorer", "1"))
    record_evaluation(log, evaluation("other", "1"))
    build_inventory(log)
    *_, body = _cache(log)
    assert any([used.seq, used.entry_hash] in s["read"] for s in body["summaries"].values())
    conn = sqlite3.connect(log.location, isolation_level=None)
    for name in SQLITE_TRIGGERS:
        conn.execute(f"DROP TRIGGER IF EXISTS {name}")
    conn.execute("UPDATE payloads SET body = CAST('{}' AS BLOB) WHERE seq = ?", [used.seq])
    conn.close()
    with pytest.raises(LogIntegrityError, match=f"entry {used.seq} .*payload edited"):
        build_inventory(log)


def test_only_touched_versions_are_folded_again(log: AuditLog) -> None:
    record_evaluation(log, evaluation("scorer", "1"))
    record_evaluation(log, evaluation("scorer", "2"))
    first = build_inventory(log)
    newest = record_evaluation(log, evaluation("scorer", "2", fail=True))
    _, _, before = _cache(log)
    second = build_inventory(log)
    _, _, after = _cache(log)
    v1, v2 = (k for k in after["summaries"])
    assert after["summaries"][v1] == before["summaries"][v1]  # untouched: reused as it was
    assert after["summaries"][v2]["read"] == [[newest.seq, newest.entry_hash]]
    assert second.models[0].versions[0] == first.models[0].versions[0]
    assert second.models[0].versions[1].latest_evaluation.seq == newest.seq


def test_a_redaction_after_the_cache_was_built_erases_from_cache_and_inventory(log: AuditLog) -> None:
    kept = record_evaluation(log, evaluation("scorer", "1"))
    newer = record_evaluation(log, evaluation("scorer", "1", fail=True))
    erased = build_inventory(log).models[0].versions[0].latest_evaluation
    assert erased is not None and erased.seq == newer.seq
    cache, _, _ = _cache(log)
    assert erased.digest in cache.read_text()
    log.redact(newer.seq, "erasure request")
    version = build_inventory(log).models[0].versions[0]
    assert version.latest_evaluation is not None and version.latest_evaluation.seq == kept.seq
    assert erased.digest not in cache.read_text()
    assert version.latest_evaluation.digest in cache.read_text()


def test_a_header_edited_after_the_cache_was_built_is_still_caught(log: AuditLog) -> None:
    record_evaluation(log, evaluation("scorer", "1"))
    newest = record_evaluation(log, evaluation("scorer", "1", fail=True))
    build_inventory(log)
    conn = sqlite3.connect(log.location, isolation_level=None)
    for name in SQLITE_TRIGGERS:
        conn.execute(f"DROP TRIGGER IF EXISTS {name}")
    conn.execute("UPDATE entries SET actor = 'mallory' WHERE seq = ?", [newest.seq])
    conn.close()
    with pytest.raises(LogIntegrityError, match="header edited"):
        build_inventory(log)


def test_a_cache_of_another_log_is_ignored(log: AuditLog, tmp_path: Path) -> None:
    record_evaluation(log, evaluation("scorer", "1"))
    build_inventory(log)
    with AuditLog(tmp_path / "other.db", key_path=log.key_path) as other:
        record_evaluation(other, evaluation("other", "1"))
        Path(other.location + ".inventory-cache.json").write_bytes(
            Path(log.location + ".inventory-cache.json").read_bytes()
        )
        assert [m.name for m in build_inventory(other).models] == ["other"]


def test_a_viewer_folds_again_only_what_was_appended(log: AuditLog) -> None:
    """`govkit serve` keeps the folded index of the last position: an append costs its own versions only,
    and an entry edited under a reused summary is still caught."""
    from govkit.web.source import LogSource, ViewerLog

    record_evaluation(log, evaluation("scorer", "1"))
    other = record_evaluation(log, evaluation("other", "1"))
    source = LogSource(ViewerLog(log.location, key_path=log.key_path, trusted_key=None))
    try:
        first = source.inventory(source.snapshot())
        before = dict(source.verified(source.snapshot()).index.summaries)
        newest = record_evaluation(log, evaluation("scorer", "1", fail=True))
        snap = source.snapshot()
        second = source.inventory(snap)
        verified = source.verified(snap)
        assert verified.walked_from == first.log_position.size  # not the whole log again
        (kept,) = (k for k in before if "other" in k)
        assert verified.index.summaries[kept] is before[kept]  # reused as it was, not derived again
        scorer = second.model("scorer")
        assert scorer is not None and scorer.versions[0].latest_evaluation is not None
        assert scorer.versions[0].latest_evaluation.seq == newest.seq
        conn = sqlite3.connect(log.location, isolation_level=None)
        for name in SQLITE_TRIGGERS:
            conn.execute(f"DROP TRIGGER IF EXISTS {name}")
        conn.execute("UPDATE payloads SET body = CAST('{}' AS BLOB) WHERE seq = ?", [other.seq])
        conn.close()
        record_evaluation(log, evaluation("scorer", "2"))
        with pytest.raises(LogIntegrityError, match=f"entry {other.seq} .*payload edited"):
            source.inventory(source.snapshot())
    finally:
        source.close()


def _rewrite_without_the_key(log: AuditLog, seq: int) -> None:
    """What someone who can write the database but has no key can do: edit a payload and recompute both
    hashes, so that the entry agrees with itself (its signature, and the next entry's link, do not)."""
    entry, body = log.store.read(seq) or (None, None)
    assert entry is not None and body is not None
    payload = json.loads(body)
    payload["evaluation"].update(verdict="pass", findings=[], counts={"pass": 1})
    forged = json.dumps(payload).encode()
    header = {**entry.header(), "payload_digest": hashlib.sha256(forged).hexdigest()}
    conn = sqlite3.connect(log.location, isolation_level=None)
    for name in SQLITE_TRIGGERS:
        conn.execute(f"DROP TRIGGER IF EXISTS {name}")
    conn.execute("UPDATE payloads SET body = ? WHERE seq = ?", [forged, seq])
    conn.execute(
        "UPDATE entries SET payload_digest = ?, entry_hash = ? WHERE seq = ?",
        [header["payload_digest"], entry_hash(header), seq],
    )
    conn.close()


@pytest.mark.parametrize("refold", [False, True])
def test_an_entry_rewritten_below_the_checkpoint_is_caught_from_the_cache(log: AuditLog, refold: bool) -> None:
    """Found by review: a checkpoint vouches for an entry only if this read walked the links from it; a read
    starting from the cache did not, and believed a rewritten entry (reused summary, or a version folded
    again because something was appended to it)."""
    failed = record_evaluation(log, evaluation("scorer", "1", fail=True))
    record_evaluation(log, evaluation("other", "1"))
    log.checkpoint()
    assert build_inventory(log).model("scorer").versions[0].latest_evaluation.verdict == "fail"  # type: ignore[union-attr]
    _rewrite_without_the_key(log, failed.seq)
    if refold:
        register(log, model="scorer", version="1", team="lending", owner="ann@example.org", risk_tier="high")
    with pytest.raises(LogIntegrityError, match=f"entry {failed.seq} .*(signature|not the entry)"):
        build_inventory(log)
    assert run("log", "verify").exit_code == 1


def test_a_cache_signed_by_a_retired_key_is_not_trusted(log: AuditLog, tmp_path: Path) -> None:
    """Found by review: pinning the first key vouches for its successors, and the retired key too; a cache it
    signs (after the rotation, e.g. with a leaked key) must not be believed."""
    from govkit.audit.keys import create_key
    from govkit.inventory.cache import VERSION, _message, load

    record_evaluation(log, evaluation("scorer", "1", fail=True))
    build_inventory(log)
    ring = log.key_ring()
    index = load(log, ring, set(ring.keys), log.identity(ring))
    assert index is not None
    old_key = log.signing_key()
    log.rotate_key(create_key(tmp_path / "new.pem"))
    (key,) = index.summaries
    index.summaries[key]["record"]["state"] = "deployed"
    body = index.body()  # signed as `save` signs, with the retired key (as whoever kept a copy of it could)
    message = _message(log.identity(log.key_ring()), index.size, index.head, hashlib.sha256(body).hexdigest())
    meta = {
        "version": VERSION,
        "log_id": log.identity(log.key_ring()),
        "size": index.size,
        "head": index.head,
        "key_id": old_key.key_id,
        "signature": old_key.sign(message).hex(),
    }
    Path(log.location + ".inventory-cache.json").write_bytes(json.dumps(meta).encode() + b"\n" + body)
    ring = log.key_ring()
    pinned = ring.anchored_keys([old_key.public_raw])
    assert old_key.key_id in pinned  # pinning the first key vouches for it and its successors
    assert load(log, ring, pinned, log.identity(ring)) is None
    assert build_inventory(log, trusted_keys=[old_key.public_raw]).models[0].versions[0].state == "registered"


def test_records_read_from_the_cache_write_out_what_they_hold(log: AuditLog) -> None:
    """A record keeps the cached JSON it was read from and `to_dict` gives that back: it must be exactly
    what the record's own fields give (a copy made with `replace` keeps no such data)."""
    record_evaluation(log, evaluation("scorer", "1", fail=True))
    register(log, model="scorer", version="1", team="lending", owner="ann@example.org", risk_tier="medium")
    log.redact(record_evaluation(log, evaluation("scorer", "2")).seq, "erasure")
    record_evaluation(log, evaluation("other", "1"))
    for inventory in (build_inventory(log), build_inventory(log)):  # folded anew, then from the cache
        for model in inventory.models:
            for version in model.versions:
                computed = replace(version)
                assert computed._data is None and computed.to_dict() == version.to_dict()
