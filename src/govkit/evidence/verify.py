#!/usr/bin/env python3
"""Verify a govkit evidence bundle offline.

Needs only Python 3.9+ and the `cryptography` package (pip install cryptography); it does not
need govkit. Use a copy obtained independently of the bundle (`govkit verify-bundle`, or this
file and chain.py from govkit, checked against the SHA-256 values published in govkit's
docs/evidence-bundle.md): a forged bundle can carry a verifier that says "verified". Usage:

    python3 verify.py BUNDLE.zip [--trusted-key LOG_PUBLIC_KEY.pem]
    python3 verify.py EXTRACTED_BAG_FOLDER [--trusted-key LOG_PUBLIC_KEY.pem]
    python3 verify.py            (the bag folder this file sits in)

It never writes anything: a zip is read in memory, after refusing absolute paths, "..", links
and duplicate names, and within hard limits on member count, total size and compression ratio
that are enforced on the bytes actually decompressed. Exit 0 when everything checks, 1 when
the bundle fails (one FAILED line), 2 on bad usage.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import sys
import zipfile
import zlib
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

try:  # inside govkit
    from govkit.audit.chain import (
        GENESIS,
        KEY_ADDED,
        KEY_ROTATED,
        Checkpoint,
        KeyWindows,
        MerkleAccumulator,
        entry_hash,
        note_key_id,
    )
except ImportError:  # stand-alone, beside the chain.py obtained with this file
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from chain import (  # type: ignore[no-redef]
        GENESIS,
        KEY_ADDED,
        KEY_ROTATED,
        Checkpoint,
        KeyWindows,
        MerkleAccumulator,
        entry_hash,
        note_key_id,
    )

MAX_MEMBERS = 400_000  # a 100,000-entry log makes a bundle of about 100,000 members
MAX_DIRECTORY = 64 << 20  # central directory bytes, checked before zipfile parses it (memory per member)
MAX_TOTAL = 2 << 30  # bytes actually decompressed, all members together
MAX_RATIO = 200  # uncompressed : compressed, for any member or whole zip bigger than RATIO_FROM
RATIO_FROM = 1 << 20  # small members compress freely (repetitive JSON reaches 100:1 and more)
PARALLEL_FROM = 4096  # fewer signatures are checked faster than worker processes start
SIGNED_TAGS = "tagmanifest-sha256.txt"
ALLOWED_COMPRESSION = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)


class BundleError(Exception):
    """The bundle is damaged, incomplete or unsafe; the message names the file or entry."""


def _safe_name(name: str) -> str:
    if "\\" in name or name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise BundleError(f"unsafe path in zip: {name!r} (absolute)")
    if ".." in name.split("/"):
        raise BundleError(f"unsafe path in zip: {name!r} (parent directory)")
    return name


def _check_directory(fh: BinaryIO) -> None:
    """Refuse too many members before zipfile builds an object for each one.

    Reads the end-of-central-directory record (and its ZIP64 form): member count and directory
    size. A record that cannot be found is left to zipfile, which reports the file as not a zip.
    """
    fh.seek(0, os.SEEK_END)
    fh.seek(max(0, fh.tell() - (22 + 65535)))
    tail = fh.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        return
    count = int.from_bytes(tail[at + 10 : at + 12], "little")
    size = int.from_bytes(tail[at + 12 : at + 16], "little")
    if at >= 20 and tail[at - 20 : at - 16] == b"PK\x06\x07":
        fh.seek(int.from_bytes(tail[at - 12 : at - 4], "little"))
        record = fh.read(56)
        if record[:4] == b"PK\x06\x06" and len(record) == 56:
            count = int.from_bytes(record[32:40], "little")
            size = int.from_bytes(record[40:48], "little")
    if count > MAX_MEMBERS or size > MAX_DIRECTORY:
        raise BundleError(
            f"zip has {count} members in a {size}-byte directory; the limit is {MAX_MEMBERS} "
            f"members, {MAX_DIRECTORY} bytes"
        )


def _check_limits(infos: list[zipfile.ZipInfo], zip_size: int) -> None:
    if len(infos) > MAX_MEMBERS:
        raise BundleError(f"zip has {len(infos)} members; the limit is {MAX_MEMBERS}")
    names = [i.filename for i in infos]
    if len(names) != len(set(names)):
        dup = next(n for n in names if names.count(n) > 1)
        raise BundleError(f"duplicate name in zip: {dup!r}")
    total = 0
    for info in infos:
        _safe_name(info.filename)
        if stat.S_ISLNK(info.external_attr >> 16):
            raise BundleError(f"link in zip: {info.filename!r}")
        if info.compress_type not in ALLOWED_COMPRESSION or info.flag_bits & 0x1:
            raise BundleError(
                f"zip member {info.filename!r}: encrypted or compression method "
                f"{info.compress_type} (only stored and deflate are read)"
            )
        if info.file_size > RATIO_FROM and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise BundleError(f"zip member {info.filename!r}: compression ratio above {MAX_RATIO}:1 (zip bomb?)")
        total += info.file_size
        if total > MAX_TOTAL:
            raise BundleError(f"zip member {info.filename!r}: members add up to more than {MAX_TOTAL} bytes")
    if total > 64 * RATIO_FROM and total > MAX_RATIO * zip_size:
        raise BundleError(f"zip expands to {total} bytes, more than {MAX_RATIO}x its size (zip bomb?)")


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """The member's bytes, decompressed as a stream that stops one byte past its declared size
    (which the limits checked): a header that understates the size cannot make it read more."""
    with archive.open(info) as stream:
        data = stream.read(info.file_size + 1)
    if len(data) != info.file_size:
        raise BundleError(
            f"zip member {info.filename!r}: {'more' if len(data) > info.file_size else 'less'} "
            "data than its header declares"
        )
    return data


def read_zip(path: Path) -> dict[str, bytes]:
    """All files of the single bag folder in the zip, keyed by path inside the bag."""
    files: dict[str, bytes] = {}
    try:
        with Path(path).open("rb") as fh:
            _check_directory(fh)
            zip_size = fh.seek(0, os.SEEK_END)
            with zipfile.ZipFile(fh) as archive:
                infos = archive.infolist()
                _check_limits(infos, zip_size)
                roots = {i.filename.split("/", 1)[0] for i in infos}
                if len(roots) != 1:
                    raise BundleError(f"expected one bag folder in the zip, found {sorted(roots)}")
                for info in infos:
                    if not info.is_dir():
                        files[info.filename.partition("/")[2]] = _read_member(archive, info)
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error, ValueError) as exc:
        raise BundleError(f"{path}: damaged or unreadable zip ({type(exc).__name__}: {exc})") from None
    return files


def read_folder(path: Path) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    total = 0
    for item in sorted(path.rglob("*")):
        if item.is_symlink():
            raise BundleError(f"link in bag: {item}")
        if item.is_file():
            total += item.stat().st_size
            if len(files) >= MAX_MEMBERS or total > MAX_TOTAL:
                raise BundleError(f"{path}: more than {MAX_MEMBERS} files or {MAX_TOTAL} bytes")
            files[item.relative_to(path).as_posix()] = item.read_bytes()
    return files


def _manifest(files: dict[str, bytes], name: str) -> dict[str, str]:
    if name not in files:
        raise BundleError(f"{name} is missing")
    listed = {}
    for number, line in enumerate(files[name].decode("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        digest, _, rel = line.partition("  ")
        if len(digest) != 64 or not rel:
            raise BundleError(f"{name}:{number}: not '<sha256>  <path>'")
        if rel in listed:
            raise BundleError(f"{name}:{number}: {rel} listed twice")
        listed[rel] = digest
    return listed


def _check_manifest(files: dict[str, bytes], name: str, expected: set[str]) -> None:
    listed = _manifest(files, name)
    for rel, digest in listed.items():
        if rel not in files:
            raise BundleError(f"{rel}: listed in {name} but missing from the bundle")
        if hashlib.sha256(files[rel]).hexdigest() != digest:
            raise BundleError(f"{rel}: SHA-256 does not match {name} (file altered)")
    unlisted = expected - set(listed)
    if unlisted:
        raise BundleError(f"{sorted(unlisted)[0]}: present but not listed in {name}")


def _public_key(pem: bytes, label: str) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, Ed25519PublicKey):
        raise BundleError(f"{label}: not an Ed25519 public key")
    return key


def _raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _verifies(key: Ed25519PublicKey, signature: bytes, data: bytes) -> bool:
    try:
        key.verify(signature, data)
    except InvalidSignature:
        return False
    return True


def _first_bad_in(batch: list[tuple[bytes, bytes, bytes]]) -> int | None:
    """Offset of the first (raw public key, signature, data) in `batch` that fails; runs in a worker."""
    keys: dict[bytes, Ed25519PublicKey] = {}
    for i, (raw, signature, data) in enumerate(batch):
        if raw not in keys:
            keys[raw] = Ed25519PublicKey.from_public_bytes(raw)
        if not _verifies(keys[raw], signature, data):
            return i
    return None


def _first_bad_signature(jobs: list[tuple[bytes, bytes, bytes]]) -> int | None:
    """Index of the first (raw public key, signature, data) that fails.

    Worker processes, not threads: `cryptography` holds the GIL while it verifies an Ed25519
    signature, so threads would take turns on one core. Where processes cannot start (some
    sandboxes lack the semaphores they need) the same check runs here.
    """
    workers = min(os.cpu_count() or 1, 16)
    if workers == 1 or len(jobs) < PARALLEL_FROM:
        return _first_bad_in(jobs)
    size = -(-len(jobs) // (workers * 4))
    starts = range(0, len(jobs), size)
    try:
        with ProcessPoolExecutor(workers) as pool:
            found = list(pool.map(_first_bad_in, [jobs[s : s + size] for s in starts]))
    except (OSError, BrokenProcessPool):
        return _first_bad_in(jobs)
    return next((starts[i] + bad for i, bad in enumerate(found) if bad is not None), None)


def _key_windows(entries: list[dict], payloads: dict[int, dict]) -> KeyWindows:
    """Which key may sign which entry, from the key entries in the log (the rule lives in chain.py)."""
    windows = KeyWindows()
    for e in entries:
        body = payloads.get(e["seq"])
        if body is None:
            continue
        if e["action"] == KEY_ADDED and e["seq"] == 1 and body.get("key_id") == e["key_id"]:
            windows.first_key(e["key_id"])
        elif e["action"] == KEY_ROTATED and "new_public_key" in body:
            why = windows.rotate(e["seq"], e["key_id"], body["new_key_id"], body.get("old_key_id", e["key_id"]))
            if why:
                raise BundleError(f"data/log/entries.jsonl entry {e['seq']}: {why}")
    return windows


def _check_bag(files: dict[str, bytes], done: list[str]) -> None:
    """BagIt: every payload and tag file is listed in its manifest with the right SHA-256."""
    if files.get("bagit.txt", b"").splitlines()[:1] != [b"BagIt-Version: 1.0"]:
        raise BundleError("bagit.txt: not a BagIt 1.0 bag")
    payload = {rel for rel in files if rel.startswith("data/")}
    _check_manifest(files, "manifest-sha256.txt", payload)
    done.append(f"manifest-sha256.txt: {len(payload)} payload files match")
    tags = {rel for rel in files if not rel.startswith("data/") and rel not in (SIGNED_TAGS, SIGNED_TAGS + ".sig")}
    _check_manifest(files, SIGNED_TAGS, tags)
    done.append(f"{SIGNED_TAGS}: {len(tags)} tag files match")


def _check_tag_signature(
    files: dict[str, bytes], export: dict, trusted_key: bytes | None, done: list[str]
) -> tuple[dict[str, Ed25519PublicKey], Ed25519PublicKey]:
    """The log's public keys, and the checkpoint key, which signed the tag manifest."""
    keys = {kid: _public_key(files[rel], rel) for kid, rel in export["keys"].items()}
    signing = keys.get(export["checkpoint_key_id"])
    if signing is None:
        raise BundleError("data/export.json: the checkpoint key is not in data/keys")
    if trusted_key is not None and _raw(signing) != trusted_key:
        raise BundleError("the bundle is signed by a key other than the trusted key")
    if not _verifies(signing, files.get(SIGNED_TAGS + ".sig", b""), files[SIGNED_TAGS]):
        raise BundleError(f"{SIGNED_TAGS}.sig: signature does not verify")
    done.append(f"{SIGNED_TAGS}.sig: signed by log key {export['checkpoint_key_id']}")
    return keys, signing


