"""Copy a whole audit log to another store (SQLite → PostgreSQL when a team outgrows one file)."""

from __future__ import annotations

from govkit.audit.log import AuditLog, LogIntegrityError
from govkit.errors import GovkitError

__all__ = ["copy_log"]


def copy_log(source: str, target: str) -> tuple[int, str]:
    """Copy every entry and checkpoint byte for byte into an empty store; both must then verify with
    the same head. Returns (entries copied, head hash). Anchoring on trusted keys is `log verify`'s job:
    a copy proves only that nothing changed on the way."""
    with AuditLog(source, create=False) as src, AuditLog(target) as dst:
        before = src.verify(trusted_keys=())
        if not before.ok:
            raise GovkitError(f"the source log does not verify ({before.first}); not copying", file=source)
        copied = dst.store.copy_in(src.store.log_id() or "", src.store.scan(), src.stored_checkpoints()[0])
        after = dst.verify(trusted_keys=())
    if not after.ok or after.head != before.head:
        raise LogIntegrityError(f"the copy does not verify like the source: {after.first}")
    return copied, after.head
