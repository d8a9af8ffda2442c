"""What a run did, as its caller gets it back; callers choose how strict to be."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from idms.runs.status import Counts, RunStatus, exit_code_for


@dataclass
class RunReport:
    """What a run did. Callers choose how strict to be (exit codes, raising)."""

    run_id: str
    status: RunStatus
    counts: Counts
    error_file: Path | None
    detected: dict[str, Any]
    message: str | None = None
    steps: dict[str, int] | None = None  # a workflow run's steps (its rows are its steps' runs)

    @property
    def exit_code(self) -> int:
        """0 every row succeeded (or a clean plan), 1 some rows failed, 3 the run failed, was
        cancelled or did not end here (its lease was lost)."""
        return exit_code_for(self.status, self.counts.errors)

    def summary(self) -> dict[str, Any]:
        """The INTERFACES.md ``--json`` object."""
        return {
            "run_id": self.run_id,
            "status": self.status.value,
            **self.counts.as_dict(),
            "error_file": str(self.error_file) if self.error_file else None,
            **({"steps": self.steps} if self.steps is not None else {}),
        }
