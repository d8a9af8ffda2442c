"""Panel sources and IQAs the sandbox keeps from REST, as iMIS keeps one not marked "Available
via the REST API" (RiSE > Security tab): every call to it is answered 403, so the checks
before a run (``idms check``) and a refused run can be tried without a real iMIS.

Names are matched without case: an entity (``api/NAME``) or an IQA path or saved query name
given as ``QueryName`` to ``api/iqa`` or ``api/query``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from idms.sandbox.auth import forbidden
from idms.sandbox.http import ApiError

QUERY_ENDPOINTS = frozenset({"iqa", "query"})


class Restricted:
    def __init__(self, names: Iterable[str] = ()) -> None:
        self.names = frozenset(n.strip().casefold() for n in names if n.strip())

    def refusal(self, entity: str, params: Sequence[tuple[str, str]]) -> ApiError | None:
        """The 403 for a call to a restricted entity or IQA, or None."""
        if not self.names:
            return None
        name = entity.casefold()
        if name in QUERY_ENDPOINTS:
            asked = [v for k, v in params if k.casefold() == "queryname"]
            hit = next((q for q in asked if q.strip().casefold() in self.names), None)
            if hit is not None:
                return forbidden(f"The query '{hit}' is not available via the REST API.")
            return None
        if name in self.names:
            return forbidden(f"'{entity}' is not available via the REST API.")
        return None
