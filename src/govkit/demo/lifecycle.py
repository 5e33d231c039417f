"""The demo's lifecycle: review, sign-off and the deploy guardrail, for 2.1.0 and then its remediation.

Three people act, so the four-eyes rule holds: the model owner asks for the review, the risk
officer signs the lending report and records the decision, the release manager deploys.
2.1.0 fails the lending policy (its training data may not be used commercially, and more), so its
deploy is refused even with an approval with conditions: an approval does not replace a passing
evaluation. 2.2.0, remediated in its data and model, passes; the officer approves it and the
release manager deploys it through the same guardrails.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from govkit.engine import Progress

if TYPE_CHECKING:
    from govkit.report.signoff import Decision

MODEL, VERSION = "credit-scorer", "2.1.0"
REMEDIATED = "2.2.0"
OWNER = "dana@example.org (model owner)"
OFFICER = "Carol Officer <carol@example.org>"
RELEASE = "erin@example.org (release manager)"
CONDITIONS = "deploy only once the training data licence (GK-LIC-002) is cleared"


class Actors:
    """The demo's people: each moves a version or signs a report with their own audit-log actor."""

    def __init__(
        self, folder: Path, db: str, key: Path, policies: Path, *, echo: Callable[..., None], progress: Progress
    ) -> None:
        from govkit.inventory.config import rules_source

        self.folder, self.db, self.key, self.policies = folder, db, key, policies
        self.echo, self.progress = echo, progress
        self.rules = rules_source(policies)

    def move(self, actor: str, version: str, state: str, reason: str) -> None:
        from govkit.audit.log import AuditLog
        from govkit.inventory.lifecycle import set_state

        self.echo(f"── govkit lifecycle set {MODEL} {version} {state}   ({actor})")
        with AuditLog(self.db, key_path=self.key, actor=actor) as log:
            change = set_state(log, model=MODEL, version=version, state=state, reason=reason, rules=self.rules)
        self.echo(f"{change.previous} -> {change.state}; checked: {', '.join(change.checked) or 'nothing'}\n")

    def deploy(self, version: str, reason: str) -> bool:
        """The release manager's promotion gate: True when deployed, False when a guardrail refused."""
        from govkit.formats.common import printable
        from govkit.inventory.lifecycle import TransitionRefused

        try:
            self.move(RELEASE, version, "deployed", reason)
        except TransitionRefused as refused:
            self.echo(f"{printable(refused)}  (exit 1: nothing logged)\n")
            return False
        return True

    def sign(self, report: Path, decision: Decision, conditions: str = "") -> Path:
        """The risk officer signs `report` (a PAdES signature with her demo certificate) with `decision`."""
        from govkit.audit.log import AuditLog
        from govkit.report.signoff import make_signer_certificate
        from govkit.report.workflow import SignoffRequest, sign_off

        signers = self.folder / ".govkit" / "signers"
        cert_key, cert = signers / "carol-officer.key.pem", signers / "carol-officer.cert.pem"
        if not cert.exists():
            make_signer_certificate("Carol Officer", "carol@example.org", signers)
        with self.progress("the risk officer's sign-off"), AuditLog(self.db, key_path=self.key, actor=OFFICER) as log:
            request = SignoffRequest(OFFICER, "Chief Risk Officer", decision, conditions, cert_key, cert)
            signed, _, _ = sign_off(log, report, request, None)
        self.echo(f"── govkit signoff {report.name} --decision {decision}   ({OFFICER})")
        self.echo(f"signed report: {signed}\n")
        return signed


def run_lifecycle(people: Actors, report: Path) -> None:
    """2.1.0: review requested, approved with conditions, deploy refused (it fails the lending policy)."""
    people.move(OWNER, VERSION, "in-review", "release 2.1.0 for consumer lending")
    people.sign(report, "approve-with-conditions", CONDITIONS)
    people.move(OFFICER, VERSION, "approved-with-conditions", CONDITIONS)
    people.deploy(VERSION, "CHG-2041")


def run_sequel(people: Actors, report: Path) -> bool:
    """2.2.0 (its evaluation recorded, `report` rendered from it): review, approve, deploy.

    2.1.0 stays approved-with-conditions: its conditions are never met, so the guardrail keeps refusing
    it, and the demo can run again on the same log (a retired version never comes back to review).
    Returns whether 2.2.0 was deployed (the guardrails decide, as for 2.1.0)."""
    people.move(OWNER, REMEDIATED, "in-review", "2.2.0 remediates what blocked 2.1.0 (licence, personal data, age gap)")
    people.sign(report, "approve")
    people.move(OFFICER, REMEDIATED, "approved", "passes the lending policy; the fairness trade-off is accepted")
    return people.deploy(REMEDIATED, "CHG-2057")


def show_inventory(people: Actors, *, color: bool) -> None:
    from shlex import quote

    from govkit.audit.keys import public_path
    from govkit.audit.log import AuditLog
    from govkit.inventory.interface import build_inventory
    from govkit.inventory.render import render_inventory

    with AuditLog(people.db, key_path=people.key) as log:
        inventory = build_inventory(log, rules=people.rules)
    people.echo(f"── govkit inventory --policy {people.policies}")
    people.echo(render_inventory(inventory, "table", color=color), nl=False)
    # what a fresh shell needs (no GOVKIT_KEY there): the demo log's published key and its folders
    key, policies = quote(str(public_path(people.key))), quote(str(people.policies))
    where = f"--db {quote(people.db)} --trusted-key {key} --policy {policies}"
    people.echo(f"web view: govkit serve {where} --files {quote(str(people.folder / 'reports'))}")
    people.echo(f"due items: govkit inventory due {where}\n")
