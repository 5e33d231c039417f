"""govkit: ML governance and compliance audits."""

__version__ = "0.1.0"
