"""The model inventory: every model and version the audit log knows, its lifecycle state and what is due."""
