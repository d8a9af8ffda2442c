"""Two writers drawing from a counter used for the first time: the second waits for the first
and continues its numbers; neither fails (concurrent runs on PostgreSQL once failed with a
``UniqueViolation`` on ``pk_counters`` when both created the counter)."""

from __future__ import annotations

import threading

import pytest

from idms.targets.embedded.counters import allocate
from idms.targets.embedded.store import open_store


@pytest.mark.postgres
def test_two_writers_creating_a_counter_at_once_both_get_numbers(postgres_url: str) -> None:
    engine = open_store(postgres_url)
    try:
        drawn: dict[str, range | BaseException] = {}
        first = engine.connect()
        first.begin()
        drawn["first"] = allocate(first, "NEW_COUNTER", 5)

        def second() -> None:
            try:
                with engine.begin() as conn:
                    drawn["second"] = allocate(conn, "NEW_COUNTER", 3)
            except BaseException as exc:
                drawn["second"] = exc

        thread = threading.Thread(target=second)
        thread.start()
        thread.join(0.5)
        assert thread.is_alive(), "the second writer waits for the first one's transaction"
        first.commit()
        first.close()
        thread.join(10)
        assert drawn == {"first": range(1, 6), "second": range(6, 9)}
    finally:
        engine.dispose()


def test_a_counter_continues_where_it_stopped(database_url: str) -> None:
    engine = open_store(database_url)
    try:
        with engine.begin() as conn:
            assert allocate(conn, "ANOTHER", 2) == range(1, 3)
            assert allocate(conn, "ANOTHER", 0) == range(0)
        with engine.begin() as conn:
            assert allocate(conn, "ANOTHER", 4) == range(3, 7)
    finally:
        engine.dispose()
