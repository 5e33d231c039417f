"""Each vocabulary is spelled once (govkit.vocab, audit/events.py, formats.interface.FORMATS,
evaluation.AREA_TITLES); everything else imports it. These tests find a second spelling."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

import govkit
from govkit.audit import events
from govkit.checks.registry import available_checks
from govkit.cli import cli
from govkit.cli.base import FORMAT_CHOICE, SEVERITY_CHOICE
from govkit.evaluation import AREA_TITLES
from govkit.formats.interface import FORMATS
from govkit.vocab import SEVERITIES, STATUSES, Severity, Status

SRC = Path(govkit.__file__).parent
ACTIONS = [getattr(events, n) for n in events.__all__ if n.isupper() and isinstance(getattr(events, n), str)]
# literal on purpose: SQL trigger text, and the bundle's verifier, which runs without govkit
LITERAL_ALLOWED = {"audit/events.py", "audit/chain.py", "audit/sqlite.py", "audit/postgres.py", "evidence/verify.py"}
# webhook event names are a vocabulary of their own (`Event` in inventory/sections.py, a Literal, so spelled
# there and where a notification is built); "signoff.recorded" happens to equal the audit action's name
LITERAL_ALLOWED |= {"inventory/sections.py", "inventory/notify.py"}


def test_cli_choices_come_from_the_registries() -> None:
    assert list(FORMAT_CHOICE.choices) == list(FORMATS)
    assert tuple(SEVERITY_CHOICE.choices) == SEVERITIES
    help_text = next(p.help for p in cli.commands["check"].params if p.name == "formats") or ""
    assert all(name in help_text for name in FORMATS)


def test_literal_types_match_their_tuples() -> None:
    assert get_args(Severity) == SEVERITIES
    assert sorted(get_args(Status)) == sorted(STATUSES)


def test_builtin_check_titles_are_the_area_titles() -> None:
    for name, check in available_checks().items():
        if name in AREA_TITLES:
            assert check.title == AREA_TITLES[name], name


def test_no_module_spells_an_audit_action_itself() -> None:
    assert len(ACTIONS) >= 9
    pattern = re.compile("|".join(re.escape(f'"{a}"') for a in ACTIONS))
    spelled = [
        f"{path.relative_to(SRC)}:{n}"
        for path in sorted(SRC.rglob("*.py"))
        if path.relative_to(SRC).as_posix() not in LITERAL_ALLOWED
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert spelled == [], "import the name from govkit.audit.events"


def test_the_deliberate_literal_copies_match_the_events_module() -> None:
    for store in ("audit/sqlite.py", "audit/postgres.py"):
        assert f"action = '{events.LOG_REDACTED}'" in (SRC / store).read_text()  # the no-delete trigger
    assert f'"{events.LOG_REDACTED}"' in (SRC / "evidence" / "verify.py").read_text()
    assert events.REDACTED_SUBJECT.fullmatch(events.seq_subject(12))


def test_builtin_checks_equal_the_published_entry_points() -> None:
    """`registry.BUILTIN` lets govkit run from a source tree; the wheel publishes the same checks."""
    import tomllib

    from govkit.checks.registry import BUILTIN

    pyproject = tomllib.loads((SRC.parents[1] / "pyproject.toml").read_text())
    assert pyproject["project"]["entry-points"]["govkit.checks"] == BUILTIN
