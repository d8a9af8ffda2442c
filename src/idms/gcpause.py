"""Pausing Python's cycle collector while a batch is processed.

A batch holds a few hundred thousand small objects (rows, records, results) until it is
recorded, and the collector rescans them every few hundred allocations: measured at 100,000
contacts, it took 12 % of an import. Nearly all of a batch is freed by reference counting the
moment it is recorded, so the collector is paused for the batch and resumes between batches.

The pause is counted, so overlapping runs in threads (``idms serve``) resume it only when the
last one is done; while pauses overlap without a gap, a full collection still runs every
``COLLECT_EVERY`` seconds, so cyclic garbage from other threads never piles up.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

COLLECT_EVERY = 30.0  # seconds

_lock = threading.Lock()
_depth = 0
_was_enabled = True
_since = 0.0  # when the collector last ran (or was paused from running)


@contextmanager
def gc_paused() -> Iterator[None]:
    global _depth, _was_enabled, _since
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            _since = time.monotonic()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        collect = False
        with _lock:
            _depth -= 1
            if _depth == 0:
                if _was_enabled:
                    gc.enable()
            elif time.monotonic() - _since > COLLECT_EVERY:
                _since, collect = time.monotonic(), _was_enabled
        if collect:
            gc.collect()
