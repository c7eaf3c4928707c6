"""Synthetic generators: SME alternative data for credit (credit.py) and survey panels."""
