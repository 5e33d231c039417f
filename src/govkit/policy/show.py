"""`govkit policy show`: a team's effective rules and the file each value came from."""

from __future__ import annotations

import io
import json

from govkit.policy.loader import ResolvedPolicy


def render_json(policy: ResolvedPolicy) -> str:
    doc = {
        **policy.identity(),
        "digest": policy.digest,
        "rules": [r.to_dict(with_provenance=True) for r in policy.rules],
    }
    return json.dumps(doc, indent=2)


def render_text(policy: ResolvedPolicy, *, color: bool = False) -> str:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    out = io.StringIO()
    console = Console(file=out, force_terminal=color, no_color=not color, width=140, highlight=False)
    # every name and justification is user text: escaped so it prints literally, never as markup
    console.print(
        f"[bold]policy {escape(policy.name)} {escape(policy.version)}[/bold]  team {escape(policy.team or '-')}"
    )
    console.print(escape("layers (base first): " + " -> ".join(policy.layers)))
    console.print(f"digest: {policy.digest}")
    if policy.waiver_max_days is not None:
        console.print(f"waivers: at most {policy.waiver_max_days} days")
    table = Table(expand=True)
    table.add_column("rule", no_wrap=True)
    table.add_column("check", no_wrap=True)
    table.add_column("state", no_wrap=True)
    table.add_column("value  <-  from", ratio=1, overflow="fold")
    for rule in policy.rules:
        state = "disabled" if not rule.enabled else ("locked" if rule.locked else "enabled")
        if rule.allow_relax:
            state += ", relaxable"
        lines = [f"severity: {rule.severity}  <-  {rule.provenance.get('severity', rule.defined_in)}"]
        for name, value in rule.params.items():
            if value in (None, [], ()):
                continue
            lines.append(f"{name}: {json.dumps(value)}  <-  {rule.provenance.get(f'params.{name}', 'default')}")
        scope = rule.applies_to.model_dump(exclude_defaults=True)
        if scope:
            lines.append(f"applies_to: {json.dumps(scope)}  <-  {rule.provenance.get('applies_to')}")
        if rule.controls:
            lines.append(f"controls: {', '.join(rule.controls)}  <-  {rule.provenance.get('controls')}")
        if not rule.enabled:
            lines.append(f"disabled  <-  {rule.disabled_by}: {rule.justification}")
        table.add_row(escape(rule.id), escape(rule.check), state, escape("\n".join(lines)))
    console.print(table)
    return out.getvalue()
