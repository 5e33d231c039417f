#!/usr/bin/env python3
"""Verify a govkit evidence bundle offline.

Needs only Python 3.9+ and the `cryptography` package (pip install cryptography); it does not
need govkit. Usage:

    python3 verify.py BUNDLE.zip [--trusted-key LOG_PUBLIC_KEY.pem]
    python3 verify.py EXTRACTED_BAG_FOLDER

It never writes anything: a zip is read in memory, after refusing absolute paths, "..",
links, duplicate names and oversized members. Exit 0 when everything checks, 1 otherwise.
"""

from __future__ import annotations

import base64
import hashlib
import json
import stat
import sys
import zipfile
from pathlib import Path, PurePosixPath

try:  # inside govkit
    from govkit.audit.chain import GENESIS, Checkpoint, MerkleAccumulator, entry_hash, note_key_id
except ImportError:  # stand-alone, beside the chain.py shipped in the bundle
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from chain import GENESIS, Checkpoint, MerkleAccumulator, entry_hash, note_key_id  # type: ignore[no-redef]

MAX_MEMBER = 2 << 30
MAX_TOTAL = 8 << 30
SIGNED_TAGS = "tagmanifest-sha256.txt"


class BundleError(Exception):
    """The bundle is damaged, incomplete or unsafe; the message names the file or entry."""


def _safe_name(name: str) -> str:
    if "\\" in name or name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise BundleError(f"unsafe path in zip: {name!r} (absolute)")
    parts = PurePosixPath(name).parts
    if any(p == ".." for p in parts):
        raise BundleError(f"unsafe path in zip: {name!r} (parent directory)")
    return name


def read_zip(path: Path) -> dict[str, bytes]:
    """All files of the single bag folder in the zip, keyed by path inside the bag."""
    files: dict[str, bytes] = {}
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise BundleError(f"{path}: not a readable zip ({exc})") from None
    with archive:
        infos = archive.infolist()
        names = [i.filename for i in infos]
        if len(names) != len(set(names)):
            dup = next(n for n in names if names.count(n) > 1)
            raise BundleError(f"duplicate name in zip: {dup!r}")
        total = 0
        for info in infos:
            _safe_name(info.filename)
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise BundleError(f"link in zip: {info.filename!r}")
            total += info.file_size
            if info.file_size > MAX_MEMBER or total > MAX_TOTAL:
                raise BundleError(f"zip member too large: {info.filename!r}")
        roots = {PurePosixPath(n).parts[0] for n in names}
        if len(roots) != 1:
            raise BundleError(f"expected one bag folder in the zip, found {sorted(roots)}")
        for info in infos:
            if info.is_dir():
                continue
            inner = "/".join(PurePosixPath(info.filename).parts[1:])
            files[inner] = archive.read(info)
    return files


def read_folder(path: Path) -> dict[str, bytes]:
    files = {}
    for item in sorted(path.rglob("*")):
        if item.is_symlink():
            raise BundleError(f"link in bag: {item}")
        if item.is_file():
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


def _public_key(pem: bytes, label: str):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, Ed25519PublicKey):
        raise BundleError(f"{label}: not an Ed25519 public key")
    return key


