"""What a notification says about a run: the e-mail a data manager reads, the webhook's JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from idms.runs.record import RunInfo, RunStore
from idms.runs.rows import RowResult
from idms.runs.status import COUNT_KEYS, RunStatus

FAILURE_STATUSES = frozenset({RunStatus.FAILED, RunStatus.COMPLETED_WITH_ERRORS})
FIRST_ERRORS = 5
COUNT_ORDER = COUNT_KEYS
HEADLINE: dict[str, str] = {
    RunStatus.SUCCEEDED: "succeeded",
    RunStatus.COMPLETED_WITH_ERRORS: "completed with errors",
    RunStatus.FAILED: "failed",
    RunStatus.CANCELLED: "was cancelled",
}


@dataclass
class RunNotice:
    """A finished run, as a notification tells it."""

    info: RunInfo
    first_errors: list[RowResult] = field(default_factory=list)
    workspace: str | None = None

    @classmethod
    def of(cls, info: RunInfo, runs: RunStore, *, workspace: str | None = None) -> RunNotice:
        errors: list[RowResult] = []
        if info.counts.get("errors"):
            for row in runs.rows(info.id, outcomes=["error"], batch=FIRST_ERRORS):
                errors.append(row)
                if len(errors) >= FIRST_ERRORS:
                    break
        return cls(info, errors, workspace)

    # ---- the webhook --------------------------------------------------------------------------

    @property
    def event_type(self) -> str:
        """``run.failed``, ``run.completed_with_errors``, ``run.succeeded``, ``run.cancelled``."""
        return f"run.{self.info.status}"

    @property
    def message_id(self) -> str:
        """The webhook-id: one per run and outcome, the same on every attempt, so a receiver
        can tell a retry from a new event."""
        return f"msg_{self.info.id}_{self.info.status}"

    def data(self) -> dict[str, Any]:
        """The run summary of ``--json`` (INTERFACES.md) and what names and explains it."""
        info = self.info
        return {
            "run_id": info.id,
            "status": info.status,
            **info.counts,
            "error_file": info.error_file,
            "name": info.name,
            "kind": info.kind,
            "source": info.source,
            "action": info.action,
            "trigger": info.trigger,
            "schedule_id": info.schedule_id,
            "message": info.message,
            "started_at": _iso(info.started_at),
            "finished_at": _iso(info.finished_at),
            **({"steps": info.steps} if info.steps is not None else {}),
        }

    def payload(self) -> dict[str, Any]:
        """The Standard Webhooks payload: ``type``, ``timestamp`` and ``data``."""
        return {
            "type": self.event_type,
            "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "data": self.data(),
        }

    # ---- the e-mail ---------------------------------------------------------------------------

    def subject(self) -> str:
        info = self.info
        name = _one_line(info.name, 120)
        what = f"idms run {HEADLINE.get(info.status, info.status)}: {name}"
        errors, rows = info.counts.get("errors", 0), info.counts.get("rows", 0)
        if info.status == RunStatus.COMPLETED_WITH_ERRORS:
            what += f" ({errors:,} of {rows:,} rows failed)"
        return what

    def body(self) -> str:
        info = self.info
        counts = info.counts
        lines = [f'The run "{_one_line(info.name, 200)}" {HEADLINE.get(info.status, info.status)}.']
        started = info.trigger if info.schedule_id is None else f"schedule {info.schedule_id}"
        details = [
            ("Run", info.id),
            ("Status", info.status.replace("_", " ")),
            ("What", f"{info.kind} into {info.source} ({info.action})"),
            ("Started by", started),
            ("Started", _when(info.started_at) if info.started_at is not None else None),
            ("Finished", _when(info.finished_at) if info.finished_at is not None else None),
            ("Workspace", self.workspace),
        ]
        lines.append("")
        lines += [f"  {label + ':':<12}{value}" for label, value in details if value]
        if info.message:
            lines += ["", "What happened:", f"  {info.message}"]
        steps = info.steps
        if steps is not None:  # a workflow run: its steps' runs count the rows
            lines += [
                "",
                f"Steps: {steps['total']:,} ({steps['succeeded']:,} succeeded, "
                f"{steps['failed']:,} failed, {steps['skipped']:,} skipped)",
                "",
                "To see every step's input and output:",
                f"  idms workflow run-show {info.id}",
                "",
                "-- ",
                "Sent by idms when a run ends (IDMS_NOTIFY_ON).",
            ]
            return "\n".join(lines) + "\n"
        lines += ["", f"Rows read: {counts.get('rows', 0):,}"]
        width = max(len(f"{counts.get(k, 0):,}") for k in COUNT_ORDER)
        for key in COUNT_ORDER:
            lines.append(f"  {key:<10} {counts.get(key, 0):>{width},}")
        if self.first_errors:
            shown = len(self.first_errors)
            total = counts.get("errors", 0)
            title = "The first failed rows" if total > shown else "The failed rows"
            lines += ["", f"{title}:"]
            for row in self.first_errors:
                where = f"row {row.row_number}"
                if row.column:
                    where += f", column {row.column}"
                lines.append(f"  {where}: {_one_line(row.message or row.code or 'error', 300)}")
        if counts.get("errors", 0):
            lines += [
                "",
                "To get every failed row in a spreadsheet, with an Error column saying why, then",
                "fix them and import that file again:",
                f"  idms runs errors {info.id} -o failed-{info.id}.xlsx",
            ]
            if info.error_file:
                lines.append(
                    f"(They are also in {info.error_file}, where the run was carried out.)"
                )
        lines += ["", "To see what the run did, row by row:", f"  idms runs show {info.id}"]
        lines += ["", "-- ", "Sent by idms when a run ends (IDMS_NOTIFY_ON)."]
        return "\n".join(lines) + "\n"


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _when(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _one_line(text: str, limit: int) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
