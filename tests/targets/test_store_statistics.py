"""Planner statistics kept fresh after large writes: a store in PostgreSQL analyses a table once
enough rows were written to it since its last analysis, so the next import's match plans an index
lookup instead of a sequential scan (measured: a second pass 2.0-2.6x faster). Before, a store
filled by an import still had no statistics (``reltuples`` -1) until autovacuum came by."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from idms.targets.base import ApplyOptions, Change, ChangeKind
from idms.targets.embedded.statistics import BASE
from idms.targets.embedded.target import EmbeddedTarget

BATCH = 500


def contacts(start: int, count: int) -> list[Change]:
    return [
        Change(
            ChangeKind.INSERT,
            {"Email": f"p{i}@example.org", "FirstName": f"F{i}", "LastName": f"L{i}"},
            ref=i,
        )
        for i in range(start, start + count)
    ]


def estimated_rows(store: EmbeddedTarget, table: str) -> float:
    with store.engine.connect() as conn:
        found = conn.execute(
            text("SELECT reltuples FROM pg_class WHERE oid = to_regclass(:t)"), {"t": table}
        ).scalar()
    return float(found if found is not None else -1)


@pytest.mark.postgres
def test_a_large_import_leaves_the_planner_statistics_fresh(postgres_url: str) -> None:
    store = EmbeddedTarget(postgres_url)
    try:
        assert estimated_rows(store, "contacts") <= 0, "a new store: never analysed"
        total = 6_000
        for start in range(0, total, BATCH):
            results = store.apply("Contact", contacts(start, BATCH))
            assert all(r.ok for r in results), results[0]
        assert store.freshness.settle()  # the analyses run beside the writes, in a thread
        estimate = estimated_rows(store, "contacts")
        # Analysed when the rows written since the last analysis passed BASE + 20 % of the
        # table: at most that many rows are missing from the last estimate.
        assert total - (BASE + 0.2 * total) <= estimate <= total
        # A rehearsal (a plan) writes nothing, so it makes nothing stale.
        before = estimate
        with store.rehearse():
            for start in range(total, total + 3 * BASE, BATCH):
                store.apply("Contact", contacts(start, BATCH), ApplyOptions(dry_run=True))
        assert store.freshness.settle()
        assert estimated_rows(store, "contacts") == before
    finally:
        store.close()


@pytest.mark.postgres
def test_the_analysis_runs_beside_the_writes_and_closing_waits_for_it(postgres_url: str) -> None:
    """The import's thread does not wait for ``ANALYZE``: it is done in a thread of its own
    while the next batch is written; closing the store waits for it, so nothing is cut off."""
    store = EmbeddedTarget(postgres_url)
    analyse = store.freshness._analyse
    release, threads, done = threading.Event(), [], []

    def held(tables: list[str]) -> None:  # the analysis, held until the writes are over
        threads.append(threading.current_thread())
        release.wait(30)
        analyse(tables)
        done.append(tables)

    store.freshness._analyse = held  # type: ignore[method-assign]
    try:
        for start in range(0, 3 * BASE, BATCH):
            assert all(r.ok for r in store.apply("Contact", contacts(start, BATCH)))
        assert threads
        assert threading.current_thread() not in threads
        assert not done, "the writes waited for the analysis"
        release.set()
    finally:
        release.set()
        store.close()
    assert done
    assert estimated_rows(store, "contacts") > BASE
    store.engine.dispose()
