"""`govkit keys init|show|rotate|signer-cert`: the log signing key and the officers' certificates."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from govkit.cli.base import (
    DB_OPTION,
    KEY_OPTION,
)

if TYPE_CHECKING:
    from govkit.report.signoff import SignerAlgorithm


@click.group("keys")
def keys_group() -> None:
    """Create, show and rotate the audit log's signing key."""


@keys_group.command("init", epilog="Example:\n\n  govkit keys init --key /secure/govkit-log.pem")
@KEY_OPTION
def keys_init(key_path: Path | None) -> None:
    """Create an Ed25519 log signing key (file mode 0600) and its public half beside it (KEY.pub)."""
    from govkit.audit.keys import create_key, default_key_path, public_path

    key = create_key(key_path or default_key_path())
    click.echo(
        f"created {key.path} (key id {key.key_id}) and {public_path(key.path)}, which `log verify` "
        "anchors on (keep a copy where the database's writers cannot change it); the public key:"
    )
    click.echo(key.public_pem().decode(), nl=False)


@keys_group.command("show", epilog="Example:\n\n  govkit keys show > log-key.pub")
@KEY_OPTION
def keys_show(key_path: Path | None) -> None:
    """Print the public key (PEM), to pin it for `log verify --trusted-key`."""
    from govkit.audit.keys import default_key_path, load_key

    key = load_key(key_path or default_key_path())
    click.echo(key.public_pem().decode(), nl=False)
    click.echo(f"key id {key.key_id}", err=True)


@keys_group.command("rotate", epilog="Example:\n\n  govkit keys rotate --new-key ~/.config/govkit/log-2027.pem")
@DB_OPTION
@KEY_OPTION
@click.option("--new-key", type=click.Path(path_type=Path), required=True, help="Where to create the new key.")
def keys_rotate(db: str, key_path: Path | None, new_key: Path) -> None:
    """Create a new key and record it in the log, signed by the current key."""
    from govkit.audit.keys import create_key
    from govkit.audit.log import AuditLog

    with AuditLog(db, key_path=key_path) as log:
        log.signing_key()
        fresh = create_key(new_key)
        entry = log.rotate_key(fresh)
    click.echo(f"rotated to key {fresh.key_id} (entry {entry.seq}); point GOVKIT_KEY at {new_key}")


@keys_group.command(
    "signer-cert",
    epilog="""\b
Example:
  govkit keys signer-cert --name "Carol Officer" --email carol@example.org --out ~/.config/govkit/signers""",
)
@click.option("--name", required=True, help="The signer's full name (certificate common name).")
@click.option("--email", required=True, help="The signer's e-mail address (sign-off checks --signer against it).")
@click.option(
    "--out", "out_dir", type=click.Path(path_type=Path), required=True, help="Folder for key and certificate."
)
@click.option("--algorithm", type=click.Choice(["rsa-3072", "ecdsa-p256"]), default="rsa-3072", show_default=True)
def keys_signer_cert(name: str, email: str, out_dir: Path, algorithm: SignerAlgorithm) -> None:
    """Create a self-signed signing certificate (the fallback for organisations without a PKI)."""
    from govkit.report.signoff import make_signer_certificate

    key, cert = make_signer_certificate(name, email, out_dir, algorithm=algorithm)
    click.echo(
        f"key {key} (mode 0600)\ncertificate {cert}\nGive the certificate to whoever verifies "
        "sign-offs (`govkit verify-pdf --trust`)."
    )
