"""`govkit inventory due`: a horizon past the last representable date is the last date, not a crash."""

from __future__ import annotations

import json
from datetime import date, timedelta

from click.testing import CliRunner

import evaluations
from govkit.audit.log import AuditLog
from govkit.audit.records import record_evaluation
from govkit.cli import cli
from govkit.inventory.fold import due_items
from govkit.inventory.interface import build_inventory


def test_a_horizon_beyond_date_max_is_capped() -> None:
    with AuditLog() as log:
        record_evaluation(log, evaluations.sample_evaluation())
        inventory = build_inventory(log, today=date.max)
    expires = [w.expires for w in evaluations.WAIVERS if w.status == "used"]
    items = due_items(inventory, timedelta(weeks=99999), date.max)
    assert sorted(i.due.isoformat() for i in items if i.kind == "waiver" and i.due) == sorted(expires)
    assert all(i.overdue for i in items if i.kind == "waiver")
    result = CliRunner(env={"NO_COLOR": "1", "CI": ""}).invoke(
        cli, ["inventory", "due", "--as-of", "9999-12-31", "--within", "99999w", "--format", "json"]
    )
    assert result.exit_code == 1, result.output  # the waivers are overdue by then
    assert sorted(i["due"] for i in json.loads(result.stdout) if i["kind"] == "waiver") == sorted(expires)
