"""Export evidence for an auditor: a deterministic BagIt zip that verifies offline without govkit."""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

from govkit import __version__
from govkit.audit.chain import Checkpoint
from govkit.audit.events import (
    EVALUATION_RECORDED,
    EVIDENCE_EXPORTED,
    KEY_ACTIONS,
    LOG_REDACTED,
    REPORT_RENDERED,
    SIGNOFF_RECORDED,
)
from govkit.audit.interface import Entry
from govkit.audit.keys import load_public
from govkit.audit.log import AuditLog, LogIntegrityError
from govkit.canonical import canonical_bytes
from govkit.errors import GovkitError
from govkit.intake.bom import bom_bytes
from govkit.jsonio import parse_json

FORMAT = "govkit-evidence/1"
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
MAX_SEARCHED_FILE = 512 << 20


@dataclass(frozen=True)
class Scope:
    model: str | None = None
    team: str | None = None
    since: str | None = None  # ISO date, inclusive
    until: str | None = None  # ISO date, inclusive

    def covers_time(self, recorded_at: str) -> bool:
        day = recorded_at[:10]
        return (self.since is None or day >= self.since) and (self.until is None or day <= self.until)

    def covers_subject(self, subject: str) -> bool:
        return self.model is None or subject == self.model or subject.startswith(f"{self.model}@")


@dataclass
class ExportResult:
    path: Path
    sha256: str
    entries: int
    files: int
    missing: list[dict[str, str]] = field(default_factory=list)


def _payload(entry: Entry, body: bytes) -> Any:
    """A payload as stored (the bundle's verifier checks it); one that does not even parse is refused, not a crash."""
    return parse_json(body, limit=len(body), error=LogIntegrityError, field=f"log entry {entry.seq} payload")


def _select(rows: list[tuple[Entry, bytes | None]], scope: Scope) -> list[tuple[Entry, bytes | None]]:
    """Entries in scope: key entries always; evaluations by model/team/time; related entries follow them."""
    evaluations: set[str] = set()
    chosen: set[int] = set()
    related: list[tuple[Entry, dict[str, Any]]] = []
    for entry, body in rows:
        if entry.action in KEY_ACTIONS:
            chosen.add(entry.seq)
            continue
        if not (scope.covers_time(entry.recorded_at) and scope.covers_subject(entry.subject)):
            continue
        payload = _payload(entry, body) if body is not None and scope.team is not None else None
        if entry.action == EVALUATION_RECORDED and scope.team is not None:
            if payload is not None and payload["evaluation"]["team"] == scope.team:
                chosen.add(entry.seq)
                evaluations.add(payload["evaluation_digest"])
        elif scope.team is not None:
            if payload is not None:
                related.append((entry, payload))
        else:
            chosen.add(entry.seq)
    chosen |= {e.seq for e, p in related if p.get("evaluation_digest") in evaluations}
    chosen |= {e.seq for e, _ in rows if e.action == LOG_REDACTED and int(e.subject[4:]) in chosen}
    return [(e, b) for e, b in rows if e.seq in chosen]


def _searchable(path: Path) -> bool:
    return path.is_file() and not path.is_symlink() and path.stat().st_size <= MAX_SEARCHED_FILE


def index_by_digest(folders: Iterable[Path], wanted: set[str]) -> dict[str, Path]:
    """Files under `folders` whose SHA-256 is wanted: evidence is found by content, not by name."""
    found: dict[str, Path] = {}
    for folder in folders if wanted else ():
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            if _searchable(path):
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                if digest in wanted:
                    found.setdefault(digest, path)
    return found


def _inside(path: Path, folders: Iterable[Path]) -> bool:
    """`path`, symlinks resolved, lies in one of `folders` (resolved too)."""
    real = path.resolve()
    return any(real.is_relative_to(folder.resolve()) for folder in folders)


def _locate_reports(wanted: dict[str, tuple[str, str | None]], include: list[Path]) -> dict[str, Path]:
    """Reports by SHA-256: where the log says they were written when that lies inside an `include`
    folder, else searched for under them. Nothing outside the folders the user named is read, even
    when a (verified) entry names it: the log records where a file was, not what may be exported."""
    found: dict[str, Path] = {}
    for digest, (_, written) in wanted.items():
        path = Path(written) if written else None
        if path is None or not _inside(path, include):
            continue
        if _searchable(path) and hashlib.sha256(path.read_bytes()).hexdigest() == digest:
            found[digest] = path
    return found | index_by_digest(include, set(wanted) - set(found))


