"""Report chapters: one module per area, each a `ReportSection` (see interface.py)."""
