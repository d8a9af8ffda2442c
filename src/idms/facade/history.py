"""The run history part of the facade: finding runs (filtered, paged), counting them per day,
reading one run's rows a page at a time, and what a run allows next (cancel, resume, undo).

The web UI's runs pages call these; the queries themselves live in :mod:`idms.runs.search`
and :class:`idms.runs.record.RunStore`, the rules of each action in ``workspace.py``
(``cancel``, ``requeue``, ``undo``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, tzinfo

from idms.facade.base import WorkspaceBase
from idms.runs.record import RunInfo
from idms.runs.rows import RowResult
from idms.runs.search import Cursor, DayCounts, RunFilter, RunPage, RunSearch
from idms.runs.status import JOB_KINDS, Outcome, RunKind, RunStatus


@dataclass(frozen=True)
class RunActions:
    """What can be done with a run as it stands (an editor's buttons)."""

    cancel: bool  # queued or running
    resume: bool  # running, resumable (its process may have died: the server says)
    undo: bool  # ended, wrote something, not undone yet
    failed_rows: bool  # a job run with failed rows to download


@dataclass
class RowsPage:
    rows: list[RowResult]
    total: int  # how many rows the outcome filter matches
    offset: int
    limit: int


class HistoryFacade(WorkspaceBase):
    """The run history (a part of :class:`idms.workspace.Workspace`)."""

    def run_search(self, zone: tzinfo | None = None) -> RunSearch:
        return RunSearch(self.suite, zone)

    def find_runs(self, where: RunFilter, *, after: str | None = None, limit: int = 50) -> RunPage:
        """The runs ``where`` selects, newest first, ``limit`` at a time; ``after`` is the
        ``next`` of the page before (its text), for the next, older page."""
        cursor = Cursor.parse(after) if after else None
        return self.run_search(where.zone).page(where, after=cursor, limit=limit)

    def run_starters(self) -> list[str]:
        """Who has started runs (``user:ann``, ``token:zapier``...), sorted."""
        return self.run_search().starters()

    def run_kinds(self) -> list[str]:
        return self.run_search().kinds()

    def runs_by_day(
        self, days: int = 30, *, zone: tzinfo | None = None, today: date | None = None
    ) -> list[DayCounts]:
        """The runs of the last ``days`` days, per day: succeeded, failed, other."""
        return self.run_search(zone).by_day(days, today=today)

    def run_rows_page(
        self, run_ref: str, *, outcome: str | None = None, offset: int = 0, limit: int = 50
    ) -> RowsPage:
        """One page of a run's rows in input order (only those with ``outcome`` if given),
        with how many there are (from the run's counts: no count query)."""
        info = self.runs.get(run_ref)
        wanted = [Outcome(outcome).value] if outcome else None
        keys = wanted or [o.value for o in Outcome]
        total = sum(info.counts[Outcome(k).count_key] for k in keys)
        rows = list(self.runs.rows(info.id, outcomes=wanted, offset=offset, limit=limit))
        return RowsPage(rows, total, offset, limit)

    def rows_to_do(self, info: RunInfo) -> int | None:
        """How many rows ``info`` has once it has ended, when that is known before: an undo's
        (one for each row its run inserted, updated or deleted), for the page following it to
        say how far it is; None for other runs (their input is read as they go)."""
        if info.kind != RunKind.UNDO or info.undo_of is None:
            return None
        counts = self.runs.get(info.undo_of).counts
        return sum(
            counts[o.count_key] for o in (Outcome.INSERTED, Outcome.UPDATED, Outcome.DELETED)
        )

    @staticmethod
    def run_actions(info: RunInfo) -> RunActions:
        """What ``info`` allows now (the facade's ``cancel``, ``requeue`` and ``undo`` check
        again, and refuse with the reason, when it changed meanwhile)."""
        return RunActions(
            cancel=not info.finished,
            resume=info.status == RunStatus.RUNNING and info.sealed_job is not None,
            undo=info.undoable,
            failed_rows=info.kind in JOB_KINDS and info.counts["errors"] > 0,
        )