def _verified_rows(log: AuditLog) -> list[tuple[Entry, bytes | None]]:
    """Every row of the log, after `govkit log verify`'s checks passed on these very rows (the ones
    exported): a bundle must not carry, sign, or read a path from, an entry that does not verify.
    LogIntegrityError (exit 1) naming the first failing entry otherwise."""
    rows = list(log.store.scan())
    result = log.verify(rows=rows)
    if not result.ok:
        raise LogIntegrityError(
            f"not exporting: the audit log does not verify: {result.first}; run `govkit log verify --db {log.location}`"
        )
    return rows


def _readme(root: str, key_file: str, checkpoint: Checkpoint, scope: Scope, entries: int) -> str:
    scope_text = ", ".join(f"{k}={v}" for k, v in scope.__dict__.items() if v) or "the whole log"
    return f"""govkit evidence bundle
======================

Scope: {scope_text}. {entries} audit-log entries, tied to a signed checkpoint of the whole log
({checkpoint.size} entries, Merkle root {checkpoint.root}).

This folder is a BagIt bag (RFC 8493). Everything under data/ is listed with its SHA-256 in
manifest-sha256.txt; the other files are listed in tagmanifest-sha256.txt, which is signed
with the audit log's Ed25519 key (tagmanifest-sha256.txt.sig).

What is inside
  data/export.json              scope, entry list, files and their roles, anything missing
  data/log/entries.jsonl        the audit-log entries in scope (headers, hashes, signatures)
  data/log/payloads/SEQ.json    their payloads (exact bytes; SHA-256 = payload_digest)
  data/log/leaves.txt           the hash of every log entry up to the checkpoint
  data/log/checkpoint.txt       the signed checkpoint (C2SP signed-note format)
  data/log/checkpoint.body/.sig the checkpoint's signed bytes and raw signature
  data/keys/                    the log's public keys
  data/evaluations/DIGEST.json  each evaluation (RFC 8785 JSON; its SHA-256 is its name)
  data/bom/DIGEST.cdx.json      its CycloneDX 1.6 ML-BOM (derived from the evaluation: `govkit bom`)
  data/reports/                 PDF reports and signed sign-offs
  data/policies/, data/waivers/ the exact policy and waiver files the evaluations used
  data/controls/                coverage matrix per team (JSON, CSV) and the control catalogues cited
  verify.py, chain.py           a copy of govkit's verifier, for reference only (see 2.)

1. With standard tools (run inside this folder, {root}/):

   sha256sum -c manifest-sha256.txt
   sha256sum -c tagmanifest-sha256.txt
   openssl pkeyutl -verify -pubin -inkey {key_file} -rawin \\
       -in tagmanifest-sha256.txt -sigfile tagmanifest-sha256.txt.sig
   openssl pkeyutl -verify -pubin -inkey {key_file} -rawin \\
       -in data/log/checkpoint.body -sigfile data/log/checkpoint.sig
   for f in data/evaluations/*.json; do echo "$(basename "$f" .json)  $f"; done | sha256sum -c

   Compare {key_file} with the log public key your organisation published separately:
   a bundle can only prove it was signed by the key it carries.

2. With a verifier you obtained independently of this bundle (it checks all of the above,
   plus every entry's hash, signature, signing key, link to the log and payload, the Merkle
   root over all entries, and that every report's digest matches its logged digest).
   Do not trust the verify.py inside this folder: a forged bundle would bring a verifier
   that says "verified". Use either

   govkit verify-bundle ../bundle.zip --trusted-key PUBLISHED_LOG_KEY.pem

   or verify.py and chain.py from govkit {__version__}, after checking their SHA-256 against
   the values published in govkit's docs/evidence-bundle.md (pip install cryptography):

   python3 /path/to/your/verify.py ../bundle.zip --trusted-key PUBLISHED_LOG_KEY.pem
   (or: python3 /path/to/your/verify.py .)

govkit {__version__}
"""


def _zip(out: Path, root: str, files: dict[str, bytes]) -> None:
    tmp = out.with_name(out.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for rel in sorted(files):
            info = zipfile.ZipInfo(f"{root}/{rel}", date_time=ZIP_TIME)
            info.external_attr = 0o644 << 16
            info.create_system = 3
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[rel])
    tmp.replace(out)


def _manifest(files: dict[str, bytes], names: Iterable[str]) -> bytes:
    return "".join(f"{hashlib.sha256(files[n]).hexdigest()}  {n}\n" for n in sorted(names)).encode()


