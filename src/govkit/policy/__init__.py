"""Policies as code: sets, team overlays, waivers."""
