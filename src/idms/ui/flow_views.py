"""What the workflow and transfer pages show, made from the facade's answers: plain strings,
flags and URLs, so the templates only place them.

The step diagram is a chain of boxes, one per step, in the order they run (HTML and CSS, made
here: an ordered list the screen reader reads as a list, each box saying its step, action and,
on a run's page, its status in words as well as in colour)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from idms.runs.record import RunInfo
from idms.transfers.store import TransferInfo
from idms.ui.views import STATUS_TONES, STATUS_WORDS, when
from idms.workflows.store import StepRecord, WorkflowInfo

TRIGGER_WORDS = {
    "manual": "By hand",
    "schedule": "Schedule",
    "webhook": "Webhook",
    "change_notification": "iMIS change notification",
}
RUN_TRIGGERS = {  # how a run was started, after "started"
    "manual": "by hand",
    "api": "through the API",
    "cli": "from the command line",
    "schedule": "by a schedule",
    "webhook": "by its webhook",
    "change_notification": "by an iMIS change notification",
    "rerun": "as a run again",
}
STEP_WORDS = {
    "running": "Running",
    "succeeded": "Succeeded",
    "failed": "Failed",
    "skipped": "Skipped",
    "not_run": "Not run",
    "waiting": "Waiting",
}
STEP_TONES = {
    "running": "busy",
    "waiting": "busy",
    "succeeded": "ok",
    "failed": "bad",
    "skipped": "quiet",
    "not_run": "quiet",
}
SHOWN_CHARS = 20_000  # a step's data shown on the page; the rest is a download


def path_of(kind: str, name: str) -> str:
    """The page of a workflow or transfer (``kind``: workflows | transfers), the name quoted."""
    return f"/{kind}/{quote(name, safe='')}"


def run_path(run_id: str) -> str:
    return f"/workflows/runs/{quote(run_id, safe='')}"


@dataclass(frozen=True)
class LastRun:
    status: str
    tone: str
    when: str
    path: str


def last_run(info: RunInfo | None) -> LastRun | None:
    if info is None:
        return None
    return LastRun(
        status=STATUS_WORDS.get(info.status, info.status),
        tone=STATUS_TONES.get(info.status, "quiet"),
        when=when(info.created_at),
        path=run_path(info.id),
    )


@dataclass(frozen=True)
class WorkflowRow:
    name: str
    description: str
    state: str
    trigger: str
    steps: int
    path: str
    last: LastRun | None
    can_enable: bool
    can_disable: bool
    can_run: bool


def workflow_row(info: WorkflowInfo, last: RunInfo | None) -> WorkflowRow:
    state = info.state.value
    return WorkflowRow(
        name=info.name,
        description=info.description,
        state=state,
        trigger=TRIGGER_WORDS.get(info.trigger_type, info.trigger_type),
        steps=len(info.document.get("steps", [])),
        path=path_of("workflows", info.name),
        last=last_run(last),
        can_enable=state == "disabled",
        can_disable=state == "active",
        can_run=state != "archived",
    )


@dataclass(frozen=True)
class Box:
    """One step in the diagram (``status`` empty on a workflow's own page)."""

    id: str
    action: str
    label: str  # the step's name for people, if it has one
    status: str
    tone: str
    enabled: bool


def document_boxes(document: Mapping[str, Any]) -> list[Box]:
    return [
        Box(
            id=str(s.get("id", "")),
            action=str(s.get("action", "")),
            label=str(s.get("name") or ""),
            status="",
            tone="",
            enabled=bool(s.get("enabled", True)),
        )
        for s in document.get("steps", [])
    ]


def run_boxes(
    document: Mapping[str, Any] | None, records: Sequence[StepRecord], run_status: str
) -> list[Box]:
    """The diagram of a run: the workflow's steps in order, each with the status of its last
    record (a step a go-to ran twice shows how it ended); a step without a record has not run
    (yet, while the run is queued or running). Without the document (a transfer's compiled
    steps, or a workflow since deleted) the steps as they ran."""
    last = {r.step_id: r for r in records}
    pending = "waiting" if run_status in ("queued", "running") else "not_run"
    boxes: list[Box] = []
    seen: set[str] = set()
    for box in document_boxes(document or {}):
        record = last.get(box.id)
        status = record.status if record is not None else pending
        boxes.append(_with_status(box, status))
        seen.add(box.id)
    for record in records:
        if record.step_id not in seen:
            seen.add(record.step_id)
            final = last[record.step_id]
            box = Box(final.step_id, final.action, "", "", "", True)
            boxes.append(_with_status(box, final.status))
    return boxes


def _with_status(box: Box, status: str) -> Box:
    return Box(
        box.id,
        box.action,
        box.label,
        STEP_WORDS.get(status, status),
        STEP_TONES.get(status, "quiet"),
        box.enabled,
    )


@dataclass(frozen=True)
class StepData:
    """A step's input or output as the page shows it: its JSON (masked), or, when it is kept
    as a file, its size, its start and the download."""

    text: str
    cut: bool
    file_bytes: str
    download: str


def json_text(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def step_data(
    record: StepRecord, part: str, value: Any, kept: dict[str, Any] | None, run_id: str
) -> StepData:
    download = f"{run_path(run_id)}/steps/{quote(record.step_id, safe='')}/{part}"
    if kept is not None:
        return StepData(str(kept.get("preview", "")), True, f"{kept['bytes']:,} bytes", download)
    text = json_text(value)
    if len(text) > SHOWN_CHARS:
        return StepData(text[:SHOWN_CHARS], True, f"{len(text.encode()):,} bytes", download)
    return StepData(text, False, "", "")


@dataclass(frozen=True)
class StepRow:
    seq: int
    id: str
    action: str
    status: str
    tone: str
    attempts: int
    message: str
    started: str
    finished: str
    input: StepData
    output: StepData


def step_rows(records: Sequence[StepRecord], run_id: str) -> list[StepRow]:
    return [
        StepRow(
            seq=r.seq,
            id=r.step_id,
            action=r.action,
            status=STEP_WORDS.get(r.status, r.status),
            tone=STEP_TONES.get(r.status, "quiet"),
            attempts=r.attempts,
            message=r.message or "",
            started=when_seconds(r.started_at),
            finished=when_seconds(r.finished_at),
            input=step_data(r, "input", r.input, r.input_file, run_id),
            output=step_data(r, "output", r.output, r.output_file, run_id),
        )
        for r in records
    ]


def when_seconds(moment: Any) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S") if moment is not None else ""


@dataclass(frozen=True)
class RunSummary:
    id: str
    name: str
    kind: str
    status: str
    tone: str
    trigger: str
    message: str
    queued: str
    started: str
    finished: str
    path: str
    owner_path: str  # the workflow's or transfer's page
    rerun_of: str
    from_step: str
    can_rerun: bool  # a workflow run (a transfer is run again from its own page)


def run_summary(info: RunInfo) -> RunSummary:
    owner = str(info.job.get("workflow") or info.name)
    kind = "transfers" if info.kind == "transfer" else "workflows"
    return RunSummary(
        id=info.id,
        name=info.name,
        kind=info.kind,
        status=STATUS_WORDS.get(info.status, info.status),
        tone=STATUS_TONES.get(info.status, "quiet"),
        trigger=RUN_TRIGGERS.get(info.trigger, f"by {info.trigger}"),
        message=info.message or "",
        queued=when_seconds(info.created_at),
        started=when_seconds(info.started_at),
        finished=when_seconds(info.finished_at),
        path=run_path(info.id),
        owner_path=path_of(kind, owner),
        rerun_of=str(info.job.get("rerun_of") or ""),
        from_step=str(info.job.get("from_step") or ""),
        can_rerun=info.kind == "workflow",
    )


@dataclass(frozen=True)
class TransferRow:
    name: str
    description: str
    state: str
    format: str
    connections: str
    path: str
    last: LastRun | None


def transfer_format(info: TransferInfo) -> str:
    return str((info.document.get("format") or {}).get("format") or "")


def transfer_row(info: TransferInfo, last: Mapping[str, Any] | None) -> TransferRow:
    """A transfer and its last run (``last``: as ``transfer_runs`` gives it)."""
    types = [str(t) for t in info.as_dict()["connections"] if t]
    return TransferRow(
        name=info.name,
        description=info.description,
        state=info.state.value,
        format=transfer_format(info),
        connections=", ".join(types) or "none",
        path=path_of("transfers", info.name),
        last=None if last is None else last_of_history(last),
    )


def last_of_history(history: Mapping[str, Any]) -> LastRun:
    status = str(history["status"])
    return LastRun(
        status=STATUS_WORDS.get(status, status),
        tone=STATUS_TONES.get(status, "quiet"),
        when=when(history["created_at"]),
        path=run_path(str(history["run_id"])),
    )


@dataclass(frozen=True)
class ConnectionRow:
    order: int
    name: str
    type: str
    when: str
    where: str  # the URL, host, folder or recipients, as the document gives it


WHERE_FIELDS = ("url", "host", "folder", "path", "to", "recipients")
WHEN_WORDS = {
    "success": "when the steps before succeeded",
    "failure": "when a step before failed",
    "always": "always",
}


def connection_rows(info: TransferInfo) -> list[ConnectionRow]:
    rows = []
    for step in sorted(info.document.get("steps") or [], key=lambda s: s.get("order", 0)):
        connection = step.get("connection") or {}
        where = next((connection[f] for f in WHERE_FIELDS if connection.get(f)), "")
        rows.append(
            ConnectionRow(
                order=int(step.get("order", 0)),
                name=str(step.get("name", "")),
                type=str(connection.get("type", "")),
                when=WHEN_WORDS.get(str(step.get("when", "success")), str(step.get("when"))),
                where=", ".join(map(str, where)) if isinstance(where, list) else str(where),
            )
        )
    return rows


@dataclass(frozen=True)
class SentRow:
    name: str
    type: str
    status: str
    tone: str
    rows: str
    bytes: str
    requests: str
    remote_path: str
    code: str
    message: str


@dataclass(frozen=True)
class TransferRunRow:
    id: str
    path: str
    status: str
    tone: str
    trigger: str
    when: str
    message: str
    fetched: str
    changed: str
    in_file: str
    sent: list[SentRow]


def _number(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else ""


def _count(value: Any, noun: str) -> str:
    """``1 row``, ``1,200 rows``; nothing when the step did not say."""
    if not isinstance(value, int):
        return ""
    return f"{value:,} {noun}{'' if value == 1 else 's'}"


def transfer_run_rows(history: Sequence[Mapping[str, Any]]) -> list[TransferRunRow]:
    rows = []
    for h in history:
        status = str(h["status"])
        sent = [
            SentRow(
                name=str(s.get("name") or s["step"]),
                type=str(s.get("type") or ""),
                status=STEP_WORDS.get(s["status"], s["status"]),
                tone=STEP_TONES.get(s["status"], "quiet"),
                rows=_count(s.get("rows"), "row"),
                bytes=_count(s.get("bytes"), "byte"),
                requests=_count(s.get("requests"), "request"),
                remote_path=str(s.get("remote_path") or ""),
                code=str(s.get("response_code") or ""),
                message=str(s.get("message") or ""),
            )
            for s in h["steps"]
        ]
        rows.append(
            TransferRunRow(
                id=str(h["run_id"]),
                path=run_path(str(h["run_id"])),
                status=STATUS_WORDS.get(status, status),
                tone=STATUS_TONES.get(status, "quiet"),
                trigger=RUN_TRIGGERS.get(str(h["trigger"]), f"by {h['trigger']}"),
                when=when(h["created_at"]),
                message=str(h.get("message") or ""),
                fetched=_number(h.get("rows_fetched")),
                changed=_number(h.get("rows_changed")),
                in_file=_number(h.get("rows_in_file")),
                sent=sent,
            )
        )
    return rows
