"""Evidence bundles: export the demo, verify offline, and catch every kind of tampering."""

from __future__ import annotations

import ast
import base64
import dataclasses
import hashlib
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
    govkit(
        "keys", "signer-cert", "--name", "Carol Officer", "--email", "carol@example.org", "--out", str(home / "signers")
    )
    signed = govkit(
        "signoff",
        str(reports / "credit.pdf"),
        "--signer",
        "Carol Officer <carol@example.org>",
        "--role",
        "Compliance Officer",
        "--decision",
        "approve",
        "--key",
        str(home / "signers" / "carol-officer.key.pem"),
        "--cert",
        str(home / "signers" / "carol-officer.cert.pem"),
    )
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
    assert kinds == {"evaluation", "cyclonedx-bom", "policy", "waivers", "report", "coverage", "control-catalogue"}
    assert sum(1 for f in export["files"] if f["kind"] == "report") == 2  # the rendering and the signed copy
    assert export["missing"] == []
    assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in zipfile.ZipFile(bundle["zip"]).infolist())
    assert list(files) == sorted(files)


def test_bundle_carries_the_coverage_matrix_and_the_catalogues_it_cites(bundle: dict[str, Any]) -> None:
    import yaml

    files = members(bundle["zip"])
    root = bag_root(bundle["zip"])
    evaluations = [json.loads(v) for k, v in files.items() if "/data/evaluations/" in k]
    assert sorted(ev["team"] for ev in evaluations) == ["lending", "research"]
    for ev in evaluations:  # one matrix per team: an overlay may add controls
        matrix = json.loads(files[f"{root}/data/controls/coverage-{ev['team']}.json"])
        assert matrix["team"] == ev["team"] and [m["name"] for m in matrix["models"]] == ["credit-scorer"]
        frameworks = sorted({ref.split(":")[0] for f in ev["findings"] for ref in f.get("controls", ())})
        assert matrix["frameworks"] == frameworks
        for name in frameworks:  # the catalogue files themselves, byte for byte, and every control in them
            bundled = files[f"{root}/data/controls/catalogues/{name}.yaml"]
            assert bundled == (asset_root() / "controls" / f"{name}.yaml").read_bytes()
            ids = [f"{name}:{c['id']}" for c in yaml.safe_load(bundled)["controls"]]
            assert [r["control"] for r in matrix["controls"] if r["control"].startswith(name + ":")] == ids
        # each result follows from the bundled evaluation's findings (worst of fail > waived > pass)
        for row in matrix["controls"]:
            statuses = {f["status"] for f in ev["findings"] if row["control"] in f.get("controls", ())}
            expected = (
                "not covered"
                if not statuses
                else "fail"
                if statuses & {"fail", "error", "baselined"}
                else "waived"
                if "waived" in statuses
                else "pass"
                if statuses & {"pass", "warn"}
                else "not evaluated"
            )
            assert row["results"]["credit-scorer"] == expected, (row, ev["team"])


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
    assert (
        "Signature Verified Successfully"
        in subprocess.run(["bash", "-c", commands[2]], cwd=folder, capture_output=True, text=True).stdout
    )


