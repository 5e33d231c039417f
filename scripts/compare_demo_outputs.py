#!/usr/bin/env python3
"""Run the demo with two govkit source trees and show whether their outputs are byte-identical.

A refactoring must not change what govkit writes: the evaluation JSON (hence its digest, which
the audit log and evidence bundles refer to), the SARIF/JUnit/Markdown outputs and the report
text. This script runs, for each tree, with the same pinned clock:

1. ``govkit demo --dir <out>/<label>`` (data, model, both teams, monitoring, two PDF reports);
2. ``govkit check`` for each demo team with ``--format json/sarif/junit/markdown --no-log``;
3. ``govkit monitor`` with ``--format json --no-log``;
4. ``govkit export`` of the demo's audit log, to get ``data/evaluations/*.json``.

Then it compares every generated file byte for byte, except the audit log and its key (random by
design), the bundle zip (it holds them) and the model file (skops names its members by object
id, so two trainings of the same model differ in bytes). ``check`` and ``monitor`` therefore run
on one demo folder, the first run's, and compare byte for byte; the evaluations each demo run
recorded are compared with the model's SHA-256 masked, and the PDFs by the words of their
extracted text (``pdftotext``), sorted, with hex strings and audit-log times masked (the log's
clock is not pinned, and hex fragments of wrapped digests differ with the model).
Two clocks are pinned in the govkit process:
``datetime`` in ``govkit.engine`` (``created_at`` is part of every evaluation digest) and the
stopwatch of SHAP's time budget (the evaluation records how long SHAP took).

Example::

    scripts/compare_demo_outputs.py --before main --after . --out /tmp/compare
    scripts/compare_demo_outputs.py --before /tmp/old-checkout --after . --out /tmp/compare

``--before``/``--after`` take a checkout or a git ref (exported with ``git archive``); each
is placed at the same path in turn, so absolute paths recorded in the outputs match.
Exit 0 when everything matches, 1 when something differs.
"""

# ruff: noqa: S603, S607  (a developer script: it runs git, tar, pdftotext and govkit itself)
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TEAMS = ("lending", "research")
CHECK_FORMATS = ("json", "sarif", "junit", "markdown")

# Runs govkit's CLI with `datetime.now` in govkit.engine pinned to argv[1] (an ISO instant).
PINNED = """
import sys
from datetime import datetime

FIXED = datetime.fromisoformat(sys.argv[1])


class Pinned(datetime):
    @classmethod
    def now(cls, tz=None):
        return FIXED.astimezone(tz) if tz else FIXED.replace(tzinfo=None)


class Stopwatch:  # SHAP's time budget: every reading 0.25 s after the last, so timings are the same in both runs
    now = 0.0

    @classmethod
    def perf_counter(cls):
        cls.now += 0.25
        return cls.now


import govkit.checks.explainability.explain
import govkit.engine

govkit.engine.datetime = Pinned
govkit.checks.explainability.explain.time = Stopwatch
from govkit.cli import main

sys.argv = ["govkit", *sys.argv[2:]]
main()
"""


COPIED = ("src", "policies", "controls", "examples")


def place_tree(spec: str, target: Path) -> Path:
    """Put the govkit tree `spec` (a checkout or a git ref) at `target`; return its `src`.

    Both runs use the same `target`, so absolute paths the outputs record (the policy folder)
    are the same too.
    """
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    path = Path(spec)
    if (path / "src" / "govkit").is_dir():
        skip = shutil.ignore_patterns("__pycache__", "*.egg-info", "data", "reports", "govkit.db", ".govkit", "*.pkl")
        for name in COPIED:
            shutil.copytree(path / name, target / name, ignore=skip)
    else:
        archive = subprocess.run(["git", "-C", str(REPO), "archive", spec, *COPIED], check=True, capture_output=True)
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return target / "src"


def govkit(src: Path, instant: str, *args: str, cwd: Path, key: Path | None = None) -> None:
    env = {**os.environ, "PYTHONPATH": str(src), "GOVKIT_ACTOR": "compare@demo", "NO_COLOR": "1"}
    env.pop("GOVKIT_DB", None)
    env.pop("GOVKIT_KEY", None)
    if key:
        env["GOVKIT_KEY"] = str(key)
    done = subprocess.run(
        [sys.executable, "-c", PINNED, instant, *args], cwd=cwd, env=env, capture_output=True, text=True
    )
    if done.returncode not in (0, 1):  # 1 = a blocking finding, which the demo has on purpose
        raise SystemExit(f"govkit {' '.join(args)} (PYTHONPATH={src}) exited {done.returncode}:\n{done.stderr}")


