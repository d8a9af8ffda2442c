"""One rate limit toward an iMIS for every worker of an installation, kept in the suite database.

An installation runs jobs in several processes at once (``idms serve``'s local workers, Celery
workers, the command line), each with clients of its own; a limit of N calls per second set
for the installation (``IDMS_IMIS_RATE_LIMIT``) must hold for all of them together, as iMIS
counts them. The processes already share the suite database, through which runs over REST take
turns (``runs/serial.py``); the limit lives there too, as a token bucket per iMIS (a row of
``rate_buckets``).

A process does not go to the database for every call: it reserves permits a block at a time
(a tenth of a second's worth), in one short transaction that refills the bucket for the time
gone by and takes the block, going below zero when others reserved ahead (the debt is the
queue: the reserver waits it out before it spends the block). So the installation sends at most
N calls per second, in bursts of at most a block per process, for some ten transactions per
second in all. Should the database fail, the process keeps to the limit on its own (a local
bucket) and says so in the log rather than stopping its runs.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from idms.db import writer
from idms.state.models import RateBucket
from idms.targets.imis.client import TokenBucket

log = logging.getLogger("idms.targets.imis")

BLOCK_SECONDS = 0.1  # a reservation: this many seconds' worth of permits


def bucket_key(base_url: str) -> str:
    """One iMIS however its URL is spelled: scheme and host without case, no trailing slash."""
    parts = urlsplit(base_url.strip())
    place = urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path.rstrip("/"), "", ""))
    return hashlib.sha256(place.encode()).hexdigest()


class SharedBucket:
    """``rate`` calls per second toward ``base_url`` for every process on ``engine``'s suite
    database together (the ``acquire`` an ImisClient asks before each call)."""

    def __init__(
        self,
        engine: Engine,
        base_url: str,
        rate: float,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.engine = engine
        self.target = base_url
        self.key = bucket_key(base_url)
        self.rate = rate
        self.block = max(1, round(rate * BLOCK_SECONDS))
        self.clock = clock
        self.sleep = sleep
        self._left = 0
        self._lock = threading.Lock()
        self._fallback: TokenBucket | None = None

    def acquire(self) -> None:
        """Take a permit, reserving a block from the database when this process has none."""
        if self._fallback is not None:
            self._fallback.acquire()
            return
        with self._lock:  # the threads of this process wait in turn for the next block
            if self._left == 0:
                try:
                    wait = self.reserve(self.block)
                except SQLAlchemyError as exc:
                    log.warning(
                        "The shared iMIS rate limit could not be read from the suite database "
                        "(%s); this process keeps to %s calls per second on its own.",
                        type(exc).__name__,
                        f"{self.rate:g}",
                    )
                    self._fallback = TokenBucket(self.rate, burst=self.block)
                    wait = 0.0
                if wait > 0:
                    self.sleep(wait)
                self._left = self.block
            self._left -= 1

    def reserve(self, count: int) -> float:
        """Take ``count`` permits from the shared bucket; the seconds to wait before using them."""
        for attempt in range(2):
            try:
                with writer(self.engine).begin() as conn:
                    row = conn.execute(
                        select(RateBucket.tokens, RateBucket.stamp)
                        .where(RateBucket.key == self.key)
                        .with_for_update()
                    ).first()
                    now = self.clock()
                    capacity = float(self.block)
                    if row is None:
                        tokens = capacity - count
                        conn.execute(
                            insert(RateBucket).values(
                                key=self.key, target=self.target, tokens=tokens, stamp=now
                            )
                        )
                    else:
                        gone = max(0.0, now - row.stamp)
                        tokens = min(capacity, row.tokens + gone * self.rate) - count
                        conn.execute(
                            update(RateBucket)
                            .where(RateBucket.key == self.key)
                            .values(tokens=tokens, stamp=max(now, row.stamp))
                        )
                return max(0.0, -tokens / self.rate)
            except IntegrityError:
                if attempt:  # another process made the row at the same moment: read it now
                    raise
        raise AssertionError("unreachable")  # pragma: no cover
