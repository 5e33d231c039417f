"""Approval review: comparing recorded evaluations, regulatory coverage and Annex IV facts for the report."""
