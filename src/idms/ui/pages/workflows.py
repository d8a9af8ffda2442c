"""``/workflows``: every workflow (viewers see; editors enable, disable and run them), one
workflow (its steps as a diagram, its webhook URL, its latest runs), and one run of a workflow
or a transfer (each step's status, input and output; editors run it again).

A run started here is queued, as the API's manual run is, and the page goes straight to the
run's page: it answers at once, and the run's page shows how far it has got.
"""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse

from idms.errors import IdmsError, InvalidInputError, NotFound
from idms.runs.record import RunInfo
from idms.state.users import Role
from idms.ui.context import ui_context
from idms.ui.flow_actions import refusal, site_url, wake_executor
from idms.ui.flow_views import (
    TRIGGER_WORDS,
    document_boxes,
    json_text,
    last_run,
    path_of,
    run_boxes,
    run_path,
    run_summary,
    step_rows,
    workflow_row,
)
from idms.ui.render import page, root_of
from idms.ui.sessions import Editor, Viewer, started_by
from idms.workflows.model import WorkflowState

router = APIRouter()
LATEST_RUNS = 20
NOTICES = {
    "enabled": "Workflow '{name}' enabled: its trigger starts it again.",
    "disabled": "Workflow '{name}' disabled: only a run started by hand starts it now.",
    "hook": "Workflow '{name}' has a new webhook URL; the old one is refused from now on.",
}
INPUT_HELP = (
    "The run's input: a JSON object, as its trigger would give it (empty: {}). "
    "Steps read it as {{ input.… }}."
)


def _go(request: Request, path: str, **query: str) -> Response:
    return RedirectResponse(
        f"{root_of(request)}{path}" + (f"?{urlencode(query)}" if query else ""), status_code=303
    )


@router.get("/workflows")
def workflows_page(request: Request, session: Viewer, done: str = "", name: str = "") -> Response:
    workspace = ui_context(request).workspace
    rows = []
    for info in workspace.workflows():
        latest = workspace.workflow_runs(info.name, limit=1)
        rows.append(workflow_row(info, latest[0] if latest else None))
    notice = NOTICES[done].format(name=name) if done in NOTICES and name else ""
    return page(
        request,
        "workflows.html",
        title="Workflows",
        workflows=rows,
        notice=notice,
        editor=session.role.allows(Role.EDITOR),
        input_help=INPUT_HELP,
    )


def _workflow_page(
    request: Request,
    name: str,
    *,
    editor: bool,
    notice: str = "",
    error: str = "",
    entered: str = "{}",
    status: int = 200,
) -> Response:
    workspace = ui_context(request).workspace
    try:
        info = workspace.workflow(name)
        runs = workspace.workflow_runs(info.name, limit=LATEST_RUNS)
        hook = (
            site_url(request, f"/hooks/{workspace.hook_token(info.name)}")
            if (editor and info.has_hook)
            else ""
        )
        change = (
            site_url(request, f"/hooks/imis/{workspace.change_url_token()}")
            if editor and info.trigger_type == "change_notification"
            else ""
        )
    except IdmsError as exc:
        raise refusal(exc) from None
    trigger = info.document.get("trigger") or {}
    return page(
        request,
        "workflow.html",
        title=f"Workflow {info.name}",
        status=status,
        flow=workflow_row(info, runs[0] if runs else None),
        trigger=TRIGGER_WORDS.get(info.trigger_type, info.trigger_type),
        event_types=", ".join(trigger.get("event_types") or []) or "every change",
        change_notification=info.trigger_type == "change_notification",
        has_hook=info.has_hook,
        hook_url=hook,
        change_url=change,
        boxes=document_boxes(info.document),
        runs=[(r.id, last_run(r)) for r in runs],
        document=json_text(info.document),
        editor=editor,
        notice=notice,
        error=error,
        entered=entered,
        input_help=INPUT_HELP,
    )


@router.get("/workflows/{name}")
def workflow_page(request: Request, session: Viewer, name: str, done: str = "") -> Response:
    notice = NOTICES[done].format(name=name) if done in NOTICES else ""
    return _workflow_page(request, name, editor=session.role.allows(Role.EDITOR), notice=notice)


