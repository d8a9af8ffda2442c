"""The generic source adapter: one source over one or more store tables.

Reads stream with filters (``reading.py``); ``match`` is one set-based query per chunk of criteria
(``matching.py``); ``apply`` plans a whole batch in memory (``planning.py``: before-images fetched
at once, defaults, counters, lookups, the source's rules), then hands the planned writes
(``writing.py``) to ``execution.py``. Source-specific rules live in subclasses, through the
``check_*`` and ``writes_*`` hooks.
"""

from __future__ import annotations

from idms.targets.embedded.adapters.context import ApplyContext, StorePolicy
from idms.targets.embedded.adapters.folding import MATCH_CHUNK, fold_text, spellings
from idms.targets.embedded.adapters.matching import Matching
from idms.targets.embedded.adapters.planning import Planning

__all__ = [
    "MATCH_CHUNK",
    "ApplyContext",
    "SourceAdapter",
    "StorePolicy",
    "fold_text",
    "spellings",
]


class SourceAdapter(Planning, Matching):
    """A source stored in ``table`` (its main table), one column per stored field: read,
    matched, planned and written."""
