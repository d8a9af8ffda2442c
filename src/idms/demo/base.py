"""What the demo's stages share: the generator state, progress, bulk inserts, small helpers."""

from __future__ import annotations

import random
import re
import unicodedata
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from faker import Faker
from sqlalchemy import Connection, Table, select

from idms.demo.reference import FOREIGN, STATE_WEIGHTS
from idms.demo.summary import DemoSummary
from idms.targets.embedded import counters

Progress = Callable[[str, int, int], None]
Row = dict[str, Any]

CHUNK = 5000


class Stage:
    """Progress of one stage: ``done`` goes up from 0 to ``total`` in a few dozen steps."""

    def __init__(self, report: Progress | None, name: str, total: int) -> None:
        self.report = report
        self.name = name
        self.total = total
        self.done = 0
        self.shown = 0
        self.step = max(1, total // 50)
        if report is not None:
            report(name, 0, total)

    def advance(self, n: int = 1) -> None:
        self.done += n
        if self.done < self.total and self.done - self.shown >= self.step:
            self._show(self.done)

    def finish(self) -> None:
        if self.shown < self.total:
            self._show(self.total)

    def _show(self, done: int) -> None:
        self.shown = done
        if self.report is not None:
            self.report(self.name, done, self.total)


class Bulk:
    """Rows for one table, inserted ``CHUNK`` at a time; missing columns get their defaults.

    With ``counter``, the ``key`` column of each row is numbered from that store counter.
    """

    def __init__(
        self, conn: Connection, table: Table, counter: str | None = None, key: str = ""
    ) -> None:
        self.conn = conn
        self.table = table
        self.counter = counter
        self.key = key
        auto = table.autoincrement_column
        self.blank: Row = {
            c.name: getattr(c.default, "arg", None)
            for c in table.c
            if auto is None or c.name != auto.name
        }
        self.rows: list[Row] = []
        self.count = 0

    def add(self, row: Row) -> None:
        self.rows.append(row)
        if len(self.rows) >= CHUNK:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        if self.counter is not None:
            numbers = counters.allocate(self.conn, self.counter, len(self.rows))
            for row, number in zip(self.rows, numbers, strict=True):
                row[self.key] = number
        self.conn.execute(self.table.insert(), [{**self.blank, **row} for row in self.rows])
        self.count += len(self.rows)
        self.rows = []


def insert_new(conn: Connection, table: Table, keys: Sequence[str], rows: list[Row]) -> int:
    """Insert the rows whose key is not in the table yet; how many were inserted."""
    taken = {tuple(r) for r in conn.execute(select(*[table.c[k] for k in keys]))}
    fresh = [r for r in rows if tuple(r[k] for k in keys) not in taken]
    if fresh:
        bulk = Bulk(conn, table)
        for row in fresh:
            bulk.add(row)
        bulk.flush()
    return len(fresh)


def plain_ascii(text: str) -> str:
    """Lower-case letters and digits only (for e-mail addresses, usernames and domains)."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", folded.lower())


def money(value: float | int | str) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


@dataclass(slots=True)
class Contact:
    imis_id: str
    is_org: bool
    name: str
    first: str
    last: str
    email: str | None
    member_type: str
    status: str
    chapter: str | None
    org_id: str | None
    join_date: date | None
    created_on: datetime
    country: str
    state: str | None
    title: str | None = None
    home_phone: str | None = None
    work_phone: str | None = None
    domain: str | None = None
    address: Row | None = None


class Demo:
    """What every stage shares: the store connection, the seeded random sources, the contacts made
    so far, and small random helpers. Each stage (a ``make_*`` function of its domain's module)
    draws from ``rng`` in a fixed order, so the same seed gives the same data."""

    def __init__(
        self,
        conn: Connection,
        n: int,
        seed: int,
        progress: Progress | None,
        summary: DemoSummary,
        panels: set[str],
    ) -> None:
        self.conn = conn
        self.n = n
        self.progress = progress
        self.summary = summary
        self.panels = panels
        self.rng = random.Random(seed)  # nosec B311 # repeatable demo data, not a secret
        self.fake = self._faker("en_US", seed)
        self.foreign = {
            country: self._faker(locale, seed + i + 1)
            for i, (country, (locale, _)) in enumerate(FOREIGN.items())
        }
        self.now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
        self.today = self.now.date()
        self.contacts: list[Contact] = []
        self.persons: list[Contact] = []
        self.orgs: list[Contact] = []
        self.orgs_by_id: dict[str, Contact] = {}
        self.domains: set[str] = set()
        self.emails: set[str] = set()
        self.states = list(STATE_WEIGHTS)
        self.state_weights = list(STATE_WEIGHTS.values())

    @staticmethod
    def _faker(locale: str, seed: int) -> Faker:
        fake = Faker(locale)
        fake.seed_instance(seed)
        return fake

    def stage(self, name: str, total: int) -> Stage:
        return Stage(self.progress, name, total)

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def pick(self, weights: dict[str, float] | dict[str, int]) -> str:
        return self.rng.choices(list(weights), list(weights.values()))[0]

    def days_ago(self, low: int, high: int) -> date:
        return self.today - timedelta(days=self.rng.randint(low, high))

    def moment(self, day: date) -> datetime:
        """A time during office hours on ``day``, never later than now."""
        seconds = self.rng.randint(7 * 3600, 19 * 3600)
        return min(datetime.combine(day, time()) + timedelta(seconds=seconds), self.now)

    def later(self, start: datetime) -> datetime:
        span = max(0, int((self.now - start).total_seconds()))
        return start + timedelta(seconds=int(span * self.rng.random() ** 2))

    def phone(self) -> str:
        rng = self.rng
        return f"({rng.randint(201, 989)}) {rng.randint(200, 999)}-{rng.randint(0, 9999):04d}"

    def contact_key(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4)).upper()

    def unique_email(self, local: str, domain: str) -> str:
        local = local or "member"
        email = f"{local}@{domain}"
        n = 1
        while email in self.emails:
            n += 1
            email = f"{local}{n}@{domain}"
        self.emails.add(email)
        return email

    def paid_through(self, member_type: str, status: str) -> date | None:
        if member_type in ("NM", "LIFE"):
            return None
        year = self.today.year
        if status == "A":
            return date(year + self.rng.choice((0, 0, 1)), 12, 31)
        return date(year - self.rng.randint(1, 4), 12, 31)
