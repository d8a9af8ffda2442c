"""Pausing Python's cycle collector while a batch is processed.

A batch holds a few hundred thousand small objects (rows, records, results) until it is
recorded, and the collector rescans them every few hundred allocations: measured at 100,000
contacts, it took 12 % of an import. Nearly all of a batch is freed by reference counting the
moment it is recorded, so the collector is paused for the batch and resumes between batches.
The pause is counted, so overlapping runs in threads resume it only when the last one is done.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_was_enabled = True


@contextmanager
def gc_paused() -> Iterator[None]:
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()
