"""`govkit demo`: the bundled synthetic credit-scoring model, checked end to end."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from govkit.cli.base import (
    color,
    progress,
)


@click.command(
    epilog="Example:\n\n  govkit demo --dir /tmp/govkit-demo\n\n  govkit demo --db postgresql://govkit@localhost/audit"
)
@click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path),
    help="Where to build the demo (default: examples/credit-scoring in a source checkout).",
)
@click.option("--db", help="Audit log (default: govkit.db in the demo folder; or a postgresql:// URL).")
def demo(directory: Path | None, db: str | None) -> None:
    """Build the synthetic credit-scoring model and check it under two team overlays."""
    from govkit.demo.run import run_demo

    run_demo(directory, echo=click.echo, color=color(sys.stdout), progress=progress, db=db)
