"""Auditor evidence bundles: export a BagIt zip, verify it offline without govkit."""
