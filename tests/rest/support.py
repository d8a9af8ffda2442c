"""Seeding a sandbox's store directly, as the embedded contract tests seed their own."""

from __future__ import annotations

from contract.seeding import seed_panels, seed_store

__all__ = ["seed_panels", "seed_store"]
