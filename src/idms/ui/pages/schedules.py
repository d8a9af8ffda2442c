"""``/schedules``: every schedule (viewers see them); editors pause, resume, run now, remove,
add (``/schedules/new``) and change (``/schedules/NAME/edit``) them. The form previews its
timing as it changes (``/schedules/preview``, an HTML fragment htmx fetches): in words and its
next five times in the chosen zone, computed by the code the scheduler fires by.

A change that works sends the browser back to the list (POST, redirect, GET) with a notice; a
form the library refuses comes back as it was entered, each message next to its field.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Query
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from idms.errors import IdmsError, InvalidInputError
from idms.jobs.model import JobInvalid
from idms.schedules.edit import NO_LIMIT, ScheduleChanges
from idms.schedules.model import ScheduleInfo
from idms.schedules.timing import server_zone, zone_names
from idms.state.users import Role
from idms.ui.context import ui_context
from idms.ui.render import page, root_of
from idms.ui.schedule_form import (
    FIELD_LIMIT,
    HOW,
    MISFIRE_CHOICES,
    MONTH_DAY_CHOICES,
    OVERLAP_CHOICES,
    WEEKDAY_CHOICES,
    ScheduleForm,
    form_of,
)
from idms.ui.schedule_views import schedule_rows, time_rows
from idms.ui.sessions import Editor, Viewer, current_session
from idms.workspace import Workspace

router = APIRouter()
NOTICES = {
    "added": "Schedule '{name}' added.",
    "changed": "Schedule '{name}' changed.",
    "paused": "Schedule '{name}' paused: it does not run until resumed.",
    "resumed": "Schedule '{name}' resumed.",
    "queued": "A run of schedule '{name}' is queued; it shows under Runs.",
    "removed": "Schedule '{name}' removed. Its runs stay in the run history.",
}


def _workspace(request: Request) -> Workspace:
    return ui_context(request).workspace


def _list(request: Request, *, notice: str = "", error: str = "", status: int = 200) -> Response:
    schedules = _workspace(request).schedules.list()
    session = current_session(request)
    return page(
        request,
        "schedules.html",
        title="Schedules",
        status=status,
        schedules=schedule_rows(schedules),
        can_edit=session is not None and session.role.allows(Role.EDITOR),
        notice=notice,
        error=error,
    )


def _done(request: Request, what: str, name: str) -> Response:
    root = root_of(request)
    return RedirectResponse(
        f"{root}/schedules?{urlencode({'done': what, 'name': name})}", status_code=303
    )


@router.get("/schedules")
def schedules_page(request: Request, session: Viewer, done: str = "", name: str = "") -> Response:
    notice = NOTICES[done].format(name=name) if done in NOTICES and name else ""
    return _list(request, notice=notice)


@router.post("/schedules/{name}/pause")
def pause(request: Request, session: Editor, name: str) -> Response:
    try:
        _, info = _workspace(request).pause_schedule(name)
    except IdmsError as refused:
        return _list(request, error=str(refused), status=400)
    return _done(request, "paused", info.name)


@router.post("/schedules/{name}/resume")
def resume(request: Request, session: Editor, name: str) -> Response:
    try:
        _, info = _workspace(request).resume_schedule(name)
    except IdmsError as refused:
        return _list(request, error=str(refused), status=400)
    return _done(request, "resumed", info.name)


@router.post("/schedules/{name}/run")
def run_now(request: Request, session: Editor, name: str) -> Response:
    try:
        _workspace(request).run_schedule_now(name, wait=False)
    except IdmsError as refused:
        return _list(request, error=str(refused), status=400)
    return _done(request, "queued", name)


@router.post("/schedules/{name}/remove")
def remove(request: Request, session: Editor, name: str) -> Response:
    try:
        info = _workspace(request).remove_schedule(name)
    except IdmsError as refused:
        return _list(request, error=str(refused), status=400)
    return _done(request, "removed", info.name)


# ---- the form ----------------------------------------------------------------------------


def _form_page(
    request: Request,
    form: ScheduleForm,
    *,
    editing: ScheduleInfo | None = None,
    problems: dict[str, str] | None = None,
    error: str = "",
    status: int = 200,
) -> Response:
    workspace = _workspace(request)
    choices = workspace.schedulable()
    title = f"Edit schedule '{editing.name}'" if editing else "New schedule"
    return page(
        request,
        "schedule_form.html",
        title=title,
        status=status,
        form=form.values(),
        editing=editing.name if editing else "",
        action=f"/schedules/{_quoted(editing.name)}/edit" if editing else "/schedules/new",
        kept_job=editing.what() if editing and editing.kind == "job" else "",
        choices=choices,
        how_choices=HOW,
        weekdays=WEEKDAY_CHOICES,
        month_days=MONTH_DAY_CHOICES,
        misfires=MISFIRE_CHOICES,
        overlaps=OVERLAP_CHOICES,
        zones=zone_names(),
        problems=problems or {},
        error=error,
        preview=_preview(workspace, form),
    )


def _quoted(name: str) -> str:
    return quote(name, safe="")


def _preview(workspace: Workspace, form: ScheduleForm) -> dict[str, object]:
    """What the preview fragment shows: the timing in words and its next five times, or what
    is wrong with it."""
    cron, at = form.timing()
    problems = form.problems()
    if problems:
        return {"ok": False, "cron": cron or "", "problems": list(problems.values())}
    preview = workspace.preview_timing(cron=cron, at=at, timezone=form.timezone)
    return {
        "ok": True,
        "cron": cron or "",
        "words": preview.words,
        "times": time_rows(preview.times, preview.timezone),
        "problems": [],
    }


async def posted_form(request: Request) -> ScheduleForm:
    """The form as posted: one definition of its fields (:class:`ScheduleForm`) for adding
    and for changing a schedule."""
    return ScheduleForm.of(await request.form())


Posted = Annotated[ScheduleForm, Depends(posted_form)]


@router.get("/schedules/new")
def new_form(
    request: Request,
    session: Editor,
    template: Annotated[str, Query(max_length=FIELD_LIMIT)] = "",
    input: Annotated[str, Query(max_length=FIELD_LIMIT)] = "",
) -> Response:
    """The empty form; with ``template`` (the templates page, the import wizard), running
    that template, named after it; with ``input``, reading that file."""
    form = ScheduleForm(timezone=server_zone(), input=input.strip())
    if not template:
        return _form_page(request, form)
    try:
        info = _workspace(request).templates.get(template)
    except IdmsError as refused:
        return _form_page(request, form, error=str(refused), status=404)
    return _form_page(request, replace(form, name=info.name, run=f"template:{info.name}"))


@router.get("/schedules/preview")
def preview(request: Request, session: Editor) -> Response:
    form = ScheduleForm.of(request.query_params)
    return page(
        request,
        "schedule_preview.html",
        title="Preview",
        preview=_preview(_workspace(request), form),
    )


def _input_file(
    workspace: Workspace, form: ScheduleForm, editing: ScheduleInfo | None
) -> str | None:
    """The file a template's schedule reads: the one given, checked by the rule every file
    named over HTTP follows (an upload, or a file in an input folder); the schedule's own
    when the form shows it unchanged."""
    inputs = workspace.remote_inputs
    if editing is not None and form.input == (inputs.shown(editing.input_file) or ""):
        return editing.input_file
    given = form.input_given()
    return inputs.input_file(given, must_exist=False) if given is not None else None


def _define_and_save(
    request: Request, form: ScheduleForm, editing: ScheduleInfo | None
) -> Response:
    workspace = _workspace(request)
    problems = form.problems()
    keep = editing is not None and form.run == "keep" and editing.kind == "job"
    runs = form.runs()
    if not runs and not keep:
        problems["run"] = "Choose what the schedule runs: a template, a workflow or a transfer."
    if form.max_failures and form.failures() is None:
        problems["max_failures"] = "Give a whole number of failed runs, or leave it empty."
    extra: dict[str, object] = dict(runs)
    if "template" in runs:
        try:
            extra["input_file"] = _input_file(workspace, form, editing)
        except JobInvalid as refused:
            problems["input"] = "; ".join(refused.problems) or str(refused)
    if problems:
        return _form_page(request, form, editing=editing, problems=problems, status=400)
    cron, at = form.timing()
    try:
        if editing is None:
            new = workspace.define_schedule(
                form.name,
                cron=cron,
                at=at,
                timezone=form.timezone,
                misfire=form.misfire,
                overlap=form.overlap,
                max_failures=form.failures(),
                description=form.description,
                **extra,
            )
            info = workspace.add_schedule(new)
        else:  # the whole form, laid over the schedule: what is as it was stays so
            failures = form.failures()
            if "template" in extra and extra.get("input_file") is None:
                extra["input_file"] = ""  # the form's file emptied: none
            changes = ScheduleChanges(
                name=form.name,
                cron=cron,
                at=at,
                timezone=form.timezone,
                misfire=form.misfire,
                overlap=form.overlap,
                max_failures=NO_LIMIT if failures is None else failures,
                description=form.description,
                **({} if keep else extra),  # type: ignore[arg-type]
            )
            _, info = workspace.edit_schedule(editing.name, changes)
    except InvalidInputError as refused:
        message = str(refused)
        field = "name" if "name" in message.lower() else ""
        if "input" in message.lower() or "file" in message.lower():
            field = "input" if "template" in runs else field
        if field:
            problems[field] = message
        return _form_page(
            request,
            form,
            editing=editing,
            problems=problems,
            error="" if field else message,
            status=400,
        )
    except IdmsError as refused:
        return _form_page(request, form, editing=editing, error=str(refused), status=400)
    return _done(request, "changed" if editing else "added", info.name)


@router.post("/schedules/new")
def add(request: Request, session: Editor, form: Posted) -> Response:
    return _define_and_save(request, form, None)


@router.get("/schedules/{name}/edit")
def edit_form(request: Request, session: Editor, name: str) -> Response:
    workspace = _workspace(request)
    try:
        info = workspace.schedules.get(name)
    except IdmsError as refused:
        return _list(request, error=str(refused), status=404)
    shown = workspace.remote_inputs.shown(info.input_file) or ""
    return _form_page(request, replace(form_of(info), input=shown), editing=info)


@router.post("/schedules/{name}/edit")
def edit(request: Request, session: Editor, name: str, form: Posted) -> Response:
    try:
        info = _workspace(request).schedules.get(name)
    except IdmsError as refused:
        return _list(request, error=str(refused), status=404)
    return _define_and_save(request, form, info)
