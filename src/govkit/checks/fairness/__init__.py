"""Cohort fairness: per-group counts from a pandas, DuckDB or Spark engine; fairlearn's definitions."""
