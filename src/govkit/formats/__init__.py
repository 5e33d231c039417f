"""Output formats for an Evaluation. One module per format, all behind formats/interface.py."""