def _check_checkpoint(
    files: dict[str, bytes], export: dict, signing: Ed25519PublicKey, done: list[str]
) -> tuple[Checkpoint, list[str]]:
    """The signed checkpoint of this log, and the leaf hashes whose Merkle root it signs."""
    checkpoint = Checkpoint.parse(files["data/log/checkpoint.txt"].decode())
    prefix_ok = note_key_id(checkpoint.origin, _raw(signing)) == base64.b64decode(checkpoint.signature)[:4]
    if not prefix_ok or not _verifies(signing, checkpoint.raw_signature(), checkpoint.body()):
        raise BundleError("data/log/checkpoint.txt: signature does not verify")
    if checkpoint.origin.rsplit("/", 1)[-1] != export["log_id"]:
        raise BundleError(
            f"data/log/checkpoint.txt: checkpoint of log {checkpoint.origin!r}, not of log "
            f"{export['log_id']} named in data/export.json"
        )
    if files["data/log/checkpoint.body"] != checkpoint.body():
        raise BundleError("data/log/checkpoint.body: differs from checkpoint.txt")
    leaves = files["data/log/leaves.txt"].decode().split()
    if len(leaves) != checkpoint.size:
        raise BundleError(f"data/log/leaves.txt: {len(leaves)} hashes, checkpoint says {checkpoint.size}")
    acc = MerkleAccumulator()
    for leaf in leaves:
        acc.append(bytes.fromhex(leaf))
    if acc.root().hex() != checkpoint.root or (leaves and leaves[-1] != checkpoint.head):
        raise BundleError("data/log/leaves.txt: Merkle root or head does not match the signed checkpoint")
    done.append(f"checkpoint: {checkpoint.size} entries, root {checkpoint.root[:16]}..., signature valid")
    return checkpoint, leaves


