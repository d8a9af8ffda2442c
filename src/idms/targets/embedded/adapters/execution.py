"""Writing a planned batch: runs of same-kind changes, one executemany per statement shape.

If the database still refuses something, the run is replayed one change at a time inside
savepoints, so one bad row never sinks its neighbours; the refusal becomes that row's error.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Executable
from sqlalchemy.exc import DBAPIError, IntegrityError

from idms.bulk import execute_many
from idms.targets.base import Change, Record, RowError
from idms.targets.embedded.statistics import count_written


@dataclass(slots=True)
class Write:
    """One statement execution; writes with the same ``shape`` run together as executemany."""

    phase: int
    shape: tuple[Any, ...]
    statement: Executable
    params: dict[str, Any]


@dataclass(slots=True)
class PlannedChange:
    index: int
    change: Change
    identity: tuple[Any, ...] | None
    before: Record | None
    after: Record | None
    writes: list[Write]


def execute_segment(conn: Connection, segment: list[PlannedChange]) -> dict[int, RowError]:
    """Run a segment's writes grouped by shape; on refusal, one change at a time."""
    try:
        with conn.begin_nested():
            _run_grouped(conn, [w for p in segment for w in p.writes])
        return {}
    except (IntegrityError, DBAPIError):
        pass
    failed: dict[int, RowError] = {}
    for plan in segment:
        try:
            with conn.begin_nested():
                _run_grouped(conn, plan.writes)
        except (IntegrityError, DBAPIError) as exc:
            failed[plan.index] = RowError("rejected_by_store", _db_message(exc))
    return failed


def segments(planned: list[PlannedChange]) -> Iterator[list[PlannedChange]]:
    """Runs of same-kind changes, cut where a record appears again (its order matters)."""
    segment: list[PlannedChange] = []
    seen: set[tuple[Any, ...]] = set()
    for plan in planned:
        key = plan.identity
        if segment and (
            plan.change.kind is not segment[-1].change.kind or (key is not None and key in seen)
        ):
            yield segment
            segment, seen = [], set()
        segment.append(plan)
        if key is not None:
            seen.add(key)
    if segment:
        yield segment


def _run_grouped(conn: Connection, writes: list[Write]) -> None:
    """Phase by phase, one executemany per shape, shapes in the order they first appear."""
    groups: dict[tuple[int, tuple[Any, ...]], list[Write]] = {}
    for w in writes:
        key = (w.phase, w.shape)
        group = groups.get(key)
        if group is None:
            groups[key] = [w]
        else:
            group.append(w)
    for (_, shape), group in sorted(groups.items(), key=_phase_of):  # a stable sort
        statement = group[0].statement
        execute_many(conn, shape, statement, [w.params for w in group])
        table = getattr(statement, "table", None)
        if table is not None:
            count_written(conn, table.name, len(group))


def _phase_of(item: tuple[tuple[int, tuple[Any, ...]], list[Write]]) -> int:
    return item[0][0]


def _db_message(exc: DBAPIError) -> str:
    text = str(exc.orig) if exc.orig is not None else str(exc)
    first = text.strip().splitlines()[0] if text.strip() else "refused"
    if isinstance(exc, IntegrityError):
        return f"The store refused the record: it conflicts with an existing one ({first})."
    return f"The store refused the record ({first})."
