"""Rules of the log: entry pre-images, RFC 6962 Merkle trees, signed checkpoint notes, key rotation.

Everything here is pure and standard-library + `cryptography` only, so the evidence bundle's
stand-alone verifier can carry an exact copy of these rules.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass

ENTRY_DOMAIN = b"govkit.audit.entry.v1\x00"
GENESIS = "0" * 64
HEADER_FIELDS = (
    "seq",
    "entry_id",
    "recorded_at",
    "actor",
    "action",
    "subject",
    "payload_digest",
    "prev_hash",
    "key_id",
)


def entry_preimage(header: dict[str, object]) -> bytes:
    """Domain tag, then every header field as an 8-byte big-endian length and its UTF-8 bytes.

    Length prefixes make the encoding injective: no choice of field values can make two
    different headers hash alike, as a plain string join could ("a|b" + "c" vs "a" + "b|c").
    """
    parts = [ENTRY_DOMAIN]
    for name in HEADER_FIELDS:
        raw = str(header[name]).encode("utf-8")
        parts.append(struct.pack(">Q", len(raw)))
        parts.append(raw)
    return b"".join(parts)


def entry_hash(header: dict[str, object]) -> str:
    return hashlib.sha256(entry_preimage(header)).hexdigest()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


class MerkleAccumulator:
    """RFC 6962 tree over a growing list of leaves, keeping only the compact range.

    The stack holds the roots of the perfect subtrees that make up the leaves so far (the
    binary decomposition of the size). Folding it right to left gives the RFC's Merkle Tree
    Hash, so the root at every checkpoint size comes out of a single pass over the log.
    """

    def __init__(self) -> None:
        self.size = 0
        self._stack: list[tuple[int, bytes]] = []  # (height, hash)

    def append(self, data: bytes) -> None:
        height, node = 0, leaf_hash(data)
        while self._stack and self._stack[-1][0] == height:
            node = node_hash(self._stack.pop()[1], node)
            height += 1
        self._stack.append((height, node))
        self.size += 1

    def root(self) -> bytes:
        if not self._stack:
            return hashlib.sha256(b"").digest()
        node = self._stack[-1][1]
        for _, left in reversed(self._stack[:-1]):
            node = node_hash(left, node)
        return node

    def frontier(self) -> str:
        """The compact range as text ("height:hex,..."), stored beside a checkpoint to resume from it."""
        return ",".join(f"{height}:{node.hex()}" for height, node in self._stack)

    @classmethod
    def resume(cls, size: int, frontier: str) -> MerkleAccumulator:
        """The accumulator after `size` leaves, from its frontier; ValueError unless it has the shape of `size`.

        The caller still compares `root()` with a signed root: a frontier is only as good as that check.
        """
        acc = cls()
        for part in filter(None, frontier.split(",")):
            height, _, node = part.partition(":")
            raw = bytes.fromhex(node)
            if not height.isdigit() or int(height) > 63 or len(raw) != 32:
                raise ValueError("malformed Merkle frontier")
            acc._stack.append((int(height), raw))
        heights = [h for h, _ in acc._stack]
        if (
            heights != sorted(heights, reverse=True)
            or len(set(heights)) != len(heights)
            or sum(1 << h for h in heights) != size
        ):
            raise ValueError("Merkle frontier does not match the checkpoint size")
        acc.size = size
        return acc


def merkle_root(leaves: Sequence[bytes]) -> bytes:
    """RFC 6962 Merkle Tree Hash of the given leaf data (entry hashes as raw bytes)."""
    acc = MerkleAccumulator()
    for leaf in leaves:
        acc.append(leaf)
    return acc.root()


def note_key_id(name: str, public_key: bytes) -> bytes:
    """C2SP signed-note key id for Ed25519: SHA-256(name || 0x0A || 0x01 || key)[:4]."""
    return hashlib.sha256(name.encode() + b"\n\x01" + public_key).digest()[:4]


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement "the log named `origin` had `size` entries with this root and head"."""

    origin: str
    size: int
    root: str  # hex
    head: str  # entry hash of entry `size`, hex
    timestamp: str
    signature: str = ""  # base64(key id (4 bytes) || Ed25519 signature), C2SP style
    key_id: str = ""  # the log's key id (hex) that signed it
    others: tuple[tuple[str, str], ...] = ()  # further signature lines (name, base64), e.g. witnesses

    def body(self) -> bytes:
        root_b64 = base64.b64encode(bytes.fromhex(self.root)).decode()
        return (
            f"{self.origin}\n{self.size}\n{root_b64}\nhead {self.head}\ntime {self.timestamp}\nkey {self.key_id}\n"
        ).encode()

    def note(self) -> str:
        """The C2SP tlog-checkpoint signed note: body, blank line, signature lines (the log's first)."""
        lines = [(self.origin, self.signature), *self.others]
        return self.body().decode() + "\n" + "".join(f"\u2014 {name} {sig}\n" for name, sig in lines)

    def log_signatures(self) -> list[bytes]:
        """Every signature line in the log's name, decoded (4-byte key id || signature); bad base64 is skipped.

        C2SP signed notes may carry several signatures (witnesses, a second key): a verifier picks
        the ones from keys it knows and ignores the rest.
        """
        found = []
        for name, sig in [(self.origin, self.signature), *self.others]:
            if name != self.origin:
                continue
            try:
                found.append(base64.b64decode(sig, validate=True))
            except ValueError:
                continue
        return found

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """A note's fields, strictly: ValueError for anything that is not a well-formed govkit checkpoint."""
        body, _, sigs = text.partition("\n\n")
        lines = body.split("\n")
        if len(lines) < 6 or not lines[3].startswith("head ") or not lines[4].startswith("time "):
            raise ValueError("not a govkit checkpoint note")
        if not lines[1].isdigit() or (lines[1].startswith("0") and lines[1] != "0"):
            raise ValueError("checkpoint size is not a decimal number")
        root = base64.b64decode(lines[2], validate=True)
        head = lines[3][5:]
        if len(root) != 32 or len(head) != 64 or not all(c in "0123456789abcdef" for c in head):
            raise ValueError("checkpoint root or head is malformed")
        signed = []
        for line in sigs.splitlines():
            if line.startswith("\u2014 "):
                name, _, sig = line[2:].rpartition(" ")
                signed.append((name, sig))
        own = [i for i, (name, _) in enumerate(signed) if name == lines[0]]
        if not own:
            raise ValueError("checkpoint has no signature line in the log's name")
        first = signed.pop(own[0])
        return cls(
            origin=lines[0],
            size=int(lines[1]),
            root=root.hex(),
            head=head,
            timestamp=lines[4][5:],
            key_id=lines[5][4:] if lines[5].startswith("key ") else "",
            signature=first[1],
            others=tuple(signed),
        )

    def raw_signature(self) -> bytes:
        return base64.b64decode(self.signature)[4:]


