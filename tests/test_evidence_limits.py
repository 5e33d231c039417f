"""Hostile zips given to the bundle verifier: bombs stay bounded in memory, damage is one FAILED line."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from govkit.cli import cli
from govkit.evidence import verify as bundle_verify

MEMORY_CAP = 768 << 20  # address space for the verifier process: far below the bombs' expanded size
GIB = 1 << 30


def deflated_zeros(size: int) -> tuple[bytes, int]:
    """A raw deflate stream of `size` zero bytes and its CRC-32, built in a fraction of a second.

    One MiB of zeros compressed after a full flush is a self-contained, byte-aligned block run, so
    repeating it and closing with the final block gives a valid stream for any multiple of 1 MiB.
    """
    mib = bytes(1 << 20)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(mib) + compressor.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(size >> 20):
        crc = zlib.crc32(mib, crc)
    return block * (size >> 20) + compressor.flush(), crc


def raw_zip(members: list[tuple[str, bytes, int, int]]) -> bytes:
    """A zip written field by field: (name, deflate data, crc, declared size), so a header can lie."""
    local, central = b"", b""
    for name, data, crc, declared in members:
        raw = name.encode()
        central += (
            struct.pack(
                "<4s6H3L5H2L",
                b"PK\x01\x02",
                0x0314,
                20,
                0,
                8,
                0,
                0x21,
                crc,
                len(data),
                declared,
                len(raw),
                0,
                0,
                0,
                0,
                0o644 << 16,
                len(local),
            )
            + raw
        )
        local += (
            struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0x21, crc, len(data), declared, len(raw), 0)
            + raw
            + data
        )
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members), len(central), len(local), 0)
    return local + central + end


def run_capped(target: Path) -> subprocess.CompletedProcess[str]:
    """The verifier in a process whose address space is capped, so a bomb cannot pass by luck."""
    code = (
        f"import resource, sys; resource.setrlimit(resource.RLIMIT_AS, ({MEMORY_CAP}, {MEMORY_CAP})); "
        "from govkit.evidence.verify import main; sys.exit(main(sys.argv[1:]))"
    )
    return subprocess.run([sys.executable, "-c", code, str(target)], capture_output=True, text=True, timeout=120)


def assert_one_failed_line(run: subprocess.CompletedProcess[str], words: str) -> None:
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("FAILED: ") and words in lines[0], run.stderr


def test_gigabyte_of_zeros_is_refused_under_a_memory_cap(tmp_path: Path) -> None:
    data, crc = deflated_zeros(GIB)
    assert len(data) < 2 << 20  # about 1 MB on disk
    bomb = tmp_path / "bomb.zip"
    bomb.write_bytes(
        raw_zip([("bag/bagit.txt", zlib.compress(b"x")[2:-4], zlib.crc32(b"x"), 1), ("bag/data/zeros", data, crc, GIB)])
    )
    assert_one_failed_line(run_capped(bomb), "compression ratio")


def test_member_whose_header_understates_its_size_is_refused(tmp_path: Path) -> None:
    data, crc = deflated_zeros(GIB)
    liar = tmp_path / "liar.zip"
    liar.write_bytes(raw_zip([("bag/data/small.json", data, crc, 1000)]))
    assert_one_failed_line(run_capped(liar), "liar.zip")


def test_many_small_members_cannot_add_up_to_a_bomb(tmp_path: Path) -> None:
    data, crc = deflated_zeros(1 << 20)
    many = tmp_path / "many.zip"
    many.write_bytes(raw_zip([(f"bag/data/{i}", data, crc, 1 << 20) for i in range(400)]))
    assert many.stat().st_size < 1 << 20
    assert_one_failed_line(run_capped(many), "zip bomb")


def test_member_count_is_capped_before_parsing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bundle_verify, "MAX_MEMBERS", 50)
    crowded = tmp_path / "crowded.zip"
    with zipfile.ZipFile(crowded, "w") as z:
        for i in range(60):
            z.writestr(f"bag/data/{i}", b"")
    with pytest.raises(bundle_verify.BundleError, match="60 members"):
        bundle_verify.read_zip(crowded)


def small_bag(path: Path) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("bag/bagit.txt", "BagIt-Version: 1.0\n")
        z.writestr(
            "bag/data/log/entries.jsonl",
            "\n".join(json.dumps({"seq": i, "note": f"entry {i}" * 20}) for i in range(2000)),
        )
    return path


def garbled(path: Path) -> Path:
    data = bytearray(small_bag(path).read_bytes())
    start = data.index(b"entries.jsonl") + len(b"entries.jsonl")
    for i in range(start + 200, start + 260):
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize(
    "make",
    [
        lambda p: p.write_bytes(small_bag(p).read_bytes()[:-30]),  # truncated end record
        lambda p: p.write_bytes(small_bag(p).read_bytes()[:2000]),  # truncated in the data
        garbled,  # bytes flipped inside compressed data: inflate error or bad CRC
        lambda p: p.write_bytes(bytes(range(256)) * 40),  # garbage
        lambda p: p.write_bytes(b""),  # empty
    ],
)
def test_damaged_zip_is_one_failed_line(tmp_path: Path, make) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "bundle.zip"
    make(target)
    result = CliRunner().invoke(cli, ["verify-bundle", str(target)], catch_exceptions=False)
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("FAILED: "), result.stderr


def test_bad_usage_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for args in (
        ["a.zip", "b.zip"],
        [str(tmp_path / "missing.zip")],
        [str(tmp_path), "--trusted-key", str(tmp_path / "no-key.pem")],
    ):
        assert bundle_verify.main(args) == 2
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), lines
    assert CliRunner().invoke(cli, ["verify-bundle", str(tmp_path / "missing.zip")]).exit_code == 2


def test_first_bad_signature_is_found_across_worker_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    monkeypatch.setattr(bundle_verify, "PARALLEL_FROM", 16)
    private = Ed25519PrivateKey.generate()
    raw = bundle_verify._raw(private.public_key())
    jobs = [(raw, private.sign(m), m) for m in (i.to_bytes(32, "big") for i in range(400))]
    assert bundle_verify._first_bad_signature(jobs) is None
    for bad in (377, 203):
        jobs[bad] = (raw, bytes(64), jobs[bad][2])
    assert bundle_verify._first_bad_signature(jobs) == 203
