"""Sign-in throttling: failed sign-ins counted per name and per client address, and a growing
delay once a count passes its limit.

After :data:`NAME_LIMIT` failures for one name (or :data:`ADDRESS_LIMIT` from one address) the
name (or address) is refused for :data:`FIRST_DELAY`, doubled at each further failure up to
:data:`LONGEST_DELAY`. A success clears its name's count (not its address's: one good account
must not let an address go on guessing others). Counts untouched for :data:`FORGET_AFTER`
start again from nothing. A name is counted whether or not an account has it, so the delay
says nothing about which names exist.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, insert, select, update

from idms.state.models import NAME_LENGTH, SignInThrottle, utcnow

NAME_LIMIT = 5
ADDRESS_LIMIT = 20
FIRST_DELAY = timedelta(seconds=30)
LONGEST_DELAY = timedelta(hours=1)
FORGET_AFTER = timedelta(hours=24)


def name_key(folded_name: str) -> str:
    return f"name:{folded_name[:NAME_LENGTH]}"


def address_key(address: str) -> str:
    return f"address:{address[:NAME_LENGTH]}"


def _limit(key: str) -> int:
    return ADDRESS_LIMIT if key.startswith("address:") else NAME_LIMIT


def delay_after(failures: int, limit: int) -> timedelta:
    """How long a key is refused after its ``failures``-th failure (nothing below ``limit``)."""
    if failures < limit:
        return timedelta(0)
    return min(FIRST_DELAY * (1 << min(failures - limit, 20)), LONGEST_DELAY)


def wait_left(conn: Connection, keys: Sequence[str], now: datetime | None = None) -> int:
    """Seconds until every one of ``keys`` may try again (0: they may now)."""
    now = now or utcnow()
    rows = conn.execute(
        select(SignInThrottle.locked_until).where(SignInThrottle.key.in_(list(keys)))
    ).scalars()
    left = max((u - now for u in rows if u is not None and u > now), default=timedelta(0))
    return math.ceil(left.total_seconds())


def record_failure(conn: Connection, keys: Sequence[str], now: datetime | None = None) -> None:
    """Count a failed sign-in against each of ``keys`` (the caller's transaction commits)."""
    now = now or utcnow()
    for key in keys:
        row = conn.execute(
            select(SignInThrottle.failures, SignInThrottle.updated_at).where(
                SignInThrottle.key == key
            )
        ).first()
        failures = 1
        if row is not None and now - row.updated_at < FORGET_AFTER:
            failures = row.failures + 1
        wait = delay_after(failures, _limit(key))
        values = {
            "failures": failures,
            "locked_until": now + wait if wait else None,
            "updated_at": now,
        }
        if row is None:
            conn.execute(insert(SignInThrottle).values(key=key, **values))
        else:
            conn.execute(update(SignInThrottle).where(SignInThrottle.key == key).values(**values))


def clear(conn: Connection, key: str) -> None:
    conn.execute(delete(SignInThrottle).where(SignInThrottle.key == key))


def forget_old(conn: Connection, now: datetime | None = None) -> int:
    """Drop the counts no one has added to for a while and that lock nothing."""
    now = now or utcnow()
    done = conn.execute(
        delete(SignInThrottle).where(
            SignInThrottle.updated_at < now - max(FORGET_AFTER, LONGEST_DELAY)
        )
    )
    return done.rowcount or 0
