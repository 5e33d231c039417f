"""`govkit policy validate|show`, `govkit schema` and `govkit validate`: the files a platform team writes."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from govkit.cli.base import (
    POLICY_OPTION,
    POLICY_SET_OPTION,
    color,
)
from govkit.schemas import KINDS


@click.group()
def policy() -> None:
    """Validate policy folders and show a team's resolved rules."""


@policy.command("validate", epilog="Example:\n\n  govkit policy validate policies/")
@click.argument("path", type=click.Path(path_type=Path), default="policies")
@click.option(
    "--controls",
    "controls_dir",
    type=click.Path(path_type=Path),
    envvar="GOVKIT_CONTROLS",
    help="Folder of extra control catalogues (added to the bundled ones).",
)
def policy_validate(path: Path, controls_dir: Path | None) -> None:
    """Check every policy file and resolve every overlay; exit 2 on the first problem."""
    from govkit.policy.loader import load_library, resolve

    library = load_library(path, controls=controls_dir)
    for name in library.sets:
        resolve(library, policy_set=name)
    for overlay in library.overlays.values():
        resolve(library, policy_set=overlay.spec.name)
    click.echo(f"ok: {len(library.sets)} policy set(s), {len(library.overlays)} overlay(s) in {path}")


@policy.command("show", epilog="Example:\n\n  govkit policy show --policy policies/ --team lending")
@POLICY_OPTION
@click.option("--team", help="Team whose overlay to apply.")
@POLICY_SET_OPTION
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def policy_show(policy_path: Path, team: str | None, policy_set: str | None, fmt: str) -> None:
    """Print the resolved rules and where each value came from."""
    from govkit.policy.loader import load_policy
    from govkit.policy.show import render_json, render_text

    resolved = load_policy(policy_path, team=team, policy_set=policy_set)
    if fmt == "json":
        click.echo(render_json(resolved))
    else:
        click.echo(render_text(resolved, color=color(sys.stdout)), nl=False)


@click.command(
    epilog="""\b
Examples:
  govkit schema manifest > govkit.schema.json
  govkit schema --all --output-dir schemas/"""
)
@click.argument("kind", type=click.Choice(KINDS), required=False)
@click.option("--all", "every", is_flag=True, help="Every kind, one KIND.json file each (needs --output-dir).")
@click.option("--output-dir", type=click.Path(path_type=Path), help="Write KIND.json files here.")
def schema(kind: str | None, every: bool, output_dir: Path | None) -> None:
    """Print or write the JSON Schema of a govkit file kind (for editors and CI)."""
    import json

    from govkit.schemas import json_schema

    if every == (kind is not None):
        raise click.UsageError("give a KIND or --all")
    if every and output_dir is None:
        raise click.UsageError("--all writes one file per kind: give --output-dir")
    for name in KINDS if kind is None else (kind,):
        text = json.dumps(json_schema(name), indent=2) + "\n"
        if output_dir is None:
            click.echo(text, nl=False)
            continue
        output_dir.mkdir(parents=True, exist_ok=True)
        (output_dir / f"{name}.json").write_text(text, encoding="utf-8")
        click.echo(f"{output_dir / name}.json")


@click.command(
    epilog="""\b
Examples:
  govkit validate govkit.yaml examples/credit-scoring/waivers.yaml
  govkit validate policies/org-baseline.yaml"""
)
@click.argument("files", type=click.Path(path_type=Path), nargs=-1, required=True)
def validate(files: tuple[Path, ...]) -> None:
    """Check govkit files against the schema their `kind:` names (no data read); exit 2 on the first problem."""
    from govkit.schemas import validate_file

    for path in files:
        click.echo(f"ok: {path} ({validate_file(path)})")
