"""A batch matched and applied in one exclusive scope on SQLite is planned from the records its
match read (``carried.py``), not read a second time; its before-images are exactly those
records. Anything else reads them afresh: outside a scope, after a write in the scope, and on
PostgreSQL, where the scope's lock does not keep other sources' writers out."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from idms.targets.base import Change, ChangeKind, Record
from idms.targets.embedded.target import EmbeddedTarget

PEOPLE = 4


def seeded(url: str) -> EmbeddedTarget:
    store = EmbeddedTarget(url)
    inserts = [
        Change(
            ChangeKind.INSERT,
            {"Email": f"p{i}@example.org", "FirstName": f"F{i}", "LastName": f"L{i}"},
            ref=i,
        )
        for i in range(PEOPLE)
    ]
    assert all(r.ok for r in store.apply("Contact", inserts))
    return store


def match_all(store: EmbeddedTarget) -> list[Record]:
    criteria = [{"Email": f"P{i}@example.org"} for i in range(PEOPLE)]  # any case matches
    found = store.match("Contact", ["Email"], criteria)
    assert all(len(f) == 1 for f in found)
    return [f[0] for f in found]


def renames(store: EmbeddedTarget, records: list[Record], last: str) -> list[Change]:
    identity = store.describe("Contact").identity
    return [
        Change(
            ChangeKind.UPDATE,
            {"LastName": f"{last}{i}"},
            {k: record[k] for k in identity},
            ref=i,
        )
        for i, record in enumerate(records)
    ]


@contextmanager
def record_reads(store: EmbeddedTarget) -> Iterator[list[str]]:
    """The statements that read Contact records by their SELECT (match's and fetch's)."""
    adapter = store.adapter("Contact")
    dialect = store.engine.dialect
    looked_up = adapter.key_select(dialect.name, adapter.source.identity)  # fetch's
    head = " ".join(str(looked_up.compile(dialect=dialect)).split())
    reads: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        flat = " ".join(statement.split())
        if flat.startswith(head):
            reads.append(flat)

    event.listen(store.engine, "before_cursor_execute", seen)
    try:
        yield reads
    finally:
        event.remove(store.engine, "before_cursor_execute", seen)


def test_a_batch_held_exclusive_on_sqlite_is_planned_from_what_it_matched(tmp_path: Any) -> None:
    store = seeded(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        with store.exclusive("Contact"):
            matched = match_all(store)
            with record_reads(store) as reads:
                results = store.apply("Contact", renames(store, matched, "New"))
        assert reads == []  # not one before-image read again
        assert all(r.ok for r in results)
        assert [r.before for r in results] == matched  # exactly the records matched...
        assert all(r.before is not m for r, m in zip(results, matched, strict=True))  # copies
        assert [r.after["LastName"] for r in results if r.after] == [
            f"New{i}" for i in range(PEOPLE)
        ]
        assert sorted(c["LastName"] for c in store.read("Contact") if c["Email"]) == [
            f"New{i}" for i in range(PEOPLE)
        ]
    finally:
        store.close()


def test_without_a_scope_the_before_images_are_read(tmp_path: Any) -> None:
    store = seeded(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        matched = match_all(store)
        with record_reads(store) as reads:
            results = store.apply("Contact", renames(store, matched, "New"))
        assert len(reads) == 1  # one set-based fetch of the batch's before-images
        assert [r.before for r in results] == matched
    finally:
        store.close()


def test_after_a_write_in_the_scope_the_next_apply_reads_afresh(tmp_path: Any) -> None:
    """Carried records serve one apply: a second one sees what the first wrote."""
    store = seeded(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        with store.exclusive("Contact"):
            matched = match_all(store)
            store.apply("Contact", renames(store, matched, "First"))
            with record_reads(store) as reads:
                again = store.apply("Contact", renames(store, matched, "Second"))
        assert len(reads) == 1
        assert [r.before["LastName"] for r in again if r.before] == [
            f"First{i}" for i in range(PEOPLE)
        ]
    finally:
        store.close()


@pytest.mark.postgres
def test_a_scope_on_postgresql_reads_the_before_images(postgres_url: str) -> None:
    """The advisory lock orders one source's writers; another's may commit between match and
    apply (an address under a contact), so the before-images are read in apply."""
    store = seeded(postgres_url)
    try:
        with store.exclusive("Contact"):
            matched = match_all(store)
            with record_reads(store) as reads:
                results = store.apply("Contact", renames(store, matched, "New"))
        assert len(reads) == 1
        assert [r.before for r in results] == matched
    finally:
        store.close()
