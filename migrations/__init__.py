"""Alembic migrations: one revision per schema change."""
