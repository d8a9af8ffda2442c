"""The driver-speed executemany (``idms.bulk``) stores exactly what SQLAlchemy would."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Date,
    DateTime,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    event,
    insert,
    select,
    text,
)
from sqlalchemy.exc import DataError, IntegrityError

from idms import jsontext
from idms.bulk import execute_many, keyed_update, rows_insert
from idms.db import make_engine
from idms.gcpause import gc_paused

metadata = MetaData()
things = Table(
    "things",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("day", Date),
    Column("moment", DateTime),
    Column("flag", Boolean),
    Column("amount", Numeric(15, 2)),
    Column("name", String(20)),
)

ROWS: list[dict[str, Any]] = [
    {"day": date(2024, 2, 29), "moment": datetime(2024, 2, 29, 13, 5, 6), "flag": True},
    {"day": date(999, 1, 2), "moment": datetime(2024, 1, 1, 0, 0, 0, 7), "flag": False},
    {"day": None, "moment": None, "flag": None},
    # Not the everyday types: these go through SQLAlchemy's own processors.
    {
        "day": datetime(2024, 3, 1, 9, 0),
        "moment": datetime(2024, 3, 1, 9, 0, tzinfo=UTC),
        "flag": 1,
    },
]


@pytest.mark.parametrize("how", ["bulk", "sqlalchemy"])
def test_stored_text_is_the_same_either_way(tmp_path: Path, how: str) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    metadata.create_all(engine)
    rows = [{"id": i, "amount": Decimal("1.50"), "name": f"n{i}", **r} for i, r in enumerate(ROWS)]
    with engine.begin() as conn:
        if how == "bulk":
            assert execute_many(conn, ("insert", "things"), insert(things), rows) == len(rows)
        else:
            for row in rows:
                conn.execute(insert(things), row)
    with engine.connect() as conn:
        raw = conn.execute(text("SELECT day, moment, flag FROM things ORDER BY id")).all()
        typed = conn.execute(select(things.c.day, things.c.flag).order_by(things.c.id)).all()
    assert [tuple(r) for r in raw] == [
        ("2024-02-29", "2024-02-29 13:05:06.000000", 1),
        ("0999-01-02", "2024-01-01 00:00:00.000007", 0),
        (None, None, None),
        ("2024-03-01", "2024-03-01 09:00:00.000000", 1),
    ]
    assert tuple(typed[0]) == (date(2024, 2, 29), True)
    engine.dispose()


NOW = datetime(2024, 5, 6, 7, 8, 9)  # one object in many rows, as a batch's CreatedOn is
COLUMN_CASES: dict[str, list[dict[str, Any]]] = {
    # A column of dates only, of None only, and the same time object in every row.
    "alike": [{"day": date(2000 + i, 1, 2), "moment": NOW, "flag": None} for i in range(6)],
    # Equal values not alike (True and 1, a naive and an aware time), and some repeated.
    "mixed": [
        {"day": d, "moment": m, "flag": f}
        for d, m, f in [
            (date(2024, 2, 29), NOW, True),
            (None, NOW, 1),
            (datetime(2024, 3, 1, 9, 0), NOW.replace(tzinfo=UTC), False),
            (date(2024, 2, 29), NOW, 0),
            (None, None, None),
            (date(999, 1, 2), NOW, True),
        ]
    ],
}


@pytest.mark.parametrize("case", sorted(COLUMN_CASES))
def test_columns_converted_at_once_store_what_one_row_at_a_time_stores(
    tmp_path: Path, case: str
) -> None:
    rows = [{"id": i, "amount": None, "name": None, **r} for i, r in enumerate(COLUMN_CASES[case])]
    stored = []
    for how in ("bulk", "sqlalchemy"):
        engine = make_engine(f"sqlite:///{tmp_path / f'{how}.sqlite'}")
        metadata.create_all(engine)
        with engine.begin() as conn:
            if how == "bulk":
                assert execute_many(conn, ("insert", "things", case), insert(things), rows) == 6
            else:
                for row in rows:
                    conn.execute(insert(things), row)
            raw = "SELECT day, moment, flag FROM things ORDER BY id"
            stored.append([tuple(r) for r in conn.execute(text(raw))])
        engine.dispose()
    assert stored[0] == stored[1]
    assert stored[0][0][1] == "2024-05-06 07:08:09.000000"


def _things_on(url: str) -> Any:
    engine = make_engine(url)
    metadata.create_all(engine)
    return engine


def _stored(conn: Connection) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in conn.execute(select(things).order_by(things.c.id))]


PG_ROWS: list[dict[str, Any]] = [
    {
        "id": i,
        "day": date(2024, 2, 29) if i % 3 else None,
        "moment": datetime(2024, 1, 1, 0, 0, 0, i),
        "flag": (None, True, False)[i % 3],
        "amount": Decimal("1.505") if i % 2 else None,  # rounded to the column's scale
        "name": f"n{i}" if i % 4 else None,
    }
    for i in range(7)
]


@pytest.mark.postgres
def test_the_set_forms_store_what_one_statement_per_row_stores(postgres_url: str) -> None:
    """On PostgreSQL a rows_insert / keyed_update batch is one statement over JSON; what it
    stores (NULLs, dates, flags, amounts rounded to the column) and counts is what one
    statement per row stores."""
    engine = _things_on(postgres_url)
    sent: list[tuple[str, bool]] = []  # (verb, executemany)
    event.listen(engine, "before_cursor_execute", lambda *a: sent.append((a[2].split()[0], a[5])))
    stored = []
    for how in ("set", "one by one"):
        with engine.begin() as conn:
            conn.execute(things.delete())
            if how == "set":
                # Keyed by the columns' own names (quoted_name, a str subclass), as the store's.
                named = [{things.c[k].name: v for k, v in row.items()} for row in PG_ROWS]
                assert execute_many(conn, ("i",), rows_insert(things), named) == len(PG_ROWS)
            else:
                for row in PG_ROWS:
                    conn.execute(insert(things), row)
            changes = [{"key_id": i, "name": f"m{i}", "flag": None} for i in (1, 3, 4, 99)]
            if how == "set":
                update = keyed_update(things, ("flag", "name"), ("id",))
                done = execute_many(conn, ("u",), update, changes)
            else:
                update = things.update().where(things.c.id == text(":key_id"))
                update = update.values(name=text(":name"), flag=text(":flag"))
                done = sum(conn.execute(update, c).rowcount for c in changes)
            assert done == 3  # 99 is no row
            if how == "set":
                assert sent[-2:] == [("INSERT", False), ("UPDATE", False)]  # one statement each
            stored.append(_stored(conn))
    assert stored[0] == stored[1]
    assert stored[0][1][4:] == (Decimal("1.51"), "m1")
    engine.dispose()


@pytest.mark.postgres
def test_the_set_forms_refuse_what_a_row_at_a_time_refuses(postgres_url: str) -> None:
    """A name too long for its column is refused, not cut short (an explicit cast to
    varchar(20) would cut it); a key given twice in an update keeps the row order."""
    engine = _things_on(postgres_url)
    with pytest.raises(DataError, match="too long"), engine.begin() as conn:
        execute_many(conn, ("i",), rows_insert(things), [{"id": 1, "name": "x" * 21}] * 2)
    with pytest.raises(IntegrityError), engine.begin() as conn:
        execute_many(conn, ("i",), rows_insert(things), [{"id": 1, "name": "a"}] * 2)
    with engine.begin() as conn:
        execute_many(
            conn, ("i",), rows_insert(things), [{"id": 1, "name": "a"}, {"id": 2, "name": None}]
        )
        update = keyed_update(things, ("name",), ("id",))
        twice = [{"key_id": 1, "name": "first"}, {"key_id": 1, "name": "last"}]
        assert execute_many(conn, ("u",), update, twice) == 2
        with pytest.raises(DataError, match="too long"), conn.begin_nested():
            execute_many(conn, ("u",), update, [{"key_id": 2, "name": "y" * 21}] * 2)
        assert conn.execute(select(things.c.name).order_by(things.c.id)).scalars().all() == [
            "last",
            None,
        ]
        # An aware time is converted to the session's zone one row at a time: so it is here.
        aware = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
        conn.execute(text("SET LOCAL TIME ZONE 'America/New_York'"))
        two = [{"id": 5, "moment": aware}, {"id": 6, "moment": aware}]
        execute_many(conn, ("i",), rows_insert(things), two)
        conn.execute(insert(things), {"id": 7, "moment": aware})
        moments = select(things.c.moment).where(things.c.id >= 5)
        assert set(conn.execute(moments).scalars()) == {datetime(2024, 3, 1, 4, 0)}
    engine.dispose()


def test_compact_json_matches_the_standard_library() -> None:
    def default(value: Any) -> Any:
        if isinstance(value, Decimal):
            return format(value, "f")
        if isinstance(value, set | frozenset):
            return sorted(value)
        raise TypeError(type(value).__name__)

    value = {
        "ImisId": "101",
        "Name": 'Zoë "Q" O\'Brien\n',
        "BirthDate": date(1970, 1, 2),
        "UpdatedOn": datetime(2024, 5, 6, 7, 8, 9),
        "At": datetime(2024, 5, 6, 7, 8, 9, 123, tzinfo=UTC),
        "Dues": Decimal("12.50"),
        "Groups": ("A", "B"),
        "Tags": {"x"},
        "Count": 3,
        "Ratio": 0.25,
        "None": None,
    }
    expected = json.dumps(
        value,
        default=lambda v: v.isoformat() if isinstance(v, date) else default(v),
        ensure_ascii=False,
        separators=(",", ":"),
    )
    assert jsontext.dumps(value, default=default) == expected
    # What orjson refuses still comes out, as the standard library writes it.
    assert jsontext.dumps({1: 2**70}, default=default) == '{"1":1180591620717411303424}'


def test_the_collector_is_paused_and_resumed_once_every_pause_is_over() -> None:
    assert gc.isenabled()
    entered, release = threading.Event(), threading.Event()

    def other() -> None:
        with gc_paused():
            entered.set()
            release.wait(5)

    thread = threading.Thread(target=other)
    with gc_paused():
        assert not gc.isenabled()
        thread.start()
        entered.wait(5)
    assert not gc.isenabled()  # the other run is still in its batch
    release.set()
    thread.join(5)
    assert gc.isenabled()


def test_overlapping_pauses_still_collect_now_and_then(monkeypatch: pytest.MonkeyPatch) -> None:
    import idms.gcpause as pause

    monkeypatch.setattr(pause, "COLLECT_EVERY", 0.0)
    collected: list[int] = []
    monkeypatch.setattr(pause.gc, "collect", lambda *a: collected.append(1) or 0)
    with gc_paused():
        with gc_paused():
            pass
        assert collected == [1]  # the inner pause ended while the outer one went on
        assert not gc.isenabled()
    assert gc.isenabled()


def test_the_start_up_pause_ends_by_itself() -> None:
    from idms.gcpause import pause_startup

    assert gc.isenabled()
    pause_startup(seconds=0.05)
    assert not gc.isenabled()
    deadline = time.monotonic() + 10
    while not gc.isenabled() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert gc.isenabled()


def test_the_first_batch_ends_the_start_up_pause() -> None:
    from idms.gcpause import pause_startup, resume_after_startup

    pause_startup(seconds=60)
    try:
        with gc_paused():
            assert not gc.isenabled()
        assert gc.isenabled()  # the batch is over, so is start-up
        gc.disable()
        resume_after_startup()  # the pause is over already: leaves the collector alone
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_process_forked_during_the_start_up_pause_collects() -> None:
    from idms.gcpause import pause_startup, resume_after_startup

    pause_startup(seconds=60)
    try:
        pid = os.fork()
        if pid == 0:  # the child: its timer thread did not come along
            os._exit(0 if gc.isenabled() else 1)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert not gc.isenabled()  # the parent's pause goes on, to its timer
    finally:
        resume_after_startup()
    assert gc.isenabled()


def test_the_command_line_starts_with_the_collector_paused() -> None:
    probe = "import gc, idms.cli; print(gc.isenabled())"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_columns_every_row_leaves_empty_are_left_out_of_an_insert_yet_stored_null(
    database_url: str,
) -> None:
    """An insert leaves out a column that every row of the batch leaves None and that has no
    default (the database binds and checks fewer values); a column with a default of its own,
    or one a row gives, is still sent, so what is stored is what one row at a time stores."""
    meta = MetaData()
    notes = Table(
        "notes",
        meta,
        Column("id", Integer, primary_key=True),
        Column("body", String(20)),
        Column("note", String(20)),
        Column("kind", String(5), server_default="x"),
        Column("level", Integer, default=5),
    )
    engine = make_engine(database_url)
    meta.create_all(engine)
    sent: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: sent.append(a[2]))
    empty = [{"id": i, "body": f"b{i}", "note": None, "kind": None, "level": None} for i in (1, 2)]
    mixed = [{"id": i, "body": None, "note": n, "kind": None, "level": None} for i, n in
             ((3, None), (4, "given"))]  # fmt: skip
    with engine.begin() as conn:
        for rows, left_out in ((empty, "note"), (mixed, "body")):
            assert execute_many(conn, ("insert", "notes"), rows_insert(notes), rows) == 2
            named = sent[-1].split("(", 1)[1].split(")", 1)[0]  # INSERT INTO notes (...) ...
            columns = {c.strip().strip('"') for c in named.split(",")}
            assert left_out not in columns
            assert {"id", "kind", "level"} <= columns
        stored = conn.execute(text("SELECT id, body, note, kind, level FROM notes ORDER BY id"))
        assert [tuple(r) for r in stored] == [
            (1, "b1", None, None, None),
            (2, "b2", None, None, None),
            (3, None, None, None, None),
            (4, None, "given", None, None),
        ]
    engine.dispose()
