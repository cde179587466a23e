"""Subsidy programs, claims and the budget ledger (pages)."""
