"""Cohort fairness: per-group confusion counts in one vectorised pass, fairlearn's definitions."""
