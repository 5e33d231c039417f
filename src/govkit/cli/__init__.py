"""govkit command line: parse arguments, call the library, format, choose the exit code.

One module per command group (check, policy, log, keys, report, evidence, monitor, controls, demo,
intake, inventory, serve, review);
`base` holds what they share. A new group is one module plus one line in `COMMANDS` below. Heavy
modules (pandas, sklearn, shap, weasyprint) are imported inside commands only, so `govkit --help`
stays fast.
"""

from __future__ import annotations

import sys
from importlib import import_module
from typing import Any

import click

from govkit import __version__
from govkit.cli.base import EXTRA_OF_MODULE, GovkitGroup
from govkit.errors import EXIT_INPUT_ERROR

__all__ = ["EXTRA_OF_MODULE", "cli", "main"]

# every top-level command: "module:attribute" under govkit.cli, in the order --help lists them
COMMANDS = (
    "check:check",
    "check:baseline",
    "monitor:monitor",
    "monitor:profile",
    "policy:policy",
    "policy:validate",
    "policy:schema",
    "controls:controls_group",
    "report:report",
    "report:signoff",
    "report:verify_pdf_command",
    "review:diff_command",
    "evidence:export",
    "evidence:verify_bundle",
    "log:log_group",
    "keys:keys_group",
    "demo:demo",
    "intake:init",
    "intake:bom",
    "intake:card",
    "inventory:inventory_group",
    "inventory:lifecycle_group",
    "serve:serve_command",
)


def _print_version(ctx: click.Context, _: Any, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from govkit.versions import library_versions

    click.echo(f"govkit {__version__}")
    for name, found in library_versions().items():
        click.echo(f"  {name:<13} {found or 'not installed'}")
    ctx.exit()


@click.group(cls=GovkitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show govkit's version and those of the libraries that decide results, then exit.",
)
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """govkit: check ML models against your organisation's policies.

    \b
    Examples:
      govkit demo                                      build the demo model and check it
      govkit check govkit.yaml --policy policies/      run the policy gate
      govkit policy show --policy policies/ --team lending
      govkit schema manifest > govkit.schema.json

    Exit codes: 0 nothing blocking, 1 blocking findings, 2 bad input, 3 internal error.
    """
    ctx.obj = {"debug": debug}


for _spec in COMMANDS:
    _module, _, _name = _spec.partition(":")
    cli.add_command(getattr(import_module(f"govkit.cli.{_module}"), _name))


def main() -> None:
    try:
        cli.main(prog_name="govkit", standalone_mode=True)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else EXIT_INPUT_ERROR)
        sys.exit(code)


if __name__ == "__main__":
    main()
