"""One input row on its way through a run: its cells, its typed values, and its decision."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as default
from typing import Any

from idms.errors import printable
from idms.runs.status import Outcome
from idms.state.constants import MASK
from idms.targets.base import Record

__all__ = ["MASK", "WorkRow"]


@dataclass
class WorkRow:
    """An input row and everything the engine learns about it."""

    number: int
    cells: dict[str, Any]
    values: dict[str, Any] = default(default_factory=dict)  # field -> typed value (None clears)
    contact_values: dict[str, Any] = default(default_factory=dict)
    append: frozenset[str] = frozenset()
    outcome: Outcome | None = None
    code: str | None = None
    message: str | None = None
    field: str | None = None
    column: str | None = None
    matches: list[Record] = default(default_factory=list)
    write: str | None = None  # "insert" | "update" | "delete" once decided
    identity: Any = None
    before: Any = None
    after: Any = None

    @property
    def decided(self) -> bool:
        return self.outcome is not None

    def fail(
        self, code: str, message: str, field: str | None = None, column: str | None = None
    ) -> None:
        # The row's error is shown to people (report, API, failed-rows file): a value quoted
        # from the file, or a column's name, carries no control character (errors.printable).
        self.outcome, self.code, self.message = Outcome.ERROR, code, printable(message, lines=True)
        self.field, self.column = field, None if column is None else printable(column)

    def skip(self, code: str, message: str) -> None:
        self.outcome, self.code, self.message = (
            Outcome.SKIPPED,
            code,
            printable(message, lines=True),
        )
