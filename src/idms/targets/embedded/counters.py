"""The store's counters: iMIS IDs, SEQNs, ordinals and other system-assigned numbers.

A counter is bumped with one ``UPDATE ... RETURNING`` for a whole batch, which locks its row until
the transaction ends, so concurrent writers never receive the same number.
"""

from __future__ import annotations

from sqlalchemy import Connection, insert, select, update

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
    stmt = (
        update(counters)
        .where(counters.c.name == name)
        .values(value=counters.c.value + count)
        .returning(counters.c.value)
    )
    new_value = conn.execute(stmt).scalar()
    if new_value is None:
        conn.execute(insert(counters).values(name=name, value=count))
        new_value = count
    return range(new_value - count + 1, new_value + 1)


def current(conn: Connection, name: str) -> int:
    value = conn.execute(select(counters.c.value).where(counters.c.name == name)).scalar()
    return int(value or 0)


def raise_to(conn: Connection, name: str, at_least: int) -> None:
    """Make sure the counter is not below ``at_least`` (after IDs were supplied by hand)."""
    if current(conn, name) >= at_least:
        return
    allocate(conn, name, at_least - current(conn, name))
