"""Pausing Python's cycle collector while a batch is processed.

A batch holds a few hundred thousand small objects (rows, records, results) until it is
recorded, and the collector rescans them every few hundred allocations: measured at 100,000
contacts, it took 12 % of an import. Nearly all of a batch is freed by reference counting the
moment it is recorded, so the collector is paused for the batch and resumes between batches.

The pause is counted, so overlapping runs in threads (``idms serve``) resume it only when the
last one is done; while pauses overlap without a gap, a full collection still runs every
``COLLECT_EVERY`` seconds, so cyclic garbage from other threads never piles up.

The command line pauses it for its start-up too (:func:`pause_startup`): importing what a
command needs makes 60,000 to 80,000 objects, nearly all living as long as the process, and
the collector scanned them again and again as they were made: about 75 ms of the 0.46 s of CPU
an ``idms runs`` took. What it found to free (cycles that imports leave, a few MB) can wait. It
resumes after ``STARTUP_SECONDS`` at the latest, or when the first batch ends, so a command
that goes on to do real work collects as before.
"""

from __future__ import annotations

import gc
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

COLLECT_EVERY = 30.0  # seconds
STARTUP_SECONDS = 2.0

_lock = threading.Lock()
_depth = 0
_was_enabled = True
_since = 0.0  # when the collector last ran (or was paused from running)
_startup = False  # paused by pause_startup, not resumed yet


@contextmanager
def gc_paused() -> Iterator[None]:
    global _depth, _was_enabled, _since
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled() or _startup
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
                    _end_startup()
                    gc.enable()
            elif time.monotonic() - _since > COLLECT_EVERY:
                _since, collect = time.monotonic(), _was_enabled
        if collect:
            gc.collect()


def pause_startup(seconds: float = STARTUP_SECONDS) -> None:
    """Pause the collector while the process starts; it resumes ``seconds`` later (or when
    the first :func:`gc_paused` batch ends, or on :func:`resume_after_startup`)."""
    global _startup
    with _lock:
        if _startup or _depth or not gc.isenabled():
            return  # already paused, by this or by someone who will resume it
        _startup = True
        gc.disable()
    timer = threading.Timer(seconds, resume_after_startup)
    timer.daemon = True  # never keeps the process from exiting
    timer.start()


def resume_after_startup() -> None:
    """End the start-up pause now (nothing to do if it has ended)."""
    with _lock:
        if _end_startup() and _depth == 0:
            gc.enable()  # else the batch under way resumes it when it ends


def _forked() -> None:
    """In a process forked during the start-up pause (``idms worker``'s prefork children,
    ``idms serve``'s): the timer that would end the pause is a thread, which does not come
    along, so the child ends the pause at once rather than never."""
    global _lock
    _lock = threading.Lock()  # a thread of the parent may have held it at the fork
    resume_after_startup()


os.register_at_fork(after_in_child=_forked)


def _end_startup() -> bool:
    """Whether a start-up pause was on (it is not any more); the caller holds ``_lock``."""
    global _startup
    was, _startup = _startup, False
    return was


def settle_heap() -> None:
    """Before a process serves for good (``idms sandbox``): what it has built so far (modules,
    the store's metadata and statements) is set aside from the cycle collector's full passes.

    Those objects live as long as the process; rescanning them is most of what a full pass
    costs, and the passes took some 4 % of the sandbox's CPU under a REST import. Objects made
    later are collected as ever.
    """
    gc.collect()
    gc.freeze()
