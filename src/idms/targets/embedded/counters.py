"""The store's counters: iMIS IDs, SEQNs, ordinals and other system-assigned numbers.

A counter is bumped with one ``UPDATE ... RETURNING`` for a whole batch, which locks its row until
the transaction ends, so concurrent writers never receive the same number.
"""

from __future__ import annotations

from sqlalchemy import Connection, insert, update

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
