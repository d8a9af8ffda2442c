"""The closed vocabulary of runs: their kinds, statuses and row outcomes, and the counts.

Every module speaks of a run's state through these values; a status is never spelled as a
string elsewhere. ``TERMINAL`` holds the statuses a run never leaves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from idms.errors import EXIT_FAILED, EXIT_OK, EXIT_ROW_ERRORS


class Outcome(StrEnum):
    """What happened to one input row: every row ends with exactly one."""

    INSERTED = "inserted"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    DELETED = "deleted"
    SKIPPED = "skipped"
    ERROR = "error"

    @property
    def count_key(self) -> str:
        """The key of this outcome in a run's counts (``errors`` for ``error``)."""
        return "errors" if self is Outcome.ERROR else self.value


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    COMPLETED_WITH_ERRORS = "completed_with_errors"
    FAILED = "failed"
    CANCELLED = "cancelled"
    PLANNED = "planned"

    @property
    def finished(self) -> bool:
        return self in TERMINAL


class RunKind(StrEnum):
    """What a run executes: an import (rows from a file), an update (rows from a saved query),
    the undo of another run, a workflow (its steps, :mod:`idms.workflows`) or a transfer
    (:mod:`idms.transfers`)."""

    IMPORT = "import"
    UPDATE = "update"
    UNDO = "undo"
    WORKFLOW = "workflow"
    TRANSFER = "transfer"  # a transfer (iTransfer), run as the workflow it compiles to


# Runs whose work is steps (a workflow's, a transfer's), executed by the workflow runner.
STEP_KINDS = frozenset({RunKind.WORKFLOW, RunKind.TRANSFER})


TERMINAL = frozenset(RunStatus) - {RunStatus.RUNNING, RunStatus.QUEUED}
# Statuses that end a run badly: the command line exits with 3, notifications say "failed".
UNSUCCESSFUL = frozenset({RunStatus.FAILED, RunStatus.CANCELLED})
# Runs of a job (rows in, outcomes out), which have input rows to write back or undo.
JOB_KINDS = frozenset({RunKind.IMPORT, RunKind.UPDATE})
COUNT_KEYS = tuple(o.count_key for o in Outcome)


def exit_code_for(status: str, errors: int) -> int:
    """The command line's exit code for a run that is ``status`` with ``errors`` failed rows:
    0 every row succeeded (or a clean plan), 1 some rows failed, 3 the run failed, was
    cancelled or has not ended (queued, running elsewhere, its lease lost)."""
    if status in UNSUCCESSFUL or status not in TERMINAL:
        return EXIT_FAILED
    return EXIT_ROW_ERRORS if errors else EXIT_OK


@dataclass
class Counts:
    """Outcome counts; ``rows`` always equals their sum."""

    by_outcome: dict[Outcome, int] = field(default_factory=lambda: dict.fromkeys(Outcome, 0))

    @classmethod
    def of(cls, counts: dict[str, int]) -> Counts:
        """Counts from a run record's ``counts`` dict (``rows`` is recomputed)."""
        made = cls()
        for outcome in Outcome:
            made.add(outcome, int(counts.get(outcome.count_key, 0)))
        return made

    def add(self, outcome: Outcome, n: int = 1) -> None:
        self.by_outcome[outcome] += n

    @property
    def rows(self) -> int:
        return sum(self.by_outcome.values())

    @property
    def errors(self) -> int:
        return self.by_outcome[Outcome.ERROR]

    def as_dict(self) -> dict[str, int]:
        out = {"rows": self.rows}
        for outcome in Outcome:
            out[outcome.count_key] = self.by_outcome[outcome]
        return out
