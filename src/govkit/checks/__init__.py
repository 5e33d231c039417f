"""Checks measure; rules judge. See interface.py for the seam."""
