"""Planner statistics kept fresh after large writes (PostgreSQL).

PostgreSQL plans a query from statistics that ``ANALYZE`` gathers; autovacuum refreshes them
only now and then, so right after an import of 100,000 contacts into an empty store the planner
still believes the tables hold a few rows. The next import's match of 500 e-mails then plans a
parallel sequential scan and an on-disk sort (117-127 ms a batch, measured) instead of an index
lookup (17-21 ms once analysed): the whole second pass ran 2.0-2.6x slower for want of it.

So the store counts the rows each committed write transaction inserted, updated or deleted per
table, and analyses a table once what was written since its last analysis passes autovacuum's
own threshold (``BASE`` rows plus ``SCALE`` of what the table held then). A table that grows
from empty is analysed a few dozen times over a million rows (the threshold grows with it), each
time a sample of at most 30,000 rows (``default_statistics_target``), so the cost stays a small
fraction of the writes. ``ANALYZE`` runs after the commit, on a connection of its own, and does
not block readers or writers; it runs in a thread of its own, so the import goes on with its next
batch meanwhile (on the 100,000-contact bench the analyses, run in the import's thread, took a
sixth of the first pass). Tables made stale again while one analysis runs are analysed once
after it. Closing the store waits for the analysis under way. SQLite plans from its indexes
without statistics, and needs none.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Mapping

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger(__name__)

BASE = 1_000
SCALE = 0.2
WRITTEN_ROWS = "idms_written_rows"  # conn.info key: Counter of rows written per table


def count_written(conn: Connection, table: str, rows: int) -> None:
    """Record that ``rows`` rows of ``table`` were written in ``conn``'s transaction."""
    counts: Counter[str] | None = conn.info.get(WRITTEN_ROWS)
    if counts is not None:
        counts[table] += rows


class Freshness:
    """What was written to each table since its last ``ANALYZE``, and the analyses it calls
    for. One per store engine; safe across threads."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.enabled = engine.dialect.name == "postgresql"
        self._lock = threading.Lock()
        self._pending: Counter[str] = Counter()
        self._size: dict[str, float] = {}  # rows the table held when last analysed (estimate)
        self._queued: set[str] = set()  # tables to analyse next
        self._busy = False  # an analysis is under way
        self._worker: threading.Thread | None = None
        self._changed = threading.Condition(self._lock)
        self.analysed: Counter[str] = Counter()  # ANALYZE runs per table, for the curious

    def begin(self, conn: Connection) -> None:
        """Start counting the writes of ``conn``'s transaction."""
        if self.enabled:
            conn.info[WRITTEN_ROWS] = Counter()

    def committed(self, conn: Connection) -> None:
        """The transaction's writes were committed: analyse what they made stale."""
        counts: Counter[str] | None = conn.info.pop(WRITTEN_ROWS, None)
        if counts:
            self.wrote(counts)

    def discarded(self, conn: Connection) -> None:
        conn.info.pop(WRITTEN_ROWS, None)

    def wrote(self, counts: Mapping[str, int]) -> None:
        with self._lock:
            self._pending.update(counts)
            stale = [t for t, n in self._pending.items() if n > BASE + SCALE * self._known(t)]
            for table in stale:
                self._pending.pop(table)
            if not stale:
                return
            self._queued.update(stale)
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._work, name="idms-analyse", daemon=True)
                self._worker.start()
            self._changed.notify_all()

    def _work(self) -> None:
        """Analyse what is queued, until nothing is."""
        while True:
            with self._lock:
                tables = sorted(self._queued)
                self._queued.clear()
                if not tables:
                    self._worker = None
                    self._changed.notify_all()
                    return
                self._busy = True
            try:
                self._analyse(tables)
            finally:
                with self._lock:
                    self._busy = False
                    self._changed.notify_all()

    def settle(self, timeout: float = 60.0) -> bool:
        """Wait until every analysis asked for is done; False if ``timeout`` passed first."""
        with self._lock:
            return self._changed.wait_for(
                lambda: not self._queued and not self._busy, timeout=timeout
            )

    def _known(self, table: str) -> float:
        size = self._size.get(table)
        if size is None:
            size = self._size[table] = self._estimate(table)
        return size

    def _estimate(self, table: str) -> float:
        with self.engine.connect() as conn:
            found = conn.execute(
                text("SELECT reltuples FROM pg_class WHERE oid = to_regclass(:t)"), {"t": table}
            ).scalar()
        return max(float(found or 0), 0.0)  # -1: never analysed

    def _analyse(self, tables: list[str]) -> None:
        """``ANALYZE`` each table. The writes are committed by now: a failure here (the
        server going away) costs only the statistics, so it is logged, not raised."""
        try:
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                quote = conn.dialect.identifier_preparer.quote
                for table in tables:
                    conn.execute(text(f"ANALYZE {quote(table)}"))
                    self.analysed[table] += 1
            for table in tables:
                estimate = self._estimate(table)
                with self._lock:
                    self._size[table] = estimate
        except SQLAlchemyError as exc:
            log.warning("Could not refresh the planner statistics of %s: %s", tables, exc)