def test_verify_py_runs_without_govkit(bundle: dict[str, Any], tmp_path: Path) -> None:
    with zipfile.ZipFile(bundle["zip"]) as z:
        z.extractall(tmp_path)
    folder = tmp_path / bag_root(bundle["zip"])
    tree = ast.parse((folder / "verify.py").read_text())
    imported = {
        alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    }
    imported |= {
        node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    }
    assert imported - set(sys.stdlib_module_names) == {"cryptography", "govkit", "chain"}
    blocker = (
        "import sys, runpy; sys.modules['govkit'] = None; sys.argv = ['verify.py', sys.argv[1]]; "
        "runpy.run_path('verify.py', run_name='__main__')"
    )
    for target in (str(bundle["zip"]), "."):
        run = subprocess.run([sys.executable, "-c", blocker, target], cwd=folder, capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
        assert "bundle verified" in run.stdout


def tamper_targets(path: Path) -> list[str]:
    root = bag_root(path)
    names = members(path)
    picks = [
        "data/export.json",
        "data/log/entries.jsonl",
        "data/log/leaves.txt",
        "data/log/checkpoint.txt",
        "bag-info.txt",
        "README.txt",
        "verify.py",
        "chain.py",
    ]
    picks += [next(n.split("/", 1)[1] for n in names if "/data/reports/" in n)]
    picks += [next(n.split("/", 1)[1] for n in names if "/data/evaluations/" in n)]
    picks += [next(n.split("/", 1)[1] for n in names if "/data/log/payloads/" in n)]
    picks += [next(n.split("/", 1)[1] for n in names if "/data/policies/" in n)]
    picks += ["data/controls/coverage-lending.json", "data/controls/catalogues/eu-ai-act.yaml"]
    return [f"{root}/{p}" for p in picks]


def test_one_byte_changed_anywhere_is_caught(bundle: dict[str, Any], tmp_path: Path) -> None:
    files = members(bundle["zip"])
    targets = tamper_targets(bundle["zip"])
    assert len(targets) == 14
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
    manifest = (
        files[f"{root}/manifest-sha256.txt"]
        .decode()
        .replace(hashlib.sha256(files[f"{root}/data/log/entries.jsonl"]).hexdigest(), hashlib.sha256(body).hexdigest())
    )
    change[f"{root}/manifest-sha256.txt"] = manifest.encode()
    tags = (
        files[f"{root}/tagmanifest-sha256.txt"]
        .decode()
        .replace(
            hashlib.sha256(files[f"{root}/manifest-sha256.txt"]).hexdigest(),
            hashlib.sha256(manifest.encode()).hexdigest(),
        )
    )
    change[f"{root}/tagmanifest-sha256.txt"] = tags.encode()
    forged = rewrite(bundle["zip"], tmp_path / "forged.zip", change)
    result = govkit("verify-bundle", str(forged))
    assert result.exit_code == 1 and "tagmanifest-sha256.txt.sig: signature does not verify" in result.stderr


@pytest.mark.parametrize(
    ("member", "message"),
    [
        ("../evil", "unsafe path"),
        ("/tmp/evil-absolute", "unsafe path"),
        ("bag/../../evil", "unsafe path"),
        ("bag\\..\\evil", "unsafe path"),
    ],
)
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
        info.external_attr = 0o120777 << 16
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


REPO = Path(__file__).resolve().parents[1]


def published_hashes() -> dict[str, str]:
    """The `sha256sum` lines for the stand-alone verifier in docs/evidence-bundle.md."""
    docs = (REPO / "docs" / "evidence-bundle.md").read_text()
    return {name: digest for digest, name in re.findall(r"^\s*([0-9a-f]{64})  (\S+\.py)$", docs, re.MULTILINE)}


def test_docs_publish_the_verifier_hashes(bundle: dict[str, Any]) -> None:
    from govkit.audit import chain
    from govkit.evidence import verify

    real = {
        "verify.py": hashlib.sha256(Path(verify.__file__).read_bytes()).hexdigest(),
        "chain.py": hashlib.sha256(Path(chain.__file__).read_bytes()).hexdigest(),
    }
    assert published_hashes() == real, "update the SHA-256 values in docs/evidence-bundle.md"
    files, root = members(bundle["zip"]), bag_root(bundle["zip"])
    assert {n: hashlib.sha256(files[f"{root}/{n}"]).hexdigest() for n in real} == real


def test_readme_sends_the_auditor_to_an_independent_verifier(bundle: dict[str, Any]) -> None:
    readme = members(bundle["zip"])[f"{bag_root(bundle['zip'])}/README.txt"].decode()
    assert "govkit verify-bundle" in readme and "docs/evidence-bundle.md" in readme
    assert "Do not trust the verify.py inside this folder" in readme
    assert not re.search(r"python3 verify\.py", readme)  # never the bundled copy


def test_lying_verify_py_is_rejected_and_never_run(bundle: dict[str, Any], tmp_path: Path) -> None:
    files, root = members(bundle["zip"]), bag_root(bundle["zip"])
    marker = tmp_path / "bundled-code-ran"
    lying = (f"from pathlib import Path\nPath({str(marker)!r}).write_text('ran')\nprint('bundle verified')\n").encode()
    naive = rewrite(bundle["zip"], tmp_path / "naive.zip", {f"{root}/verify.py": lying})
    result = govkit("verify-bundle", str(naive))
    assert result.exit_code == 1 and "verify.py: SHA-256 does not match tagmanifest-sha256.txt" in result.stderr
    tags = (
        files[f"{root}/tagmanifest-sha256.txt"]
        .decode()
        .replace(hashlib.sha256(files[f"{root}/verify.py"]).hexdigest(), hashlib.sha256(lying).hexdigest())
    )
    forged = rewrite(
        bundle["zip"],
        tmp_path / "forged.zip",
        {f"{root}/verify.py": lying, f"{root}/tagmanifest-sha256.txt": tags.encode()},
    )
    result = govkit("verify-bundle", str(forged))
    assert result.exit_code == 1 and "tagmanifest-sha256.txt.sig: signature does not verify" in result.stderr
    with zipfile.ZipFile(forged) as z:
        z.extractall(tmp_path / "x")
    folder = tmp_path / "x" / root
    assert govkit("verify-bundle", str(folder)).exit_code == 1
    assert not marker.exists()  # govkit never imports or runs code from the bundle
    lie = subprocess.run([sys.executable, "verify.py"], cwd=folder, capture_output=True, text=True)
    assert "bundle verified" in lie.stdout and marker.exists()  # why the README says not to use it


def test_verify_py_without_argument_checks_its_own_folder(bundle: dict[str, Any], tmp_path: Path) -> None:
    with zipfile.ZipFile(bundle["zip"]) as z:
        z.extractall(tmp_path)
    folder = tmp_path / bag_root(bundle["zip"])
    blocker = (
        "import sys, runpy; sys.modules['govkit'] = None; sys.argv = [sys.argv[1]]; "
        "runpy.run_path(sys.argv[0], run_name='__main__')"
    )
    run = subprocess.run(
        [sys.executable, "-c", blocker, str(folder / "verify.py")], cwd=tmp_path, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    assert "bundle verified" in run.stdout and "came with the bundle it checked" in run.stdout
    (folder / "data" / "export.json").write_bytes(b"{}")
    run = subprocess.run(
        [sys.executable, "-c", blocker, str(folder / "verify.py")], cwd=tmp_path, capture_output=True, text=True
    )
    assert run.returncode == 1 and run.stderr.startswith("FAILED: data/export.json")


def reseal(zip_path: Path, out: Path, files: dict[str, bytes], key: Any) -> Path:
    """What a writer holding the current log key makes of changed log files: a fresh signed
    checkpoint over the leaves, fresh manifests, a fresh tag-manifest signature."""
    from govkit.audit.chain import Checkpoint, merkle_root, note_key_id

    leaves = files["data/log/leaves.txt"].decode().split()
    checkpoint = Checkpoint.parse(files["data/log/checkpoint.txt"].decode())
    checkpoint = dataclasses.replace(
        checkpoint, root=merkle_root([bytes.fromhex(x) for x in leaves]).hex(), head=leaves[-1]
    )
    signature = note_key_id(checkpoint.origin, key.public_raw) + key.sign(checkpoint.body())
    checkpoint = dataclasses.replace(checkpoint, signature=base64.b64encode(signature).decode())
    files.update(
        {
            "data/log/checkpoint.txt": checkpoint.note().encode(),
            "data/log/checkpoint.body": checkpoint.body(),
            "data/log/checkpoint.sig": checkpoint.raw_signature(),
        }
    )

    def manifest(names: list[str]) -> bytes:
        return "".join(f"{hashlib.sha256(files[n]).hexdigest()}  {n}\n" for n in sorted(names)).encode()

    files["manifest-sha256.txt"] = manifest([n for n in files if n.startswith("data/")])
    files["tagmanifest-sha256.txt"] = manifest(
        [n for n in files if not n.startswith("data/") and not n.startswith("tagmanifest-sha256.txt")]
    )
    files["tagmanifest-sha256.txt.sig"] = key.sign(files["tagmanifest-sha256.txt"])
    root = bag_root(zip_path)
    with zipfile.ZipFile(out, "w") as z:
        for rel in sorted(files):
            z.writestr(f"{root}/{rel}", files[rel])
    return out


def test_entry_signed_with_a_retired_key_fails(tmp_path: Path) -> None:
    from govkit.audit.chain import entry_hash
    from govkit.audit.keys import create_key
    from govkit.evidence.export import Scope, export_bundle

    with AuditLog(tmp_path / "rot.db", key_path=tmp_path / "old.pem") as log:
        old = log.signing_key()
        log.append("evaluation.note", "m@1", {"n": 1})
        rotation = log.rotate_key(create_key(tmp_path / "new.pem"))
        log.append("evaluation.note", "m@1", {"n": 2})
        new = log.signing_key()
        result = export_bundle(log, Scope(), tmp_path / "rot.zip", [])
    assert govkit("verify-bundle", str(result.path)).exit_code == 0  # a proper rotation verifies
    root = bag_root(result.path)
    files = {n.split("/", 1)[1]: data for n, data in members(result.path).items()}
    lines = files["data/log/entries.jsonl"].decode().splitlines()
    last = json.loads(lines[-1])
    assert last["key_id"] == new.key_id and last["seq"] > rotation.seq
    last["key_id"] = old.key_id
    last["entry_hash"] = entry_hash(last)
    last["signature"] = old.sign(bytes.fromhex(last["entry_hash"])).hex()
    files["data/log/entries.jsonl"] = ("\n".join([*lines[:-1], json.dumps(last, sort_keys=True)]) + "\n").encode()
    leaves = files["data/log/leaves.txt"].decode().split()
    files["data/log/leaves.txt"] = ("\n".join([*leaves[:-1], last["entry_hash"]]) + "\n").encode()
    forged = reseal(result.path, tmp_path / "retired.zip", files, new)
    assert bag_root(forged) == root
    verdict = govkit("verify-bundle", str(forged))
    assert verdict.exit_code == 1
    assert (
        f"entry {last['seq']}: signed by key {old.key_id} after it was rotated out at entry {rotation.seq}"
        in verdict.stderr
    )


def test_bundle_of_a_log_whose_identity_was_edited_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """meta.log_id edited in the database: export refuses the log (exit 1, like `govkit log verify`); a
    bundle whose export.json names another log than its entries bind fails verify-bundle even resealed."""
    import sqlite3

    from govkit.audit.keys import load_key
    from govkit.evidence.export import Scope, export_bundle

    with AuditLog(tmp_path / "id.db", key_path=tmp_path / "k.pem") as log:
        log.append("evaluation.note", "m@1", {"n": 1})
        result = export_bundle(log, Scope(), tmp_path / "id.zip", [])
    with sqlite3.connect(tmp_path / "id.db") as conn:
        conn.execute("UPDATE meta SET value = 'ffffffffffffffff' WHERE key = 'log_id'")
    monkeypatch.setitem(ENV, "GOVKIT_KEY", str(tmp_path / "k.pem"))
    refused = govkit(
        "export", "--out", str(tmp_path / "edited.zip"), "--db", str(tmp_path / "id.db"), "--include", str(tmp_path)
    )
    assert refused.exit_code == 1 and not (tmp_path / "edited.zip").exists()
    assert "'ffffffffffffffff'" in refused.stderr and "log identity edited" in refused.stderr
    files = {n.split("/", 1)[1]: data for n, data in members(result.path).items()}
    export = json.loads(files["data/export.json"])
    files["data/export.json"] = json.dumps({**export, "log_id": "ffffffffffffffff"}).encode()
    forged = reseal(result.path, tmp_path / "forged.zip", files, load_key(tmp_path / "k.pem"))
    verdict = govkit("verify-bundle", str(forged))
    assert verdict.exit_code == 1
    assert "ffffffffffffffff" in verdict.stderr


def test_export_finds_reports_where_the_log_says_they_were_written_inside_an_include_folder(
    bundle: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`govkit report --out` anywhere: an export whose --include folder holds that place finds the PDFs;
    one whose --include folders do not hold it lists them as missing rather than read outside them."""
    import sqlite3

    copy = tmp_path / "copy.db"  # a copy, so this export's own log entry does not touch the shared log
    with sqlite3.connect(ENV["GOVKIT_DB"]) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
    monkeypatch.chdir(tmp_path)  # no reports/ here: the default --include finds nothing
    on_disk = {hashlib.sha256(p.read_bytes()).hexdigest() for p in (bundle["home"] / "reports").glob("*.pdf")}
    assert len(on_disk) == 2
    for include, found in ((["--include", str(bundle["home"])], on_disk), ([], set())):
        out = tmp_path / "again.zip"
        exported = govkit("export", "--model", "credit-scorer", "--out", str(out), "--db", str(copy), *include)
        assert exported.exit_code == 0, exported.output
        export = json.loads(members(out)[f"{bag_root(out)}/data/export.json"])
        reports = {f["sha256"] for f in export["files"] if f["kind"] == "report"}
        missing = {m["sha256"] for m in export["missing"] if m["what"].startswith("report")}
        assert reports == found and missing == on_disk - found
        assert ("note: report" in exported.stderr) == bool(missing)


def copy_log(tmp_path: Path) -> Path:
    """A copy of the shared log, so a test's edits and its export's own entry stay out of it."""
    import sqlite3

    copy = tmp_path / "copy.db"
    with sqlite3.connect(ENV["GOVKIT_DB"]) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
    return copy


def report_entry(db: Path) -> int:
    with AuditLog(db, create=False) as log:
        return log.entries(action="report.rendered")[0].seq


def test_export_refuses_a_log_that_does_not_verify(bundle: dict[str, Any], tmp_path: Path) -> None:
    """A report.rendered payload edited in the database (digest and hash recomputed, no key) to name a
    file outside every --include folder: export neither packages nor signs it; nothing is read or written."""
    import sqlite3

    from govkit.audit.chain import entry_hash

    db = copy_log(tmp_path)
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("the database password\n")
    seq = report_entry(db)
    with AuditLog(db, create=False) as log:
        found = log.store.read(seq)
        assert found is not None and found[1] is not None
        entry, body = found
        assert any(cp.size >= seq for cp in log.stored_checkpoints()[0])  # the edit hides below a checkpoint
    payload = json.loads(body)
    payload.update(path=str(secret), sha256=hashlib.sha256(secret.read_bytes()).hexdigest())
    body = json.dumps(payload).encode()
    edited = dataclasses.replace(entry, payload_digest=hashlib.sha256(body).hexdigest())
    with sqlite3.connect(db) as conn:
        for trigger in ("payloads_no_update", "entries_no_update"):
            conn.execute(f"DROP TRIGGER {trigger}")
        conn.execute("UPDATE payloads SET body = ? WHERE seq = ?", (body, seq))
        conn.execute(
            "UPDATE entries SET payload_digest = ?, entry_hash = ? WHERE seq = ?",
            (edited.payload_digest, entry_hash(edited.header()), seq),
        )
    with AuditLog(db, create=False) as log:
        size = log.store.size()
    out = tmp_path / "forged.zip"
    reports = bundle["home"] / "reports"
    result = govkit("export", "--model", "credit-scorer", "--out", str(out), "--include", str(reports), "--db", str(db))
    assert result.exit_code == 1, result.output
    assert not out.exists()
    message = result.stderr.strip().splitlines()
    assert len(message) == 1 and f"entry {seq}" in message[0] and "does not verify" in message[0]
    assert f"govkit log verify --db {db}" in message[0]
    with AuditLog(db, create=False) as log:  # no evidence.exported entry
        assert log.store.size() == size


def test_export_reads_a_logged_path_only_inside_the_include_folders(
    bundle: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Properly signed report.rendered entries whose paths lie outside every --include folder (one
    directly, one through a symlinked folder inside one): the files are never opened, and are listed
    as missing."""
    db = copy_log(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    include = tmp_path / "include"
    include.mkdir()
    (include / "sub").symlink_to(outside)
    logged = {"secret.pdf": outside / "secret.pdf", "secret-2.pdf": include / "sub" / "secret-2.pdf"}
    digests = {}
    with AuditLog(db, create=False, key_path=Path(ENV["GOVKIT_KEY"])) as log:
        for name, path in logged.items():
            (outside / name).write_bytes(b"%PDF-1.7 not for the auditor: " + name.encode())
            digests[name] = hashlib.sha256((outside / name).read_bytes()).hexdigest()
            payload = {"sha256": digests[name], "file": name, "path": str(path)}
            log.append("report.rendered", "credit-scorer@1.0.0", payload)
    opened: list[str] = []

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event == "open" and isinstance(args[0], str | Path) and Path(args[0]).name.startswith("secret"):
            opened.append(str(args[0]))

    sys.addaudithook(hook)  # stays installed for the session: it only records into `opened`
    out = tmp_path / "b.zip"
    result = govkit("export", "--model", "credit-scorer", "--out", str(out), "--include", str(include), "--db", str(db))
    found = list(opened)
    opened.clear()
    assert result.exit_code == 0, result.output
    assert found == []
    files = members(out)
    assert not any(data.startswith(b"%PDF-1.7 not for the auditor") for data in files.values())
    export = json.loads(files[f"{bag_root(out)}/data/export.json"])
    assert set(digests.values()) <= {m["sha256"] for m in export["missing"]}
    for digest in digests.values():
        assert f"(sha256 {digest[:16]}...) not found" in result.stderr