def _read_entries(
    files: dict[str, bytes], export: dict, leaves: list[str], done: list[str]
) -> tuple[list[dict], dict[int, dict]]:
    """The entries in scope, each hashed and linked into the log, and their payloads checked against them."""
    entries = [json.loads(line) for line in files["data/log/entries.jsonl"].decode().splitlines() if line]
    if [e["seq"] for e in entries] != export["entries"]:
        raise BundleError("data/log/entries.jsonl: entries differ from the scope in export.json (entry missing?)")
    redacted = {int(e["subject"][4:]) for e in entries if e["action"] == "log.redacted"}
    payloads: dict[int, dict] = {}
    for e in entries:
        seq = e["seq"]
        where = f"data/log/entries.jsonl entry {seq}"
        if not 1 <= seq <= len(leaves):
            raise BundleError(f"{where}: beyond the checkpoint")
        if entry_hash(e) != e["entry_hash"] or e["entry_hash"] != leaves[seq - 1]:
            raise BundleError(f"{where}: hash does not match its header or the log")
        if e["prev_hash"] != (leaves[seq - 2] if seq > 1 else GENESIS):
            raise BundleError(f"{where}: prev_hash does not link to the log")
        body_path = f"data/log/payloads/{seq}.json"
        if body_path in files:
            raw = files[body_path]
            if hashlib.sha256(raw).hexdigest() != e["payload_digest"]:
                raise BundleError(f"{body_path}: does not match the entry's payload digest")
            payloads[seq] = json.loads(raw)
        elif seq not in redacted:
            raise BundleError(f"{body_path}: missing, and the entry was not redacted")
    genesis_log = payloads.get(1, {}).get("log_id")
    if genesis_log is not None and genesis_log != export["log_id"]:
        raise BundleError(
            f"data/log/payloads/1.json: the log names itself {genesis_log}, data/export.json says {export['log_id']}"
        )
    if 1 in payloads and genesis_log is None:
        done.append("note: the log predates govkit's log-identity binding (entry 1 names no log id)")
    return entries, payloads


