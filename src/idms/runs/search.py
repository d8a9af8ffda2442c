"""Finding runs: the run history filtered (status, kind, dates, who started it) and paged by
keyset, and the runs of the last days counted per day and outcome (the dashboard's chart).

Keyset paging: a page ends with the (created_at, id) of its last run, and the next page asks
for the runs before it. Each page is then one indexed range read, as fast on the 500th page of
10,000 runs as on the first (an OFFSET would read and drop every run before the page).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import Engine, and_, func, or_, select
from sqlalchemy.orm import Session

from idms.errors import InvalidInputError
from idms.paging import check_window
from idms.runs.record import RunInfo, _info
from idms.runs.status import RunStatus
from idms.state.models import Run

# A status filter may name a group of statuses: the runs that went wrong.
STATUS_GROUPS: dict[str, tuple[str, ...]] = {
    "problems": (RunStatus.FAILED.value, RunStatus.COMPLETED_WITH_ERRORS.value),
}
SUCCEEDED = frozenset({RunStatus.SUCCEEDED.value})
FAILED = frozenset({RunStatus.FAILED.value, RunStatus.COMPLETED_WITH_ERRORS.value})
MAX_PAGE = 500
FOREIGN_CURSOR = "That page of runs is not one iDMS made: start again from the newest runs."


@dataclass(frozen=True)
class RunFilter:
    """Which runs: every given condition holds (None: any). ``since`` and ``until`` are
    days in ``zone`` (the server's own by default), both included."""

    status: str | None = None  # a status, or a group (STATUS_GROUPS)
    kind: str | None = None
    started_by: str | None = None
    since: date | None = None
    until: date | None = None
    zone: tzinfo | None = None

    def statuses(self) -> tuple[str, ...] | None:
        if not self.status:
            return None
        if self.status in STATUS_GROUPS:
            return STATUS_GROUPS[self.status]
        known = {s.value for s in RunStatus}
        if self.status not in known:
            raise InvalidInputError(
                f"There is no run status '{self.status}'; the statuses are "
                f"{', '.join(sorted(known))}."
            )
        return (self.status,)

    def conditions(self) -> list[Any]:
        found: list[Any] = []
        statuses = self.statuses()
        if statuses is not None:
            found.append(Run.status.in_(statuses))
        if self.kind:
            found.append(Run.kind == self.kind)
        if self.started_by:
            found.append(Run.started_by == self.started_by)
        if self.since is not None:
            found.append(Run.created_at >= _start_of(self.since, self.zone))
        if self.until is not None:
            found.append(Run.created_at < _start_of(self.until + timedelta(days=1), self.zone))
        return found


@dataclass(frozen=True)
class Cursor:
    """Where a page ends: the creation time and ID of its last run (as text in a URL)."""

    created_at: datetime
    run_id: str

    def text(self) -> str:
        return f"{self.created_at.isoformat()}~{self.run_id}"

    @classmethod
    def parse(cls, text: str) -> Cursor:
        moment, _, run_id = text.partition("~")
        try:
            created = datetime.fromisoformat(moment)
        except ValueError:
            raise InvalidInputError(
                "That page of runs is not one iDMS made: start again."
            ) from None
        if not run_id or created.tzinfo is None:
            raise InvalidInputError("That page of runs is not one iDMS made: start again.")
        return cls(created, run_id)


@dataclass
class RunPage:
    runs: list[RunInfo]
    total: int  # how many runs the filter matches, on every page
    next: Cursor | None  # where the next (older) page starts; None on the last page


@dataclass(frozen=True)
class DayCounts:
    day: date
    succeeded: int = 0
    failed: int = 0  # failed or completed with errors
    other: int = 0  # queued, running, cancelled, planned

    @property
    def total(self) -> int:
        return self.succeeded + self.failed + self.other


@dataclass
class RunSearch:
    """Queries over the run history of one suite database."""

    engine: Engine
    zone: tzinfo | None = field(default=None)

    def page(self, where: RunFilter, *, after: Cursor | None = None, limit: int = 50) -> RunPage:
        """The runs ``where`` selects, newest first: ``limit`` of them, after ``after``."""
        check_window(limit=limit)
        limit = min(limit, MAX_PAGE)
        conditions = where.conditions()
        stmt = select(Run).where(*conditions)
        if after is not None:
            stmt = stmt.where(
                or_(
                    Run.created_at < after.created_at,
                    and_(Run.created_at == after.created_at, Run.id < after.run_id),
                )
            )
        stmt = stmt.order_by(Run.created_at.desc(), Run.id.desc()).limit(limit + 1)
        with Session(self.engine) as session:
            found = list(session.scalars(stmt))
            total = int(
                session.scalar(select(func.count()).select_from(Run).where(*conditions)) or 0
            )
        more = len(found) > limit
        runs = [_info(r) for r in found[:limit]]
        last = runs[-1] if more and runs else None
        return RunPage(runs, total, Cursor(last.created_at, last.id) if last else None)

    def starters(self) -> list[str]:
        """Everyone who started a run, sorted (the runs page's choice of who)."""
        with self.engine.connect() as conn:
            found = conn.execute(
                select(Run.started_by).where(Run.started_by.is_not(None)).distinct()
            ).scalars()
            return sorted(str(s) for s in found)

    def kinds(self) -> list[str]:
        with self.engine.connect() as conn:
            return sorted(str(k) for k in conn.execute(select(Run.kind).distinct()).scalars())

    def by_day(self, days: int, *, today: date | None = None) -> list[DayCounts]:
        """The runs of the last ``days`` days (today included), counted per day in the zone
        and per outcome: succeeded, failed (or completed with errors), other."""
        zone = self.zone
        if today is None:
            today = _local(datetime.now(UTC), zone).date()
        first = today - timedelta(days=days - 1)
        counts: dict[date, list[int]] = {first + timedelta(days=i): [0, 0, 0] for i in range(days)}
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(Run.created_at, Run.status).where(Run.created_at >= _start_of(first, zone))
            )
            for created, status in rows:
                day = _local(created, zone).date()
                slot = counts.get(day)
                if slot is None:
                    continue
                slot[0 if status in SUCCEEDED else 1 if status in FAILED else 2] += 1
        return [DayCounts(d, *c) for d, c in counts.items()]


def _local(moment: datetime, zone: tzinfo | None) -> datetime:
    if moment.tzinfo is None:  # SQLite gives back naive UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone)


def _start_of(day: date, zone: tzinfo | None) -> datetime:
    """The first moment of ``day`` in ``zone`` (the server's own when None), in UTC."""
    local = datetime.combine(day, time())
    aware = local.replace(tzinfo=zone) if zone is not None else local.astimezone()
    return aware.astimezone(UTC)


def parse_day(text: str | None, what: str) -> date | None:
    """A date typed in a form (YYYY-MM-DD), or None when blank."""
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInputError(
            f"The {what} date '{text}' is not a date like 2026-12-31."
        ) from None
