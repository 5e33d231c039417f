"""Compliance reports: HTML from jinja2 templates, PDF/A-3b from weasyprint, PAdES sign-off."""
