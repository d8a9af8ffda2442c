"""How many calls an ImisClient keeps in flight: fewer when iMIS says 429, more again after.

:class:`AdaptiveLimit` replaces a fixed semaphore. It starts at the client's concurrency (its
ceiling) and follows the rule TCP uses for congestion (additive increase, multiplicative
decrease): a 429 (Too Many Requests) halves the limit, and every ``limit`` calls answered in a
row without one raise it by one, back up to the ceiling. One 429 cuts once: the calls already in
flight when the limit was cut were sent under the old limit, and their 429s are the same news,
so they do not cut it again (each call carries the *epoch* it was sent in).

The limit only ever says how many calls wait for their answer at once; how many are *started*
per second, by every client of an installation together, is the rate limit's
(``ratelimit.py``).

Places are given in the order they were asked for: a call that finds every place taken queues,
and a place let go goes to the first call queued, before any call asking after it. Without the
queue, the thread that lets a place go takes it again for its next call before a woken waiter
runs, so a few calls of another kind (the next batch's match, asked for while a batch is
written, see ``jobs/ahead.py``) would wait for the whole batch.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager


class AdaptiveLimit:
    """At most ``limit`` calls in flight, ``limit`` between 1 and ``ceiling`` (see above)."""

    def __init__(self, ceiling: int) -> None:
        self.ceiling = max(1, ceiling)
        self.limit = self.ceiling
        self.in_flight = 0
        self.epoch = 0
        self.cuts = 0  # how many times a 429 cut the limit
        self._clean = 0  # calls answered without a 429 since the limit last moved
        self._lock = threading.Lock()
        self._queued: deque[threading.Lock] = deque()  # calls waiting for a place, in order

    @contextmanager
    def slot(self) -> Iterator[int]:
        """Hold one of the ``limit`` places while a call is in flight; yields its epoch."""
        with self._lock:
            if self.in_flight < self.limit and not self._queued:
                self.in_flight += 1
                waiter = None
            else:
                waiter = threading.Lock()
                waiter.acquire()
                self._queued.append(waiter)
        if waiter is not None:
            waiter.acquire()  # released by _hand_over, with the place counted for this call
        with self._lock:
            epoch = self.epoch
        try:
            yield epoch
        finally:
            with self._lock:
                self.in_flight -= 1
                self._hand_over()

    def _hand_over(self) -> None:
        """Give the places free to the calls queued first (the lock held)."""
        while self._queued and self.in_flight < self.limit:
            self.in_flight += 1
            self._queued.popleft().release()

    def throttled(self, epoch: int) -> None:
        """A call sent in ``epoch`` was answered 429: halve the limit, once per epoch."""
        with self._lock:
            if epoch != self.epoch:
                return
            self.limit = max(1, self.limit // 2)
            self.epoch += 1
            self.cuts += 1
            self._clean = 0

    def answered(self) -> None:
        """A call was answered without a 429: after ``limit`` of them, one place more."""
        with self._lock:
            if self.limit >= self.ceiling:
                return
            self._clean += 1
            if self._clean >= self.limit:
                self.limit += 1
                self._clean = 0
                self._hand_over()