def _check_signers(
    entries: list[dict],
    payloads: dict[int, dict],
    keys: dict[str, Ed25519PublicKey],
    export: dict,
    size: int,
    done: list[str],
) -> None:
    """Every entry signed by a key the log's rotation rule allows at its position, and the signatures valid."""
    windows = _key_windows(entries, payloads)
    for kid in keys:
        if kid not in windows.windows:
            raise BundleError(f"{export['keys'][kid]}: key not introduced by any key entry in the log")
    if why := windows.may_sign_checkpoint(export["checkpoint_key_id"], size):
        raise BundleError(f"data/log/checkpoint.txt: {why}")
    raw_keys = {kid: _raw(key) for kid, key in keys.items()}
    jobs = []
    for e in entries:
        where = f"data/log/entries.jsonl entry {e['seq']}"
        if e["key_id"] not in keys:
            raise BundleError(f"{where}: signed by key {e['key_id']}, which the log never introduced")
        if why := windows.may_sign(e["key_id"], e["seq"]):
            raise BundleError(f"{where}: {why}")
        jobs.append((raw_keys[e["key_id"]], bytes.fromhex(e["signature"]), bytes.fromhex(e["entry_hash"])))
    bad = _first_bad_signature(jobs)
    if bad is not None:
        raise BundleError(f"data/log/entries.jsonl entry {entries[bad]['seq']}: signature does not verify")
    done.append(f"log entries: {len(entries)} hashes, links to the log, signing keys, signatures, payload digests")


