"""Regulatory control catalogues, the control tags on rules, and coverage of controls by rules."""
