"""The suite database's Alembic tree (run through :mod:`idms.state.store`, no alembic.ini)."""