def run_tree(src: Path, folder: Path, instant: str, shared: Path) -> None:
    """The demo with this tree; then `check` and `monitor` with this tree on `shared`, one demo
    folder for both runs (the first run's): the demo's model file is not byte-reproducible
    (skops names its members by object id), and every evaluation records the model's SHA-256."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    govkit(src, instant, "demo", "--dir", str(folder / "demo"), cwd=folder)
    if not shared.exists():
        shutil.copytree(folder / "demo", shared, ignore=shutil.ignore_patterns("reports"))  # its log: the profile
    demo_run, demo = folder / "demo", shared
    policies = src.parent / "policies"
    outputs = folder / "outputs"
    outputs.mkdir()
    for team in TEAMS:
        pairs = [a for fmt in CHECK_FORMATS for a in ("--format", fmt, "-o", str(outputs / f"check-{team}.{fmt}"))]
        govkit(
            src,
            instant,
            "check",
            "govkit.yaml",
            "--policy",
            str(policies),
            "--team",
            team,
            "--no-log",
            *pairs,
            cwd=demo,
            key=demo / ".govkit" / "log-key.pem",
        )
    govkit(src, instant, "monitor", "govkit.yaml", "--policy", str(policies), "--no-log", "--format", "json",
           "-o", str(outputs / "monitor.json"), cwd=demo, key=demo / ".govkit" / "log-key.pem")  # fmt: skip
    bundle = folder / "bundle.zip"
    govkit(
        src,
        instant,
        "export",
        "--db",
        str(demo_run / "govkit.db"),
        "--out",
        str(bundle),
        cwd=demo_run,
        key=demo_run / ".govkit" / "log-key.pem",
    )
    with zipfile.ZipFile(bundle) as zf:
        for name in zf.namelist():
            if "/data/evaluations/" in name and name.endswith(".json"):
                (outputs / "evaluations").mkdir(exist_ok=True)
                (outputs / "evaluations" / Path(name).name).write_bytes(zf.read(name))


# the audit log and its key are random by design; skops names model members by object id
SKIPPED = ("govkit.db", ".govkit/", "bundle.zip", "demo/model.skops", "demo/model-2.2.0.skops")


def fingerprints(folder: Path) -> dict[str, str]:
    """Relative path -> SHA-256 of its bytes (PDFs: of their extracted text)."""
    result: dict[str, str] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if any(rel == s or rel.startswith(s) or f"/{s}" in f"/{rel}" for s in SKIPPED):
            continue
        if path.suffix == ".pdf":
            text = subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True).stdout
            # this run's digests and log times (the audit log's clock is not pinned); words in reading order
            masked = re.sub(rb"\d{4}-\d\d-\d\dT[\d:.]+Z|\b[0-9a-f]{2,64}\b", b"<x>", text)
            words = b" ".join(sorted(masked.split()))
            result[rel + " (words, hex and times masked)"] = hashlib.sha256(words).hexdigest()
        elif rel.startswith("outputs/evaluations/"):
            evaluation = json.loads(path.read_bytes())
            files = evaluation["inputs"]["files"]
            if "model_artifact" in files:
                files["model_artifact"]["sha256"] = "<this run's model>"
            model = f"{evaluation['model']['name']} {evaluation['model']['version']}"
            name = f"outputs/evaluations/{model} {evaluation['team']} {evaluation['options'].get('purpose') or 'gate'}"
            while name + " (model hash masked)" in result:
                name += "'"
            result[name + " (model hash masked)"] = hashlib.sha256(
                json.dumps(evaluation, sort_keys=True).encode()
            ).hexdigest()
        else:
            result[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="main", help="checkout or git ref (default: main)")
    parser.add_argument("--after", default=str(REPO), help="checkout or git ref (default: this checkout)")
    parser.add_argument("--out", type=Path, required=True, help="scratch folder (emptied)")
    parser.add_argument(
        "--instant", help="pinned clock, ISO 8601 (default: now); give the earlier one with --reuse-before"
    )
    parser.add_argument("--reuse-before", action="store_true", help="keep the outputs of an earlier --before run")
    args = parser.parse_args()
    instant = args.instant or datetime.now(UTC).replace(microsecond=0).isoformat()
    print(f"clock pinned at {instant}", flush=True)
    prints = {}
    for label, spec in (("before", args.before), ("after", args.after)):
        if label == "before" and args.reuse_before and (args.out / label / "work").is_dir():
            prints[label] = fingerprints(args.out / label / "work")
            continue
        if label == "before":
            shutil.rmtree(args.out / "shared-demo", ignore_errors=True)
        run = args.out / "run"
        src = place_tree(spec, run / "tree")
        print(f"running the demo with {spec} ...", flush=True)
        run_tree(src, run / "work", instant, args.out / "shared-demo")
        shutil.rmtree(args.out / label, ignore_errors=True)
        run.rename(args.out / label)
        prints[label] = fingerprints(args.out / label / "work")
    before, after = prints["before"], prints["after"]
    differ = sorted(k for k in before.keys() & after.keys() if before[k] != after[k])
    only = sorted(before.keys() ^ after.keys())
    for name in sorted(before.keys() | after.keys()):
        state = "missing" if name in only else ("DIFFERS" if name in differ else "identical")
        print(f"{state:9}  {name}")
    evaluations = [k for k in before if k.startswith("outputs/evaluations/")]
    print(f"{len(before) - len(differ) - len(only)} identical, {len(differ)} differ, {len(only)} in one run only; "
          f"{len(evaluations)} evaluation digests compared")  # fmt: skip
    return 1 if differ or only else 0


if __name__ == "__main__":
    sys.exit(main())
