"""`govkit serve`: a read-only web view of the inventory and the audit log (docs/web.md)."""
