"""Revisions of the suite database, oldest first; Alembic skips this file."""
