"""The driver-speed executemany (``idms.bulk``) stores exactly what SQLAlchemy would."""

from __future__ import annotations

import gc
import json
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
    Date,
    DateTime,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    insert,
    select,
    text,
)

from idms import jsontext
from idms.bulk import execute_many
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


def test_the_command_line_starts_with_the_collector_paused() -> None:
    probe = "import gc, idms.cli; print(gc.isenabled())"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