def _check_evidence(files: dict[str, bytes], export: dict, payloads: dict[int, dict], done: list[str]) -> None:
    """Evaluations equal to what the log recorded; reports and sign-offs with a digest the log recorded."""
    logged_files: dict[str, str] = {}
    for seq, body in payloads.items():
        for key in ("sha256", "signed_sha256"):
            if key in body:
                logged_files[body[key]] = f"entry {seq}"
        if "evaluation" in body:
            ev_digest = body["evaluation_digest"]
            rel = f"data/evaluations/{ev_digest}.json"
            if rel not in files:
                raise BundleError(f"{rel}: evaluation recorded in entry {seq} is missing")
            if hashlib.sha256(files[rel]).hexdigest() != ev_digest or json.loads(files[rel]) != body["evaluation"]:
                raise BundleError(f"{rel}: does not match the evaluation recorded in entry {seq}")
    for item in export["files"]:
        rel, digest = item["path"], item["sha256"]
        if hashlib.sha256(files[rel]).hexdigest() != digest:
            raise BundleError(f"{rel}: SHA-256 differs from export.json")
        if item["kind"] == "report" and digest not in logged_files:
            raise BundleError(f"{rel}: no report rendering or sign-off in the log has this digest")
    done.append(f"evidence files: {len(export['files'])} match their logged digests")
    if export.get("missing"):
        done.append(
            f"note: {len(export['missing'])} referenced file(s) were not available at export: "
            + ", ".join(m["what"] for m in export["missing"][:5])
        )


def verify_files(files: dict[str, bytes], trusted_key: bytes | None = None) -> list[str]:
    """Check a bag's files; returns what was verified, raises BundleError at the first failure.

    The phases run in this order because each trusts only what the one before it checked.
    """
    done: list[str] = []
    _check_bag(files, done)
    export = json.loads(files["data/export.json"])
    keys, signing = _check_tag_signature(files, export, trusted_key, done)
    checkpoint, leaves = _check_checkpoint(files, export, signing, done)
    entries, payloads = _read_entries(files, export, leaves, done)
    _check_signers(entries, payloads, keys, export, checkpoint.size, done)
    _check_evidence(files, export, payloads, done)
    return done


def verify(path: Path, trusted_key: bytes | None = None) -> list[str]:
    files = read_folder(path) if path.is_dir() else read_zip(path)
    return verify_files(files, trusted_key)


MALFORMED = (KeyError, ValueError, TypeError, IndexError, AttributeError, RecursionError)


def _usage(message: str) -> int:
    print(f"error: {message} (usage: verify.py [BUNDLE.zip | BAG_FOLDER] [--trusted-key LOG_KEY.pem])", file=sys.stderr)
    return 2


def main(argv: list[str]) -> int:
    """Exit 0 verified, 1 the bundle failed (one FAILED line), 2 bad usage."""
    args = list(argv)
    trusted = None
    if "--trusted-key" in args:
        i = args.index("--trusted-key")
        if i + 1 >= len(args):
            return _usage("--trusted-key needs a PEM file")
        key_file = args[i + 1]
        del args[i : i + 2]
        try:
            trusted = _raw(_public_key(Path(key_file).read_bytes(), key_file))
        except (OSError, ValueError, BundleError) as exc:
            return _usage(f"{key_file}: cannot read an Ed25519 public key ({exc})")
    if len(args) > 1 or any(a.startswith("-") for a in args):
        return _usage(f"unexpected arguments {args}")
    here = Path(__file__).resolve().parent
    target = Path(args[0]) if args else here
    if not target.exists():
        return _usage(f"{target}: no such bundle")
    if not args and not (here / "bagit.txt").is_file():
        return _usage(f"no bundle given, and {here} is not a bag folder")
    try:
        lines = verify(target, trusted)
    except BundleError as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    except MALFORMED as exc:
        print(f"FAILED: malformed bundle ({type(exc).__name__}: {exc})", file=sys.stderr)
        return 1
    for line in lines:
        print(f"ok  {line}")
    if trusted is None:
        print("note: no --trusted-key: this proves only that the bundle is signed by the key it carries")
    if target.is_dir() and target.resolve() in (here, *here.parents):
        print(
            "note: this verify.py came with the bundle it checked; a forged bundle can bring a verifier that "
            "lies. Use govkit verify-bundle, or verify.py and chain.py obtained from govkit."
        )
    print("bundle verified")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
