"""`govkit serve`: the read-only portfolio web view (docs/web.md)."""

from __future__ import annotations

from pathlib import Path

import click

from govkit.cli.base import POLICY_SET_OPTION


@click.command(
    "serve",
    epilog="""\b
Examples:
  govkit serve --db govkit.db
  govkit serve --db postgresql://viewer@db.internal/audit --trusted-key log-key.pub --files reports/ --files evidence/
  GOVKIT_SERVE_TOKEN=$(openssl rand -hex 32) govkit serve --host 0.0.0.0 --port 8080""",
)
@click.option("--db", envvar="GOVKIT_DB", default="govkit.db", show_default=True, help="Audit log database (or URL).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (off loopback: token).")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True)
@click.option(
    "--key",
    "key_path",
    type=click.Path(path_type=Path),
    envvar="GOVKIT_KEY",
    help="Log key whose .pub anchors verification (default: GOVKIT_KEY or ~/.config/govkit/...).",
)
@click.option(
    "--trusted-key",
    type=click.Path(path_type=Path),
    envvar="GOVKIT_TRUSTED_KEY",
    help="The log's published public key (PEM); a viewer needs no private key.",
)
@click.option(
    "--files",
    "folders",
    type=click.Path(path_type=Path, file_okay=False),
    multiple=True,
    help="Folder searched (by SHA-256) for the reports and bundles the log recorded; default: reports/, evidence/.",
)
@click.option(
    "--policy",
    type=click.Path(path_type=Path),
    envvar="GOVKIT_POLICY",
    help="Policy folder with the teams' lifecycle rules (review cadence); default: ./policies if present.",
)
@POLICY_SET_OPTION
def serve_command(
    db: str,
    host: str,
    port: int,
    key_path: Path | None,
    trusted_key: Path | None,
    folders: tuple[Path, ...],
    policy: Path | None,
    policy_set: str | None,
) -> None:
    """Serve a read-only web view of the inventory and audit log (binds loopback unless told otherwise)."""
    from govkit.web.server import serve

    serve(
        db,
        host=host,
        port=port,
        key_path=key_path,
        trusted_key=trusted_key,
        folders=folders or (Path("reports"), Path("evidence")),
        policy=policy,
        policy_set=policy_set,
        announce=lambda line: click.echo(line, err=True),
    )
