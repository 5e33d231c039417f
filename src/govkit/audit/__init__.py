"""Append-only, tamper-evident audit log: hash chain, Ed25519 signatures, Merkle checkpoints."""