KEY_ADDED = "key.added"
KEY_ROTATED = "key.rotated"


@dataclass
class KeyWindow:
    """The entries one log key may sign: from `first` up to and including `last` (None while live)."""

    first: int
    last: int | None = None


class KeyWindows:
    """The key-rotation rule: which key may sign which entry and which checkpoint.

    The first key signs from entry 1 (its own key.added entry). A key.rotated entry is signed by
    the key it retires, which signs nothing after it; the key it introduces signs from the next
    entry on. A checkpoint of N entries is signed by the key that may sign entry N+1, so the
    checkpoint written right after a rotation is the new key's. `govkit log verify` and the
    bundle's stand-alone verifier both apply this one copy.
    """

    def __init__(self) -> None:
        self.windows: dict[str, KeyWindow] = {}

    def first_key(self, kid: str) -> None:
        self.windows[kid] = KeyWindow(1)

    def rotate(self, seq: int, signer: str, new_kid: str, retired: str | None = None) -> str | None:
        """Apply the key.rotated entry `seq` signed by `signer`; why it may not rotate, or None.

        `retired` is the key the entry says it retires (its payload's old_key_id), when it says so.
        """
        old = self.windows.get(signer)
        if old is None or (retired is not None and retired != signer):
            return "key rotation not signed by the key it retires"
        if old.last is None:
            old.last = seq
        self.windows.setdefault(new_kid, KeyWindow(seq + 1))
        return None

    def may_sign(self, kid: str, seq: int) -> str | None:
        """Why `kid` may not sign entry `seq`, or None when it may."""
        window = self.windows.get(kid)
        if window is None:
            return f"signed by unknown key {kid}"
        if seq < window.first:
            return f"signed by key {kid} before the log introduced it at entry {window.first}"
        if window.last is not None and seq > window.last:
            return f"signed by key {kid} after it was rotated out at entry {window.last}"
        return None

    def may_sign_checkpoint(self, kid: str, size: int) -> str | None:
        """Why `kid` may not sign a checkpoint of `size` entries, or None when it may."""
        return self.may_sign(kid, size + 1)

    def successors(self, kid: str) -> set[str]:
        """`kid` and every key introduced after it: what a key trusted from outside vouches for."""
        start = self.windows[kid].first
        return {k for k, w in self.windows.items() if w.first >= start}
