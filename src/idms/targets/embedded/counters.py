"""The store's counters: iMIS IDs, SEQNs, ordinals and other system-assigned numbers.

A counter is bumped with one ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` for a whole batch,
which locks its row until the transaction ends, so concurrent writers never receive the same
number, and two writers drawing from a counter used for the first time do not both create it.
"""

from __future__ import annotations

from sqlalchemy import Connection

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
    # The dialect's own INSERT (for ON CONFLICT), imported on use: a SQLite store never loads
    # the PostgreSQL dialect, whose import every command would otherwise pay.
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql as dialect
    else:
        from sqlalchemy.dialects import sqlite as dialect  # type: ignore[no-redef]
    new = dialect.insert(counters).values(name=name, value=count)
    stmt = new.on_conflict_do_update(
        index_elements=[counters.c.name], set_={"value": counters.c.value + count}
    ).returning(counters.c.value)
    new_value = int(conn.execute(stmt).scalar_one())
    return range(new_value - count + 1, new_value + 1)
