"""What a transfer run sent, step by step (iDMS's job history): read from the outputs its steps
recorded (already masked), so the history is the run's own record, not a second one.

Per connection step: its order, name and connection type (as the transfer was when the run
started), status and message, the rows and bytes it sent, the requests it made, where the file
went (``remote_path``) and the last HTTP answer's code. The fields an action does not give are
null (an SFTP upload has no response code).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol


class StepLike(Protocol):
    """A recorded step of the run (:class:`idms.workflows.store.StepRecord`)."""

    @property
    def step_id(self) -> str: ...

    @property
    def status(self) -> str: ...

    @property
    def attempts(self) -> int: ...

    @property
    def message(self) -> str | None: ...

    @property
    def output(self) -> Any: ...


def _number(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _http(output: Any, status: str) -> dict[str, Any]:
    """Requests and the last response code of an HTTP step (one answer, a batch's answers, or
    a failure's answer with those before it)."""
    answers: list[Any]
    if isinstance(output, list):
        answers = output
    elif isinstance(output, dict) and "answers" in output:
        answers = [*(output.get("answers") or []), output.get("failed") or {}]
    elif isinstance(output, dict):
        answers = [output]
    else:
        answers = []
    codes = [a.get("status") for a in answers if isinstance(a, dict) and "status" in a]
    return {
        "requests": len(answers) if answers or status == "succeeded" else None,
        "response_code": _number(codes[-1]) if codes else None,
    }


def step_history(
    record: StepLike, shown: Mapping[str, Any], file: Mapping[str, Any] | None
) -> dict[str, Any]:
    """One connection step of a run as the history shows it (``shown``: its order, name and
    type; ``file``: the Convert step's output, for the rows and bytes it wrote)."""
    output = record.output
    ok = record.status == "succeeded"
    rows = _number((file or {}).get("rows")) if ok else 0 if record.status == "failed" else None
    size = _number((file or {}).get("size")) if ok else None
    entry: dict[str, Any] = {
        "order": shown.get("order"),
        "name": shown.get("name"),
        "type": shown.get("type"),
        "step": record.step_id,
        "status": record.status,
        "message": record.message,
        "attempts": record.attempts,
        "rows": rows,
        "bytes": size,
        "requests": None,
        "remote_path": None,
        "response_code": None,
    }
    kind = shown.get("type")
    if kind == "http":
        entry.update(_http(output, record.status))
        if isinstance(output, list):  # chunks: a JSON array each, not the file
            entry["bytes"] = None
    elif isinstance(output, dict):
        entry["requests"] = 1 if ok else None
        path = output.get("remote_path") or output.get("path")
        entry["remote_path"] = path if isinstance(path, str) else None
        for key in ("size", "bytes"):
            if ok and _number(output.get(key)) is not None:
                entry["bytes"] = output[key]
                break
        if kind == "email" and ok:
            entry["remote_path"] = None
            attached = output.get("attachments") or []
            entry["bytes"] = sum(_number(a.get("size")) or 0 for a in attached) or size
    return entry


def run_history(
    steps: Sequence[StepLike], shown_steps: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """A run's rows (fetched, changed, in the file) and its connection steps' history."""
    by_id = {s.step_id: s for s in steps}
    fetch = by_id.get("fetch")
    changed = by_id.get("changed")
    file = by_id.get("file")
    file_output = file.output if file is not None and isinstance(file.output, dict) else None
    fetched: int | None = None
    if fetch is not None:
        out = fetch.output
        fetched = len(out) if isinstance(out, list) else _number((out or {}).get("count"))
    elif file_output is not None and "query" in file_output:
        fetched = _number(file_output.get("rows"))  # the file step read the query itself
    changed_out = changed.output if changed is not None and isinstance(changed.output, dict) else {}
    sent = [
        step_history(s, shown_steps[s.step_id], file_output)
        for s in steps
        if s.step_id in shown_steps
    ]
    return {
        "rows_fetched": fetched,
        "rows_changed": _number(changed_out.get("count")) if changed is not None else None,
        "removed_keys": changed_out.get("removed_keys"),
        "rows_in_file": _number((file_output or {}).get("rows")),
        "file_name": (file_output or {}).get("file_name"),
        "file_bytes": _number((file_output or {}).get("size")),
        "rows_sent": max((e["rows"] or 0 for e in sent if e["status"] == "succeeded"), default=0),
        "steps": sent,
    }