def export_bundle(log: AuditLog, scope: Scope, out: Path, include: list[Path]) -> ExportResult:
    key = log.signing_key()
    checkpoint = log.checkpoint()
    rows = [(e, b) for e, b in _verified_rows(log) if e.seq <= checkpoint.size]
    selected = _select(rows, scope)
    if not any(e.action not in KEY_ACTIONS for e, _ in selected):
        raise GovkitError("no audit-log entries in that scope; nothing to export")
    files: dict[str, bytes] = {}
    roles: list[dict[str, str]] = []
    missing: list[dict[str, str]] = []

    def add(rel: str, data: bytes, kind: str, source: str) -> None:
        if rel in files:
            return  # e.g. a policy file shared by several evaluations
        files[rel] = data
        roles.append({"path": rel, "sha256": hashlib.sha256(data).hexdigest(), "kind": kind, "source": source})

    lines = []
    keys: dict[str, str] = {}
    wanted_reports: dict[str, tuple[str, str | None]] = {}  # SHA-256 -> (file name, path it was written to)
    latest: dict[tuple[str, str], tuple[dict[str, Any], str]] = {}  # (team, model) -> newest evaluation in the bundle
    for entry, body in selected:
        lines.append(json.dumps(entry.to_dict(), sort_keys=True))
        if body is None:
            continue
        files[f"data/log/payloads/{entry.seq}.json"] = body
        payload = _payload(entry, body)
        if entry.action in KEY_ACTIONS:
            raw = bytes.fromhex(payload.get("public_key") or payload["new_public_key"])
            kid = payload.get("key_id") or payload["new_key_id"]
            pem = load_public(raw).public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            keys[kid] = f"data/keys/log-{kid}.pem"
            files[keys[kid]] = pem
        if entry.action == EVALUATION_RECORDED:
            evaluation = payload["evaluation"]
            add(
                f"data/evaluations/{payload['evaluation_digest']}.json",
                canonical_bytes(evaluation),
                "evaluation",
                f"entry {entry.seq}",
            )
            _add_inputs(evaluation, add, missing)
            digest = payload["evaluation_digest"]
            bom = bom_bytes(evaluation, digest, entry, log.store.log_id())
            add(f"data/bom/{digest}.cdx.json", bom, "cyclonedx-bom", f"entry {entry.seq} (govkit bom)")
            latest[(evaluation["team"], evaluation["model"]["name"])] = (evaluation, payload["evaluation_digest"])
        if entry.action == REPORT_RENDERED:
            wanted_reports[payload["sha256"]] = (payload.get("file", "report.pdf"), payload.get("path"))
        if entry.action == SIGNOFF_RECORDED:
            wanted_reports[payload["signed_sha256"]] = (payload.get("file", "signed.pdf"), payload.get("path"))
    found = _locate_reports(wanted_reports, include)
    for digest, (name, _) in sorted(wanted_reports.items(), key=lambda kv: kv[1][0]):
        if digest in found:
            add(f"data/reports/{digest[:12]}-{name}", found[digest].read_bytes(), "report", str(found[digest].name))
        else:
            folders = ", ".join(str(f) for f in include) or "no folder"
            what = f"report {name} (not under {folders}; --include the folder it was written to)"
            missing.append({"what": what, "sha256": digest})
    _add_controls(latest, add)
    files["data/log/entries.jsonl"] = ("\n".join(lines) + "\n").encode()
    leaves = [e.entry_hash for e, _ in rows]
    files["data/log/leaves.txt"] = ("\n".join(leaves) + "\n").encode()
    files["data/log/checkpoint.txt"] = checkpoint.note().encode()
    files["data/log/checkpoint.body"] = checkpoint.body()
    files["data/log/checkpoint.sig"] = checkpoint.raw_signature()
    export: dict[str, Any] = {
        "format": FORMAT,
        "govkit_version": __version__,
        "log_id": log.store.log_id(),
        "created_at": datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "scope": scope.__dict__,
        "checkpoint": {"size": checkpoint.size, "root": checkpoint.root, "head": checkpoint.head},
        "checkpoint_key_id": key.key_id,
        "entries": [e.seq for e, _ in selected],
        "keys": keys,
        "files": sorted(roles, key=lambda r: r["path"]),
        "missing": missing,
    }
    files["data/export.json"] = (json.dumps(export, indent=2, sort_keys=True) + "\n").encode()
    root = f"govkit-evidence-{export['log_id']}-{checkpoint.size}"
    payload_names = [n for n in files if n.startswith("data/")]
    octets = sum(len(files[n]) for n in payload_names)
    files["bagit.txt"] = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
    files["bag-info.txt"] = (
        f"Source-Organization: govkit audit log {export['log_id']}\n"
        f"Bagging-Date: {export['created_at'][:10]}\n"
        f"External-Identifier: {root}\n"
        f"External-Description: govkit evidence; checkpoint {checkpoint.size} root {checkpoint.root}\n"
        f"Bag-Software-Agent: govkit {__version__}\n"
        f"Payload-Oxum: {octets}.{len(payload_names)}\n"
    ).encode()
    files["manifest-sha256.txt"] = _manifest(files, payload_names)
    files["README.txt"] = _readme(root, keys[key.key_id], checkpoint, scope, len(selected)).encode()
    files["verify.py"] = resources.files("govkit.evidence").joinpath("verify.py").read_bytes()
    files["chain.py"] = resources.files("govkit.audit").joinpath("chain.py").read_bytes()
    tag_names = [n for n in files if not n.startswith("data/")]
    files["tagmanifest-sha256.txt"] = _manifest(files, tag_names)
    files["tagmanifest-sha256.txt.sig"] = key.sign(files["tagmanifest-sha256.txt"])
    out.parent.mkdir(parents=True, exist_ok=True)
    _zip(out, root, files)
    sha = hashlib.sha256(out.read_bytes()).hexdigest()
    subject = f"export:{scope.model or scope.team or 'all'}"
    log.append(
        EVIDENCE_EXPORTED,
        subject,
        {
            "sha256": sha,
            "file": out.name,
            "scope": scope.__dict__,
            "entries": len(selected),
            "checkpoint": export["checkpoint"],
        },
    )
    return ExportResult(path=out, sha256=sha, entries=len(selected), files=len(roles), missing=missing)