def _raw(key) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _verifies(key, signature: bytes, data: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature

    try:
        key.verify(signature, data)
    except InvalidSignature:
        return False
    return True


def verify_files(files: dict[str, bytes], trusted_key: bytes | None = None) -> list[str]:
    """Check a bag's files; returns what was verified, raises BundleError at the first failure."""
    done: list[str] = []
    if files.get("bagit.txt", b"").splitlines()[:1] != [b"BagIt-Version: 1.0"]:
        raise BundleError("bagit.txt: not a BagIt 1.0 bag")
    payload = {rel for rel in files if rel.startswith("data/")}
    _check_manifest(files, "manifest-sha256.txt", payload)
    done.append(f"manifest-sha256.txt: {len(payload)} payload files match")
    tags = {rel for rel in files if not rel.startswith("data/") and rel not in (SIGNED_TAGS, SIGNED_TAGS + ".sig")}
    _check_manifest(files, SIGNED_TAGS, tags)
    done.append(f"{SIGNED_TAGS}: {len(tags)} tag files match")

    export = json.loads(files["data/export.json"])
    keys = {}
    for kid, rel in export["keys"].items():
        keys[kid] = _public_key(files[rel], rel)
    signing = keys.get(export["checkpoint_key_id"])
    if signing is None:
        raise BundleError("data/export.json: the checkpoint key is not in data/keys")
    if trusted_key is not None and _raw(signing) != trusted_key:
        raise BundleError("the bundle is signed by a key other than the trusted key")
    if not _verifies(signing, files.get(SIGNED_TAGS + ".sig", b""), files[SIGNED_TAGS]):
        raise BundleError(f"{SIGNED_TAGS}.sig: signature does not verify")
    done.append(f"{SIGNED_TAGS}.sig: signed by log key {export['checkpoint_key_id']}")

    checkpoint = Checkpoint.parse(files["data/log/checkpoint.txt"].decode())
    prefix_ok = note_key_id(checkpoint.origin, _raw(signing)) == base64.b64decode(checkpoint.signature)[:4]
    if not prefix_ok or not _verifies(signing, checkpoint.raw_signature(), checkpoint.body()):
        raise BundleError("data/log/checkpoint.txt: signature does not verify")
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

    entries = [json.loads(line) for line in files["data/log/entries.jsonl"].decode().splitlines() if line]
    if [e["seq"] for e in entries] != export["entries"]:
        raise BundleError("data/log/entries.jsonl: entries differ from the scope in export.json (entry missing?)")
    registered = {kid: key for kid, key in keys.items()}
    redacted = {int(e["subject"][4:]) for e in entries if e["action"] == "log.redacted"}
    payloads: dict[int, dict] = {}
    for e in entries:
        seq = e["seq"]
        where = f"data/log/entries.jsonl entry {seq}"
        if not 1 <= seq <= checkpoint.size:
            raise BundleError(f"{where}: beyond the checkpoint")
        if entry_hash(e) != e["entry_hash"] or e["entry_hash"] != leaves[seq - 1]:
            raise BundleError(f"{where}: hash does not match its header or the log")
        if e["prev_hash"] != (leaves[seq - 2] if seq > 1 else GENESIS):
            raise BundleError(f"{where}: prev_hash does not link to the log")
        key = registered.get(e["key_id"])
        if key is None or not _verifies(key, bytes.fromhex(e["signature"]), bytes.fromhex(e["entry_hash"])):
            raise BundleError(f"{where}: signature does not verify")
        body_path = f"data/log/payloads/{seq}.json"
        if body_path in files:
            body = files[body_path]
            if hashlib.sha256(body).hexdigest() != e["payload_digest"]:
                raise BundleError(f"{body_path}: does not match the entry's payload digest")
            payloads[seq] = json.loads(body)
        elif seq not in redacted:
            raise BundleError(f"{body_path}: missing, and the entry was not redacted")
    introduced = {body.get("key_id") for body in payloads.values() if "public_key" in body}
    introduced |= {body.get("new_key_id") for body in payloads.values() if "new_public_key" in body}
    for kid in keys:
        if kid not in introduced:
            raise BundleError(f"{export['keys'][kid]}: key not introduced by any key entry in the log")
    done.append(f"log entries: {len(entries)} hashes, links to the log, signatures, payload digests")

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
        done.append(f"note: {len(export['missing'])} referenced file(s) were not available at export: "
                    + ", ".join(m["what"] for m in export["missing"][:5]))
    return done


def verify(path: Path, trusted_key: bytes | None = None) -> list[str]:
    files = read_folder(path) if path.is_dir() else read_zip(path)
    return verify_files(files, trusted_key)


def main(argv: list[str]) -> int:
    args = list(argv)
    trusted = None
    if "--trusted-key" in args:
        i = args.index("--trusted-key")
        trusted = _raw(_public_key(Path(args[i + 1]).read_bytes(), args[i + 1]))
        del args[i:i + 2]
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        for line in verify(Path(args[0]), trusted):
            print(f"ok  {line}")
    except (BundleError, KeyError, ValueError) as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    print("bundle verified")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
