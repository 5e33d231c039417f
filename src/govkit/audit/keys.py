"""The log's Ed25519 signing key: a PEM file with 0600 permissions, kept outside the database."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from govkit.errors import GovkitError


class KeyFileError(GovkitError):
    """A key file is missing, unreadable or not an Ed25519 key."""


def default_key_path() -> Path:
    if os.environ.get("GOVKIT_KEY"):
        return Path(os.environ["GOVKIT_KEY"])
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "govkit" / "log-signing-key.pem"


def public_path(key_path: Path) -> Path:
    """Where the public half of a key file lives: `<key>.pub`, written when the key is created.

    It is what `log verify` anchors on by default: a copy of the log's key kept outside the
    database, so a writer who rebuilds the log under a key of their own is caught.
    """
    return key_path.with_name(key_path.name + ".pub")


def key_id(public_raw: bytes) -> str:
    return hashlib.sha256(public_raw).hexdigest()[:16]


def public_raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@dataclass(frozen=True)
class SigningKey:
    private: Ed25519PrivateKey
    path: Path

    @property
    def public_raw(self) -> bytes:
        return public_raw(self.private.public_key())

    @property
    def key_id(self) -> str:
        return key_id(self.public_raw)

    def sign(self, data: bytes) -> bytes:
        return self.private.sign(data)

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def create_key(path: Path, *, overwrite: bool = False) -> SigningKey:
    if path.exists() and not overwrite:
        raise KeyFileError("key file already exists (use a new path, or rotate)", file=path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    tmp.replace(path)
    key = SigningKey(private, path)
    public_path(path).write_bytes(key.public_pem())
    return key


def load_key(path: Path) -> SigningKey:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise KeyFileError("signing key not found (run `govkit keys init`)", file=path) from None
    except OSError as exc:
        raise KeyFileError(f"cannot read signing key ({exc.strerror})", file=path) from None
    try:
        private = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"not a PEM private key: {exc}", file=path) from None
    if not isinstance(private, Ed25519PrivateKey):
        raise KeyFileError("log signing keys must be Ed25519", file=path)
    if path.stat().st_mode & 0o077:
        raise KeyFileError("signing key is readable by others; chmod 600 it", file=path)
    return SigningKey(private, path)


def load_public(data: bytes) -> Ed25519PublicKey:
    """A public key from raw 32 bytes or PEM."""
    if len(data) == 32:
        return Ed25519PublicKey.from_public_bytes(data)
    key = serialization.load_pem_public_key(data)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def verifies(public: Ed25519PublicKey, signature: bytes, data: bytes) -> bool:
    try:
        public.verify(signature, data)
    except InvalidSignature:
        return False
    return True
