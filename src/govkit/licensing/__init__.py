"""Licence knowledge: SPDX parsing, Hugging Face ids, traits, and expression judging."""
