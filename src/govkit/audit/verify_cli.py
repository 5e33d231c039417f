"""Reading the files `log verify` is given, with errors that name the file."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from govkit.audit.chain import Checkpoint
from govkit.audit.keys import load_public
from govkit.errors import GovkitError


def read_checkpoint(path: Path) -> Checkpoint:
    try:
        return Checkpoint.parse(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GovkitError("checkpoint file not found", file=path) from None
    except (ValueError, IndexError, UnicodeDecodeError) as exc:
        raise GovkitError(f"not a govkit checkpoint: {exc}", file=path) from None


def read_public_key(path: Path) -> Ed25519PublicKey:
    try:
        return load_public(path.read_bytes())
    except FileNotFoundError:
        raise GovkitError("public key file not found", file=path) from None
    except ValueError as exc:
        raise GovkitError(f"not an Ed25519 public key: {exc}", file=path) from None
