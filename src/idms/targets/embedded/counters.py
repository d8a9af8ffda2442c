"""The store's counters: iMIS IDs, SEQNs, ordinals and other system-assigned numbers.

A counter is bumped with one ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` for a whole batch,
which locks its row until the transaction ends, so concurrent writers never receive the same
number, and two writers drawing from a counter used for the first time do not both create it.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Connection, Integer, bindparam

from idms.targets.embedded.schema import counters

CONTACT_ID = "LAST_CONTACT_ID"  # iMIS's "Last contact ID" system counter
SEQN = "ACTIVITY_SEQN"
REGISTRATION = "EVENT_REGISTRATION_ID"
GIFT = "GIFT_ID"


def panel_counter(panel_name: str) -> str:
    return f"PANEL_ORDINAL_{panel_name.upper()}"


def allocate(conn: Connection, name: str, count: int) -> range:
    """Reserve ``count`` consecutive numbers from counter ``name`` (created at 0 if new)."""
    if count <= 0:
        return range(0)
    stmt = _bump_statement(conn.dialect.name)
    new_value = int(conn.execute(stmt, {"counter": name, "count": count}).scalar_one())
    return range(new_value - count + 1, new_value + 1)


@cache
def _bump_statement(dialect_name: str) -> Any:
    """``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` with bound name and count, built once
    per dialect: building it on every call cost six times what running it does."""
    # The dialect's own INSERT (for ON CONFLICT), imported on use: a SQLite store never loads
    # the PostgreSQL dialect, whose import every command would otherwise pay.
    if dialect_name == "postgresql":
        from sqlalchemy.dialects import postgresql as dialect
    else:
        from sqlalchemy.dialects import sqlite as dialect  # type: ignore[no-redef]
    count = bindparam("count", type_=Integer)
    new = dialect.insert(counters).values(name=bindparam("counter"), value=count)
    return new.on_conflict_do_update(
        index_elements=[counters.c.name], set_={"value": counters.c.value + count}
    ).returning(counters.c.value)
