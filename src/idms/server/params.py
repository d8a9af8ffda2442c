"""Query parameters several routes share, with their bounds declared once.

Every integer a route takes from the query string is bounded, so a number no database takes
(``offset=99999999999999999999``) is a 400 naming the parameter and its bound, never a 500.
Limits are bounded where they are declared (each route has its own page size); an offset is
this one type, bounded by the library's :data:`~idms.paging.MAX_WINDOW`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from idms.paging import MAX_WINDOW

__all__ = ["Offset"]

Offset = Annotated[int, Query(ge=0, le=MAX_WINDOW, description="How many rows to skip")]
