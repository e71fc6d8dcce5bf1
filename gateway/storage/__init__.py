"""Persistence: tables, the engine and transactions, sequences."""
