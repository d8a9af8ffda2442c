"""How far a list may reach: the one bound on every offset and limit a caller gives.

Databases take whole numbers of 64 bits at most (SQLite refuses a bigger one with an
``OverflowError``), and no list idms keeps comes near a billion rows, so an offset or a limit
beyond :data:`MAX_WINDOW` is refused as the caller's mistake, with the bound, before any
query is built. The API declares the same bound on its query parameters
(``idms.server.params``) and the sandbox on its ``offset``.
"""

from __future__ import annotations

from idms.errors import InvalidInputError

__all__ = ["MAX_WINDOW", "check_window"]

MAX_WINDOW = 1_000_000_000


def check_window(offset: int = 0, limit: int | None = None) -> None:
    """Refuse an ``offset`` or ``limit`` below 0 or above :data:`MAX_WINDOW`."""
    for name, value in (("offset", offset), ("limit", limit)):
        if value is not None and not 0 <= value <= MAX_WINDOW:
            raise InvalidInputError(f"The {name} must be a whole number from 0 to {MAX_WINDOW:,}.")
