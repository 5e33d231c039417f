"""Post-market monitoring: reference profiles, per-window counts and drift measures (docs/monitoring.md)."""
