"""Evidence bundles: export the demo, verify offline, and catch every kind of tampering."""

from __future__ import annotations

import ast
import io
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import bagit
import pytest
from click.testing import CliRunner, Result

from govkit.audit.log import AuditLog
from govkit.cli import cli
from govkit.demo.run import asset_root

ENV: dict[str, str] = {}


def govkit(*args: str, cwd: Path | None = None) -> Result:
    return CliRunner(env={"NO_COLOR": "1", "CI": "", **ENV}).invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def bundle(demo_source: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The demo checked by two teams, a report rendered and signed, then exported."""
    home = tmp_path_factory.mktemp("evidence")
    ENV.update(GOVKIT_DB=str(home / "govkit.db"), GOVKIT_KEY=str(home / "log.pem"))
    manifest = str(demo_source / "govkit.yaml")
    policies = str(asset_root() / "policies")
    govkit("check", manifest, "--policy", policies, "-q")
    govkit("check", manifest, "--policy", policies, "--team", "research", "-q")
    reports = home / "reports"
    govkit("report", "--latest", "credit-scorer", "--out", str(reports / "credit.pdf"))
    govkit("keys", "signer-cert", "--name", "Carol Officer", "--out", str(home / "signers"))
    signed = govkit("signoff", str(reports / "credit.pdf"), "--signer", "Carol Officer <carol@example.org>",
                    "--role", "Compliance Officer", "--decision", "approve",
                    "--key", str(home / "signers" / "carol-officer.key.pem"),
                    "--cert", str(home / "signers" / "carol-officer.cert.pem"))
    assert signed.exit_code == 0, signed.output
    out = home / "bundle.zip"
    exported = govkit("export", "--model", "credit-scorer", "--out", str(out), "--include", str(reports))
    assert exported.exit_code == 0, exported.output
    return {"home": home, "zip": out, "stdout": exported.stdout}


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


def rewrite(path: Path, out: Path, change: dict[str, bytes | None]) -> Path:
    """A copy of the zip with some members replaced (None = removed)."""
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            name = info.filename
            if name in change:
                if change[name] is not None:
                    dst.writestr(info, change[name])
            else:
                dst.writestr(info, src.read(info))
    return out


def bag_root(path: Path) -> str:
    return next(iter(members(path))).split("/")[0]


def test_export_verifies(bundle: dict[str, Any]) -> None:
    result = govkit("verify-bundle", str(bundle["zip"]))
    assert result.exit_code == 0, result.output
    assert "bundle verified" in result.stdout
    files = members(bundle["zip"])
    root = bag_root(bundle["zip"])
    export = json.loads(files[f"{root}/data/export.json"])
    kinds = {f["kind"] for f in export["files"]}
    assert kinds == {"evaluation", "policy", "waivers", "report"}
    assert sum(1 for f in export["files"] if f["kind"] == "report") == 2  # the rendering and the signed copy
    assert export["missing"] == []
    assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in zipfile.ZipFile(bundle["zip"]).infolist())
    assert list(files) == sorted(files)


def test_export_is_logged(bundle: dict[str, Any]) -> None:
    import hashlib

    with AuditLog(ENV["GOVKIT_DB"], key_path=Path(ENV["GOVKIT_KEY"])) as log:
        (entry,) = log.entries(action="evidence.exported")
        payload = log.payload(entry.seq)
        assert log.verify().ok
    assert payload["sha256"] == hashlib.sha256(bundle["zip"].read_bytes()).hexdigest()


def test_bagit_library_accepts_the_bag(bundle: dict[str, Any], tmp_path: Path) -> None:
    with zipfile.ZipFile(bundle["zip"]) as z:
        z.extractall(tmp_path)
    bag = bagit.Bag(str(tmp_path / bag_root(bundle["zip"])))
    bag.validate()
    assert bag.is_valid()


def test_readme_commands_work_with_standard_tools(bundle: dict[str, Any], tmp_path: Path) -> None:
    with zipfile.ZipFile(bundle["zip"]) as z:
        z.extractall(tmp_path)
    folder = tmp_path / bag_root(bundle["zip"])
    readme = (folder / "README.txt").read_text()
    section = readme.split("1. With standard tools")[1].split("Compare")[0]
    commands = re.sub(r"\\\n\s+", " ", section).strip().splitlines()[1:]
    commands = [c.strip() for c in commands if c.strip()]
    assert len(commands) == 5
    for command in commands:
        run = subprocess.run(["bash", "-c", command], cwd=folder, capture_output=True, text=True)
        assert run.returncode == 0, (command, run.stdout, run.stderr)
    assert "Signature Verified Successfully" in subprocess.run(
        ["bash", "-c", commands[2]], cwd=folder, capture_output=True, text=True).stdout


def test_verify_py_runs_without_govkit(bundle: dict[str, Any], tmp_path: Path) -> None:
    with zipfile.ZipFile(bundle["zip"]) as z:
        z.extractall(tmp_path)
    folder = tmp_path / bag_root(bundle["zip"])
    tree = ast.parse((folder / "verify.py").read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                 and node.module}
    assert imported - set(sys.stdlib_module_names) == {"cryptography", "govkit", "chain"}
    blocker = ("import sys, runpy; sys.modules['govkit'] = None; sys.argv = ['verify.py', sys.argv[1]]; "
               "runpy.run_path('verify.py', run_name='__main__')")
    for target in (str(bundle["zip"]), "."):
        run = subprocess.run([sys.executable, "-c", blocker, target], cwd=folder, capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
        assert "bundle verified" in run.stdout


def tamper_targets(path: Path) -> list[str]:
    root = bag_root(path)
    names = members(path)
    picks = ["data/export.json", "data/log/entries.jsonl", "data/log/leaves.txt", "data/log/checkpoint.txt",
             "bag-info.txt", "README.txt", "verify.py", "chain.py"]
    picks += [next(n.split("/", 1)[1] for n in names if "/data/reports/" in n)]
    picks += [next(n.split("/", 1)[1] for n in names if "/data/evaluations/" in n)]
    picks += [next(n.split("/", 1)[1] for n in names if "/data/log/payloads/" in n)]
    picks += [next(n.split("/", 1)[1] for n in names if "/data/policies/" in n)]
    return [f"{root}/{p}" for p in picks]


def test_one_byte_changed_anywhere_is_caught(bundle: dict[str, Any], tmp_path: Path) -> None:
    files = members(bundle["zip"])
    targets = tamper_targets(bundle["zip"])
    assert len(targets) == 12
    for i, name in enumerate(targets):
        data = bytearray(files[name])
        data[len(data) // 2] ^= 0x20
        broken = rewrite(bundle["zip"], tmp_path / f"t{i}.zip", {name: bytes(data)})
        result = govkit("verify-bundle", str(broken))
        assert result.exit_code == 1, name
        rel = name.split("/", 1)[1]
        assert rel in result.stderr, (rel, result.stderr)


def test_removed_entry_is_caught_even_with_fresh_manifests(bundle: dict[str, Any], tmp_path: Path) -> None:
    import hashlib

    files = members(bundle["zip"])
    root = bag_root(bundle["zip"])
    entries = files[f"{root}/data/log/entries.jsonl"].decode().splitlines()
    dropped = [line for line in entries if json.loads(line)["action"] != "signoff.recorded"]
    assert len(dropped) == len(entries) - 1
    body = ("\n".join(dropped) + "\n").encode()
    naive = rewrite(bundle["zip"], tmp_path / "naive.zip", {f"{root}/data/log/entries.jsonl": body})
    result = govkit("verify-bundle", str(naive))
    assert result.exit_code == 1 and "data/log/entries.jsonl: SHA-256 does not match" in result.stderr
    # a careful forger also rewrites both manifests: the log key's signature gives them away
    change = {f"{root}/data/log/entries.jsonl": body}
    manifest = files[f"{root}/manifest-sha256.txt"].decode().replace(
        hashlib.sha256(files[f"{root}/data/log/entries.jsonl"]).hexdigest(), hashlib.sha256(body).hexdigest())
    change[f"{root}/manifest-sha256.txt"] = manifest.encode()
    tags = files[f"{root}/tagmanifest-sha256.txt"].decode().replace(
        hashlib.sha256(files[f"{root}/manifest-sha256.txt"]).hexdigest(),
        hashlib.sha256(manifest.encode()).hexdigest())
    change[f"{root}/tagmanifest-sha256.txt"] = tags.encode()
    forged = rewrite(bundle["zip"], tmp_path / "forged.zip", change)
    result = govkit("verify-bundle", str(forged))
    assert result.exit_code == 1 and "tagmanifest-sha256.txt.sig: signature does not verify" in result.stderr


@pytest.mark.parametrize(("member", "message"), [
    ("../evil", "unsafe path"),
    ("/tmp/evil-absolute", "unsafe path"),
    ("bag/../../evil", "unsafe path"),
    ("bag\\..\\evil", "unsafe path"),
])
def test_unsafe_zip_paths_are_refused_without_writing(tmp_path: Path, member: str, message: str) -> None:
    work = tmp_path / "deep" / "work"
    work.mkdir(parents=True)
    bad = work / "bad.zip"
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("bag/bagit.txt", "BagIt-Version: 1.0\n")
        z.writestr(member, "pwned")
    before = sorted(p for p in tmp_path.rglob("*"))
    result = govkit("verify-bundle", str(bad))
    assert result.exit_code == 1 and message in result.stderr
    assert sorted(p for p in tmp_path.rglob("*")) == before
    assert not Path("/tmp/evil-absolute").exists()


def test_links_and_duplicates_are_refused(tmp_path: Path) -> None:
    link = tmp_path / "link.zip"
    with zipfile.ZipFile(link, "w") as z:
        info = zipfile.ZipInfo("bag/data/link")
        info.external_attr = (0o120777 << 16)
        z.writestr(info, "/etc/passwd")
    assert "link in zip" in govkit("verify-bundle", str(link)).stderr
    dup = tmp_path / "dup.zip"
    with zipfile.ZipFile(dup, "w") as z, pytest.warns(UserWarning):
        z.writestr("bag/bagit.txt", "a")
        z.writestr("bag/bagit.txt", "b")
    assert "duplicate name" in govkit("verify-bundle", str(dup)).stderr


def test_trusted_key_pinning(bundle: dict[str, Any], tmp_path: Path) -> None:
    from govkit.audit.keys import create_key, load_key

    real = load_key(Path(ENV["GOVKIT_KEY"]))
    (tmp_path / "real.pem").write_bytes(real.public_pem())
    (tmp_path / "other.pem").write_bytes(create_key(tmp_path / "o.pem").public_pem())
    assert govkit("verify-bundle", str(bundle["zip"]), "--trusted-key", str(tmp_path / "real.pem")).exit_code == 0
    other = govkit("verify-bundle", str(bundle["zip"]), "--trusted-key", str(tmp_path / "other.pem"))
    assert other.exit_code == 1 and "other than the trusted key" in other.stderr


def test_team_scope(bundle: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "research.zip"
    assert govkit("export", "--team", "research", "--out", str(out)).exit_code == 0
    files = members(out)
    root = bag_root(out)
    evaluations = [n for n in files if "/data/evaluations/" in n]
    assert len(evaluations) == 1
    assert json.loads(files[evaluations[0]])["team"] == "research"
    assert govkit("verify-bundle", str(out)).exit_code == 0
    empty = govkit("export", "--model", "nothing-here", "--out", str(tmp_path / "e.zip"))
    assert empty.exit_code == 2 and "no audit-log entries" in empty.stderr
    assert io.BytesIO(files[f"{root}/bagit.txt"]).read().startswith(b"BagIt-Version: 1.0")
