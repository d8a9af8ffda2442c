"""The closed vocabulary of row outcomes and run statuses, and the counts that must add up."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Outcome(StrEnum):
    INSERTED = "inserted"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    DELETED = "deleted"
    SKIPPED = "skipped"
    ERROR = "error"


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    COMPLETED_WITH_ERRORS = "completed_with_errors"
    FAILED = "failed"
    CANCELLED = "cancelled"
    PLANNED = "planned"


TERMINAL_STATUSES = frozenset(RunStatus) - {RunStatus.RUNNING, RunStatus.QUEUED}
COUNT_KEYS = ("inserted", "updated", "unchanged", "deleted", "skipped", "errors")


@dataclass
class Counts:
    """Outcome counts; ``rows`` always equals their sum."""

    by_outcome: dict[Outcome, int] = field(default_factory=lambda: dict.fromkeys(Outcome, 0))

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
            out["errors" if outcome is Outcome.ERROR else outcome.value] = self.by_outcome[outcome]
        return out
