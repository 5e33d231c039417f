"""`govkit demo`: build the demo, then check the same model as two different teams."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from govkit.engine import Progress
from govkit.errors import GovkitError

EXAMPLE = Path("examples") / "credit-scoring"
BANK_TEMPLATE = Path("examples") / "bank-template"
COPIED = (
    "govkit.yaml",
    "waivers.yaml",
    "requirements.txt",
    "instructions-for-use.md",
    "govkit-2.2.0.yaml",  # the remediated release (govkit.demo.remediation)
    "instructions-for-use-2.2.0.md",
)
TEAMS = ("lending", "research")


def asset_root() -> Path:
    """Where the demo's policies and manifest live: the source checkout or the installed wheel."""
    packaged = Path(str(resources.files("govkit"))) / "_demo"
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[3]
    if (checkout / "policies").is_dir() and (checkout / EXAMPLE / "govkit.yaml").is_file():
        return checkout
    raise GovkitError("demo assets not found (reinstall govkit)")


def prepare(directory: Path | None) -> tuple[Path, Path]:
    """Return (manifest, policy folder), copying the example project if building elsewhere.

    The copy includes the policies, so `cd DIR && govkit check govkit.yaml` works as it is (its
    default `--policy policies`). The demo itself judges with the packaged policies, so its
    evaluations (and their digests) do not depend on where it was built.
    """
    root = asset_root()
    source = root / EXAMPLE
    target = directory.resolve() if directory else source
    if target != source:
        target.mkdir(parents=True, exist_ok=True)
        for name in COPIED:
            shutil.copyfile(source / name, target / name)
        shutil.copytree(root / "policies", target / "policies", dirs_exist_ok=True)
    return target / "govkit.yaml", root / "policies"


def demo_log_paths(folder: Path) -> tuple[Path, Path]:
    """The demo keeps its audit log and (unless GOVKIT_KEY says otherwise) its key in its folder."""
    key = Path(os.environ["GOVKIT_KEY"]) if os.environ.get("GOVKIT_KEY") else folder / ".govkit" / "log-key.pem"
    return folder / "govkit.db", key


def run_demo(
    directory: Path | None, *, echo: Callable[..., None], color: bool, progress: Progress, db: str | None = None
) -> None:
    from govkit.api import run_check
    from govkit.audit.log import AuditLog
    from govkit.audit.records import record_evaluation
    from govkit.demo.data import build
    from govkit.formats.interface import get_formatter
    from govkit.report.workflow import render_report

    manifest, policies = prepare(directory)
    with progress("demo data and model"):
        build(manifest.parent)
    echo(f"demo model built in {manifest.parent}\n")
    text = get_formatter("text")
    verdicts = {}
    digests = {}
    evaluations = {}
    local_db, key = demo_log_paths(manifest.parent)
    db = db or str(local_db)
    with AuditLog(db, key_path=key) as log:
        for team in TEAMS:
            evaluation = run_check(manifest, policies, team=team, progress=progress)
            verdicts[team], digests[team], evaluations[team] = evaluation.verdict, evaluation.digest, evaluation
            entry = record_evaluation(log, evaluation)
            echo(f"── govkit check {manifest} --policy {policies} --team {team}")
            echo(text.render(evaluation, color=color), nl=False)
            echo(f"recorded as audit log entry {entry.seq}\n")
        with progress("the compliance report"):
            report, sha = render_report(
                log,
                digest=digests["lending"],
                model=None,
                out=manifest.parent / "reports" / "credit-scorer-lending.pdf",
                paper="a4",
            )
            branded, _ = render_report(  # the same report in an organisation's template (examples/bank-template)
                log,
                digest=digests["lending"],
                model=None,
                out=manifest.parent / "reports" / "credit-scorer-lending-northwind.pdf",
                paper="a4",
                template=asset_root() / BANK_TEMPLATE,
            )
        from govkit.demo.monitoring import run_monitoring

        monitored, monitor_digest = run_monitoring(manifest, policies, log, echo=echo, color=color, progress=progress)
        with progress("the monitoring report"):
            trend, trend_sha = render_report(
                log,
                digest=monitor_digest,
                model=None,
                paper="a4",
                out=manifest.parent / "reports" / "credit-scorer-monitoring.pdf",
            )
        from govkit.demo.regression import run_regression_demo

        regression, _ = run_regression_demo(asset_root(), directory, log, echo=echo, color=color, progress=progress)
        from govkit.demo.lifecycle import Actors, run_lifecycle, run_sequel, show_inventory
        from govkit.demo.remediation import check_remediated

        people = Actors(manifest.parent, db, key, policies, echo=echo, progress=progress)
        run_lifecycle(people, report)
        remediated, remediated_report = check_remediated(
            manifest.parent, policies, log, evaluations["lending"], echo=echo, color=color, progress=progress
        )
        deployed = run_sequel(people, remediated_report)
        show_inventory(people, color=color)
        checkpoint = log.checkpoint()
        result = log.verify()
    summary = ", ".join(f"{team}: {v.upper()}" for team, v in verdicts.items())
    echo(f"same model, two team overlays -> {summary}")
    echo(f"why: govkit policy show --policy {policies} --team <team>")
    echo(f"compliance report (lending): {report}  sha256 {sha[:16]}")
    echo(f"the same report in a bank's own template (--template {BANK_TEMPLATE}): {branded}")
    echo(f"post-market monitoring, 8 months (income shift and a decaying cohort from month 5): {monitored.upper()}")
    echo(f"monitoring report (the trend, failed windows marked): {trend}  sha256 {trend_sha[:16]}")
    echo(f"credit-limit regression (mean error biased against group_d): {regression.upper()}")
    outcome = "deployed" if deployed else "deploy refused"
    echo(f"credit-scorer 2.2.0, remediated in data and model: lending {remediated.verdict.upper()}, {outcome}")
    state = "verified" if result.ok else f"FAILED: {result.first}"
    echo(f"audit log {db}: {result.size} entries {state}; checkpoint root {checkpoint.root[:16]}")
