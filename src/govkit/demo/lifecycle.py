"""The demo's lifecycle: review requested, a risk officer signs off, and the deploy guardrail at work.

Three people act, so the four-eyes rule holds: the model owner asks for the review, the risk
officer signs the lending report and records the decision, the release manager tries to deploy.
The lending policy fails this model (its training data may not be used commercially), so the
deploy guardrail refuses, which is the point: an approval with conditions does not replace a
passing evaluation.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from govkit.engine import Progress

MODEL, VERSION = "credit-scorer", "2.1.0"
OWNER = "dana@example.org (model owner)"
OFFICER = "Carol Officer <carol@example.org>"
RELEASE = "erin@example.org (release manager)"
CONDITIONS = "deploy only once the training data licence (GK-LIC-002) is cleared"


def run_lifecycle(
    folder: Path,
    db: str,
    key: Path,
    report: Path,
    policies: Path,
    *,
    echo: Callable[..., None],
    color: bool,
    progress: Progress,
) -> None:
    from govkit.audit.log import AuditLog
    from govkit.formats.common import printable
    from govkit.inventory.config import rules_source
    from govkit.inventory.interface import build_inventory
    from govkit.inventory.lifecycle import TransitionRefused, set_state
    from govkit.inventory.render import render_inventory
    from govkit.report.signoff import make_signer_certificate
    from govkit.report.workflow import SignoffRequest, sign_off

    rules = rules_source(policies)

    def move(actor: str, state: str, reason: str) -> None:
        with AuditLog(db, key_path=key, actor=actor) as log:
            change = set_state(log, model=MODEL, version=VERSION, state=state, reason=reason, rules=rules)
        echo(f"── govkit lifecycle set {MODEL} {VERSION} {state}   ({actor})")
        echo(f"{change.previous} -> {change.state}; checked: {', '.join(change.checked) or 'nothing'}\n")

    move(OWNER, "in-review", "release 2.1.0 for consumer lending")
    signers = folder / ".govkit" / "signers"
    cert_key, cert = signers / "carol-officer.key.pem", signers / "carol-officer.cert.pem"
    if not cert.exists():
        make_signer_certificate("Carol Officer", "carol@example.org", signers)
    with progress("the risk officer's sign-off"), AuditLog(db, key_path=key, actor=OFFICER) as log:
        request = SignoffRequest(OFFICER, "Chief Risk Officer", "approve-with-conditions", CONDITIONS, cert_key, cert)
        signed, _, _ = sign_off(log, report, request, None)
    echo(f"── govkit signoff {report.name} --decision approve-with-conditions   ({OFFICER})")
    echo(f"signed report: {signed}\n")
    move(OFFICER, "approved-with-conditions", CONDITIONS)
    echo(f"── govkit lifecycle set {MODEL} {VERSION} deployed   ({RELEASE})")
    try:
        with AuditLog(db, key_path=key, actor=RELEASE) as log:
            set_state(log, model=MODEL, version=VERSION, state="deployed", reason="CHG-2041", rules=rules)
        echo("deployed\n")
    except TransitionRefused as refused:
        echo(f"{printable(refused)}  (exit 1: nothing logged)\n")
    with AuditLog(db, key_path=key) as log:
        inventory = build_inventory(log, rules=rules)
    echo(f"── govkit inventory --policy {policies}")
    echo(render_inventory(inventory, "table", color=color), nl=False)
    echo(f"web view: govkit serve --db {db}   (due items: govkit inventory due --db {db})\n")