def _add_inputs(evaluation: dict[str, Any], add: Any, missing: list[dict[str, str]]) -> None:
    """The exact policy and waiver files an evaluation used, when they are still where it read them."""
    inputs, policy = evaluation["inputs"], evaluation["policy"]
    root = Path(inputs.get("policy_root") or ".")
    for source in policy["sources"]:
        path = root / source["path"]
        data = path.read_bytes() if path.is_file() else None
        if data is not None and hashlib.sha256(data).hexdigest() == source["sha256"]:
            add(f"data/policies/{policy['digest'][:12]}/{source['path']}", data, "policy", source["path"])
        else:
            missing.append({"what": f"policy file {source['path']}", "sha256": source["sha256"]})
    waivers = inputs.get("waivers")
    if waivers and waivers.get("path"):
        path = Path(waivers["path"])
        data = path.read_bytes() if path.is_file() else None
        if data is not None and hashlib.sha256(data).hexdigest() == waivers["sha256"]:
            add(f"data/waivers/{waivers['sha256'][:12]}-{path.name}", data, "waivers", path.name)
        else:
            missing.append({"what": f"waivers {path.name}", "sha256": waivers["sha256"]})


def _add_controls(latest: dict[tuple[str, str], tuple[dict[str, Any], str]], add: Any) -> None:
    """Per team, the coverage matrix of its newest evaluation of each model, and the catalogue files cited.

    The rules and their controls come from the recorded findings (an overlay may add controls, so
    each team gets its own matrix), so a matrix follows from the evaluations in the bundle alone;
    nothing is added when no finding cites a control.
    """
    from govkit.controls.catalogue import load_catalogues
    from govkit.controls.coverage import build_from_rules, evaluated
    from govkit.controls.render import render

    catalogues = load_catalogues()
    used: set[str] = set()
    for team in sorted({team for team, _ in latest}):
        chosen = [latest[key] for key in sorted(latest) if key[0] == team]
        rules = [(f["rule_id"], tuple(f.get("controls", ()))) for ev, _ in chosen for f in ev["findings"]]
        cited = sorted({ref.split(":", 1)[0] for _, refs in rules for ref in refs} & set(catalogues.frameworks))
        if not cited:
            continue
        used.update(cited)
        policies = sorted({f"{ev['policy']['name']} {ev['policy']['version']}" for ev, _ in chosen})
        columns = [evaluated(ev, digest) for ev, digest in chosen]
        matrix = build_from_rules(", ".join(policies), team, rules, catalogues, columns, cited)
        stem = "data/controls/coverage-" + re.sub(r"[^A-Za-z0-9._-]+", "-", team)
        add(f"{stem}.json", render(matrix, "json").encode(), "coverage", f"findings of team {team}'s evaluations")
        add(f"{stem}.csv", render(matrix, "csv").encode(), "coverage", f"findings of team {team}'s evaluations")
    for name in sorted(used):
        loaded = catalogues.frameworks[name]
        add(f"data/controls/catalogues/{loaded.path.name}", loaded.path.read_bytes(), "control-catalogue", name)
