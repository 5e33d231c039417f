"""One key-rotation rule: `govkit log verify` and the bundle's stand-alone verifier agree on it.

Both read it from `audit/chain.py` (the file every bundle ships); the expectations here are the
rule as docs/audit-log.md states it, written out entry by entry.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from govkit.audit.chain import KEY_ADDED, KEY_ROTATED
from govkit.audit.interface import Entry
from govkit.audit.keys import SigningKey, create_key
from govkit.audit.verify import KeyRing
from govkit.evidence.verify import BundleError, _key_windows


def _added(key: SigningKey) -> dict[str, Any]:
    return {"key_id": key.key_id, "public_key": key.public_raw.hex()}


def _rotated(old: SigningKey, new: SigningKey) -> dict[str, Any]:
    return {"old_key_id": old.key_id, "new_key_id": new.key_id, "new_public_key": new.public_raw.hex()}


def test_log_verify_and_the_bundle_verifier_apply_one_rotation_rule(tmp_path: Path) -> None:
    first, second, third = (create_key(tmp_path / f"key{i}.pem") for i in range(3))
    # entry 1 adds `first`; entry 4 (signed by `first`) rotates to `second`; entry 7 to `third`
    events = [
        (1, KEY_ADDED, first, _added(first)),
        (4, KEY_ROTATED, first, _rotated(first, second)),
        (7, KEY_ROTATED, second, _rotated(second, third)),
    ]
    ring = KeyRing()
    entries, payloads = [], {}
    for seq, action, signer, payload in events:
        header = Entry(seq, f"e{seq}", "2026-01-01T00:00:00Z", "a", action, "s", "d", "p", signer.key_id, "h", "g")
        assert ring.observe(header, json.dumps(payload).encode()) is None
        entries.append({"seq": seq, "action": action, "key_id": signer.key_id})
        payloads[seq] = payload
    bundle = _key_windows(entries, payloads)

    # a rotation entry is signed by the key it retires; the new key signs from the next entry on
    may_sign = {first.key_id: range(1, 5), second.key_id: range(5, 8), third.key_id: range(8, 12)}
    for kid, allowed in may_sign.items():
        for seq in range(1, 12):
            expected = seq in allowed
            assert (ring.signer(kid, seq)[0] is not None) == expected, (kid, seq, ring.signer(kid, seq)[1])
            assert (bundle.may_sign(kid, seq) is None) == expected, (kid, seq)
    # the checkpoint over a rotation (size 4) is the new key's, never the retired one's
    for kid, size, expected in [(first, 3, True), (first, 4, False), (second, 4, True), (second, 7, False)]:
        assert (ring.checkpoint_signer(kid.key_id, size)[0] is not None) == expected, (kid.key_id, size)
        assert (bundle.may_sign_checkpoint(kid.key_id, size) is None) == expected, (kid.key_id, size)


def test_a_rotation_signed_by_another_key_is_refused_by_both(tmp_path: Path) -> None:
    first, second, third = (create_key(tmp_path / f"key{i}.pem") for i in range(3))
    ring = KeyRing()
    added = Entry(1, "e1", "t", "a", KEY_ADDED, "s", "d", "p", first.key_id, "h", "g")
    assert ring.observe(added, json.dumps(_added(first)).encode()) is None
    # entry 3 claims to retire `second`, which never was a key of this log, but is signed by `first`
    claim = _rotated(second, third)
    rotation = Entry(3, "e3", "t", "a", KEY_ROTATED, "s", "d", "p", first.key_id, "h", "g")
    assert ring.observe(rotation, json.dumps(claim).encode()) == "key rotation not signed by the key it retires"
    entries = [{"seq": 1, "action": KEY_ADDED, "key_id": first.key_id}, {**rotation.to_dict()}]
    with pytest.raises(BundleError, match="key rotation not signed by the key it retires"):
        _key_windows(entries, {1: _added(first), 3: claim})
