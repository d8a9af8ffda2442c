"""Executing one statement for many rows at driver speed.

SQLAlchemy's ``execute(stmt, [dict, ...])`` builds every row's parameters through the compiler,
which costs more than the database's own work for a simple insert. Here a statement shape is
compiled once per dialect, each column's bind processor (dates, booleans, decimals) is applied in
one pass, and the rows go to the driver's ``executemany``. Statements whose parameters do not
cover every bind fall back to the ordinary path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import Boolean, Connection, Date, DateTime, Executable
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.compiler import Compiled
from sqlalchemy.types import TypeEngine

_Plan = tuple[str, tuple[str, ...] | None, list[tuple[str, Callable[[Any], Any] | None]]]
_cache: dict[tuple[Any, ...], _Plan | None] = {}


def _plan(conn: Connection, statement: Executable, keys: tuple[str, ...]) -> _Plan | None:
    dialect = conn.dialect
    compiled: Compiled = statement.compile(dialect=dialect, column_keys=list(keys))  # type: ignore[attr-defined]
    binds = compiled.binds  # type: ignore[attr-defined]
    if set(binds) != set(keys):
        return None  # literal values or missing parameters: let SQLAlchemy handle it
    order: tuple[str, ...] | None = None
    if dialect.positional:
        order = tuple(compiled.positiontup or ())  # type: ignore[attr-defined]
        names = list(order)
    else:
        names = sorted(binds)
    processors = [
        (name, _processor(binds[name].type.dialect_impl(dialect), dialect)) for name in names
    ]
    return str(compiled), order, processors


_SAMPLES: dict[type, tuple[Any, ...]] = {
    date: (date(2001, 2, 3), date(1, 1, 1)),
    datetime: (datetime(2001, 2, 3, 4, 5, 6), datetime(2001, 2, 3, 4, 5, 6, 7)),
    bool: (True, False),
}


def _processor(impl: TypeEngine[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    """The column type's bind processor, with a fast path for the everyday value types.

    SQLite's date and time processors format through ``%`` with a dict of fields, several times
    slower than ``isoformat``; a boolean is 1 or 0. Each fast path is used only
    if it gives exactly what the processor gives on sample values; anything else (None, strings,
    aware datetimes) still goes through the processor.
    """
    slow = impl.bind_processor(dialect)
    if slow is None:
        return None
    fast: Callable[[Any], Any] | None = None
    kind: type | None = None
    if isinstance(impl, DateTime):
        kind = datetime

        def fast(v: Any) -> Any:
            if type(v) is datetime and v.tzinfo is None:
                return v.isoformat(" ", "microseconds")
            return slow(v)

    elif isinstance(impl, Date):
        kind = date

        def fast(v: Any) -> Any:
            return v.isoformat() if type(v) is date else slow(v)

    elif isinstance(impl, Boolean):
        kind = bool

        def fast(v: Any) -> Any:
            return 1 if v is True else 0 if v is False else slow(v)

    if fast is None or kind is None:
        return slow
    samples = _SAMPLES[kind]
    if all(fast(v) == slow(v) and type(fast(v)) is type(slow(v)) for v in samples):
        return fast
    return slow


def execute_many(
    conn: Connection, shape: tuple[Any, ...], statement: Executable, rows: Sequence[dict[str, Any]]
) -> int:
    """Run ``statement`` once per row of ``rows`` (all with the same keys); the number of rows
    the database says it touched."""
    if len(rows) < 2:
        return int(conn.execute(statement, rows[0] if rows else {}).rowcount)
    keys = tuple(sorted(rows[0]))
    cache_key = (conn.dialect.name, shape, keys)
    if cache_key not in _cache:
        _cache[cache_key] = _plan(conn, statement, keys)
    plan = _cache[cache_key]
    if plan is None:
        return int(conn.execute(statement, list(rows)).rowcount)
    sql, order, processors = plan
    names = [name for name, _ in processors]
    converting = [(i, p) for i, (_, p) in enumerate(processors) if p is not None]
    pick = itemgetter(*names)
    params: list[Any] = []
    for row in rows:
        picked = pick(row)
        values = list(picked) if len(names) > 1 else [picked]
        for i, convert in converting:
            values[i] = convert(values[i])
        params.append(tuple(values) if order is not None else dict(zip(names, values, strict=True)))
    return int(conn.exec_driver_sql(sql, params).rowcount)