@router.post("/workflows/{name}/state")
def set_state(
    request: Request, session: Editor, name: str, state: Annotated[str, Form()] = ""
) -> Response:
    wanted = {"active": WorkflowState.ACTIVE, "disabled": WorkflowState.DISABLED}.get(state)
    if wanted is None:
        refused = f"A workflow here is enabled (active) or disabled, not '{state}'."
        raise refusal(InvalidInputError(refused))
    try:
        info = ui_context(request).workspace.set_workflow_state(name, wanted)
    except IdmsError as exc:
        raise refusal(exc) from None
    done = "enabled" if wanted == WorkflowState.ACTIVE else "disabled"
    return _go(request, "/workflows", done=done, name=info.name)


def parse_input(text: str) -> dict[str, Any] | str:
    """The run's input from the form: a JSON object, or what is wrong with the text (in
    words a person can act on)."""
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return (
            f"The input is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}). "
            "Nothing was run: correct it and run again."
        )
    if not isinstance(value, dict):
        return (
            'The input must be a JSON object, such as {"imisId": "101"}, not '
            f"{json_kind(value)}. Nothing was run."
        )
    return value


def json_kind(value: Any) -> str:
    """What a JSON value is, in JSON's words."""
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "true" if value else "false"
    return "null" if value is None else "a number"


@router.post("/workflows/{name}/run")
def run_workflow(
    request: Request, session: Editor, name: str, input: Annotated[str, Form()] = ""
) -> Response:
    given = parse_input(input)
    if isinstance(given, str):
        return _workflow_page(request, name, editor=True, error=given, entered=input, status=400)
    try:
        info = ui_context(request).workspace.start_workflow(
            name, given, trigger="manual", started_by=started_by(session)
        )
    except IdmsError as exc:
        raise refusal(exc) from None
    wake_executor(request)
    return _go(request, run_path(info.id))


@router.post("/workflows/{name}/hook")
def regenerate_hook(request: Request, session: Editor, name: str) -> Response:
    try:
        ui_context(request).workspace.regenerate_hook(name)
    except IdmsError as exc:
        raise refusal(exc) from None
    return _go(request, path_of("workflows", name), done="hook")


def _run(request: Request, run_id: str) -> RunInfo:
    try:
        return ui_context(request).workspace.runs.get(run_id)
    except IdmsError as exc:
        raise refusal(exc) from None


@router.get("/workflows/runs/{run_id}")
def run_page(request: Request, session: Viewer, run_id: str) -> Response:
    workspace = ui_context(request).workspace
    info = _run(request, run_id)
    try:
        records = workspace.workflow_steps(info.id)
    except IdmsError as exc:
        raise refusal(exc) from None
    document = None
    if info.kind == "workflow":
        try:
            document = workspace.workflow(str(info.job.get("workflow") or info.name)).document
        except NotFound:
            document = None  # deleted since: the steps as they ran
    boxes = run_boxes(document, records, info.status)
    return page(
        request,
        "workflow_run.html",
        title=f"Run of {info.name}",
        run=run_summary(info),
        boxes=boxes,
        steps=step_rows(records, info.id),
        step_ids=[b.id for b in boxes],
        editor=session.role.allows(Role.EDITOR),
        busy=info.status in ("queued", "running"),
    )


@router.post("/workflows/runs/{run_id}/rerun")
def rerun(
    request: Request, session: Editor, run_id: str, from_step: Annotated[str, Form()] = ""
) -> Response:
    try:
        info = ui_context(request).workspace.rerun_workflow(
            run_id, from_step=from_step or None, started_by=started_by(session)
        )
    except IdmsError as exc:
        raise refusal(exc) from None
    wake_executor(request)
    return _go(request, run_path(info.id))


@router.get("/workflows/runs/{run_id}/steps/{step}/{part}")
def step_data(request: Request, session: Viewer, run_id: str, step: str, part: str) -> Response:
    """A step's input or output whole, as masked JSON (data too large for the page)."""
    if part not in ("input", "output"):
        raise refusal(NotFound(f"A step has an input and an output, not '{part}'."))
    try:
        record, handle = ui_context(request).workspace.workflow_step_data(
            run_id, step, "input" if part == "input" else "output"
        )
    except IdmsError as exc:
        raise refusal(exc) from None

    def chunks() -> Any:
        with handle:
            while chunk := handle.read(1 << 20):
                yield chunk

    filename = "".join(c if c.isalnum() or c in "-_" else "_" for c in record.step_id)
    return StreamingResponse(
        chunks(),
        media_type="application/json",
        headers={"Content-Disposition": f"attachment; filename={filename}.{part}.json"},
    )
