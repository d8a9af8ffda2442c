"""``/import`` (editors): the import wizard — upload a file, see how it was read, choose the
source and action, map the columns, set the options, plan, run, and save it as a template.

Each step is a page; what was chosen so far is a draft kept on the server for the signed-in
user and the upload (:mod:`idms.ui.drafts`), so the browser sends only the upload's random ID
and the step's own choices. The job is the document ``POST /api/v1/runs`` takes
(``"input": {"upload": ID}``), built and checked by the facade as a request's job is; the only
file the wizard reads is the upload. A step answers a POST with a redirect to the next step
(a reload sends nothing twice), or with its own page again saying what is wrong.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response

from idms.config import show_size
from idms.errors import IdmsError, InvalidInputError, NotFound
from idms.io.uploads import UploadTooLarge
from idms.jobs.model import JobInvalid, Options
from idms.runs.record import RunInfo
from idms.runs.status import JOB_KINDS
from idms.ui.context import ui_context
from idms.ui.drafts import Draft
from idms.ui.import_views import (
    constants,
    detected_facts,
    field_choices,
    mapping_rows,
    option_views,
    parse_value_map,
    plan_rows,
    preview_cells,
    proposal_mappings,
    rate_text,
    source_choices,
    source_facts,
    steps,
)
from idms.ui.refusals import NotThere
from idms.ui.render import page
from idms.ui.sessions import Editor, started_by
from idms.ui.template_drafts import apply_template, save_draft
from idms.ui.views import STATUS_TONES, STATUS_WORDS, counts_text

router = APIRouter()
UPLOAD_PATH = "/import"
CHUNK = 1024 * 1024
PLAN_ERRORS = 50  # error rows shown first on the plan
PLAN_ROWS = 100  # then the other rows
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _root(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


def _go(request: Request, draft: Draft, step: str) -> Response:
    return RedirectResponse(f"{_root(request)}/import/{draft.upload_id}/{step}", status_code=303)


def _draft(request: Request, session: Editor, upload_id: str) -> Draft:
    try:
        return ui_context(request).drafts.get(session.user_id, upload_id)
    except NotFound as missing:
        raise NotThere(str(missing)) from None


def _run(request: Request, run_id: str) -> RunInfo:
    try:
        return ui_context(request).workspace.runs.get(run_id)
    except NotFound as missing:
        raise NotThere(str(missing)) from None


def _wizard(
    request: Request,
    template: str,
    *,
    title: str,
    step: int,
    draft: Draft | None,
    status: int = 200,
    **values: Any,
) -> Response:
    reached = _reached(draft)
    upload_id = draft.upload_id if draft is not None else None
    return page(
        request,
        template,
        title=title,
        status=status,
        steps=steps(_root(request), upload_id, step, reached),
        draft=draft,
        **values,
    )


def _reached(draft: Draft | None) -> int:
    """How far the wizard may be opened: the steps whose inputs are chosen."""
    if draft is None:
        return 1
    if draft.source is None or draft.action is None:
        return 3
    if draft.mappings is None:
        return 4
    return 7 if draft.run is not None else 6


# ---- 1. upload --------------------------------------------------------------------------------


def _upload_page(
    request: Request, *, error: str = "", status: int = 200, template: str = ""
) -> Response:
    limit = ui_context(request).workspace.uploads.max_bytes
    return _wizard(
        request,
        "import_upload.html",
        title="Import",
        step=1,
        draft=None,
        status=status,
        error=error,
        limit=show_size(limit),
        limit_bytes=limit,
        with_template=template,
    )


@router.get(UPLOAD_PATH)
def upload_page(
    request: Request, session: Editor, template: Annotated[str, Query(max_length=200)] = ""
) -> Response:
    """``template``: the file is imported with that template's choices (the templates page)."""
    return _upload_page(request, template=template)


@router.post(UPLOAD_PATH)
async def upload(request: Request, session: Editor) -> Response:
    """Keep the file sent as an upload (the same store as ``POST /api/v1/uploads``; the body
    was bounded by the server before it was read), then open a draft for it."""
    form = await request.form()
    try:
        sent, again, template = form.get("file"), _text(form, "again"), _text(form, "template")
        return await _keep(request, session, sent, again, template)
    finally:
        await form.close()  # the spooled file starlette parsed the body into


async def _keep(
    request: Request, session: Editor, sent: object, again: str, template: str = ""
) -> Response:
    """Keep the file; ``again``: the upload it replaces (a fixed file), whose source, action,
    mapping and options the new draft takes over, going straight to the plan; ``template``:
    the same, from a saved template."""
    earlier = _draft(request, session, again) if again else None
    if not isinstance(sent, UploadFile) or not sent.filename:
        error = "Choose a file to upload."
        return _upload_page(request, error=error, status=400, template=template)
    store = ui_context(request).workspace.uploads
    try:
        writer = store.begin(sent.filename)
    except InvalidInputError as refused:
        return _upload_page(request, error=str(refused), status=400)
    try:
        while chunk := await sent.read(CHUNK):
            await run_in_threadpool(writer.write, chunk)
        info = await run_in_threadpool(writer.finish)
    except UploadTooLarge as refused:
        return _upload_page(request, error=str(refused), status=413)
    except InvalidInputError as refused:
        return _upload_page(request, error=str(refused), status=400)
    except BaseException:
        await run_in_threadpool(writer.discard)
        raise
    drafts = ui_context(request).drafts
    draft = Draft(info.id, info.name)
    if earlier is not None:
        draft = draft.fixed_from(earlier)
    elif template:
        try:
            apply_template(draft, ui_context(request).workspace, template)
        except NotFound as missing:
            return _upload_page(request, error=str(missing), status=404)
    drafts.add(session.user_id, draft)
    return _go(request, draft, "plan" if earlier is not None or template else "file")


# ---- 2. what was detected ---------------------------------------------------------------------


def _file_page(request: Request, draft: Draft, *, error: str = "", status: int = 200) -> Response:
    workspace = ui_context(request).workspace
    try:
        look = workspace.look_at_upload(
            draft.upload_id, sheet=draft.sheet, header_row=draft.header_row
        )
    except InvalidInputError as refused:  # another sheet or header row that does not read
        return _wizard(
            request,
            "import_file.html",
            title="Import: the file",
            step=2,
            draft=draft,
            status=400,
            error=str(refused),
            facts=[],
            columns=[],
            preview=[],
            sheets=[],
        )
    return _wizard(
        request,
        "import_file.html",
        title="Import: the file",
        step=2,
        draft=draft,
        status=status,
        error=error,
        facts=detected_facts(look),
        columns=list(look.detected.columns),
        preview=preview_cells(look),
        sheets=list(look.detected.sheets),
        sheet=look.detected.sheet or "",
    )


@router.get("/import/{upload_id}/file")
def file_page(request: Request, session: Editor, upload_id: str) -> Response:
    return _file_page(request, _draft(request, session, upload_id))


@router.post("/import/{upload_id}/file")
async def choose_reading(request: Request, session: Editor, upload_id: str) -> Response:
    """Another sheet or header row: read the file again with them."""
    draft = _draft(request, session, upload_id)
    form = await request.form()
    sheet = _text(form, "sheet") or None
    try:
        header_row = int(_text(form, "header_row") or "1")
        if header_row < 1:
            raise ValueError
    except ValueError:
        error = "The header row is the number of the row holding the column names: 1 or more."
        return await run_in_threadpool(_file_page, request, draft, error=error, status=400)
    if (sheet, header_row) != (draft.sheet, draft.header_row):
        draft.sheet, draft.header_row = sheet, header_row
        draft.reading_changed()
    return await run_in_threadpool(_file_page, request, draft)


# ---- 3. source and action ---------------------------------------------------------------------


def _source_page(
    request: Request, draft: Draft, source: str | None, *, error: str = "", status: int = 200
) -> Response:
    workspace = ui_context(request).workspace
    platform, defs = workspace.import_sources()
    chosen = source or draft.source or "Contact"
    facts = None
    try:
        platform, sdef = workspace.describe_source(chosen)
        facts = source_facts(sdef, platform)
    except IdmsError as refused:
        error = error or str(refused)
    return _wizard(
        request,
        "import_source.html",
        title="Import: source and action",
        step=3,
        draft=draft,
        status=status,
        error=error,
        sources=source_choices(defs),
        chosen=facts.name if facts is not None else chosen,
        facts=facts,
        action=draft.action or "",
    )


@router.get("/import/{upload_id}/source")
def source_page(
    request: Request, session: Editor, upload_id: str, source: str | None = None
) -> Response:
    return _source_page(request, _draft(request, session, upload_id), source)


@router.get("/import/{upload_id}/actions")
def actions_panel(request: Request, session: Editor, upload_id: str, source: str = "") -> Response:
    """The actions and rules of one source (htmx swaps them in when the source changes)."""
    draft = _draft(request, session, upload_id)
    try:
        platform, sdef = ui_context(request).workspace.describe_source(source)
    except IdmsError as refused:
        return page(
            request, "import_actions.html", title="", facts=None, error=str(refused), action=""
        )
    return page(
        request,
        "import_actions.html",
        title="",
        facts=source_facts(sdef, platform),
        error="",
        action=draft.action or "",
    )


@router.post("/import/{upload_id}/source")
async def choose_source(request: Request, session: Editor, upload_id: str) -> Response:
    draft = _draft(request, session, upload_id)
    form = await request.form()
    source, action = _text(form, "source"), _text(form, "action")
    workspace = ui_context(request).workspace
    try:
        platform, sdef = await run_in_threadpool(workspace.describe_source, source)
    except IdmsError as refused:
        return await run_in_threadpool(
            _source_page, request, draft, source, error=str(refused), status=400
        )
    allowed = {a.value for a in sdef.actions_on(platform)}
    if action not in allowed:
        error = f"Choose one of the actions {sdef.name} allows: {', '.join(sorted(allowed))}."
        return await run_in_threadpool(
            _source_page, request, draft, sdef.name, error=error, status=400
        )
    if (sdef.name, action) != (draft.source, draft.action):
        draft.source, draft.action = sdef.name, action
        draft.mappings, draft.found, draft.plan_run = None, {}, None
    return _go(request, draft, "mapping")


# ---- 4. mapping -------------------------------------------------------------------------------


def _mapping_page(
    request: Request, draft: Draft, *, error: str = "", status: int = 200
) -> Response:
    if draft.source is None or draft.action is None:
        return _go(request, draft, "source")
    workspace = ui_context(request).workspace
    look = workspace.look_at_upload(draft.upload_id, sheet=draft.sheet, header_row=draft.header_row)
    columns = list(look.detected.columns)
    proposal = workspace.suggest_mapping(
        draft.source, columns, action=draft.action, samples=look.samples
    )
    if draft.mappings is None:
        draft.mappings, draft.found = proposal_mappings(proposal)
    _, sdef = workspace.describe_source(draft.source)
    return _wizard(
        request,
        "import_mapping.html",
        title="Import: mapping",
        step=4,
        draft=draft,
        status=status,
        error=error,
        rows=mapping_rows(columns, draft.mappings, draft.found, look.samples),
        fields=field_choices(sdef, proposal),
        constants=constants(draft.mappings),
        blanks=[0, 1] if len(constants(draft.mappings)) < 8 else [],
        match_reason=proposal.match_reason,
    )


@router.get("/import/{upload_id}/mapping")
def mapping_page(request: Request, session: Editor, upload_id: str) -> Response:
    return _mapping_page(request, _draft(request, session, upload_id))


@router.post("/import/{upload_id}/mapping")
async def choose_mapping(request: Request, session: Editor, upload_id: str) -> Response:
    """The mapping as the form left it: each column's field (or none), its match box and date
    format, then the constants (field = value)."""
    draft = _draft(request, session, upload_id)
    form = await request.form()
    workspace = ui_context(request).workspace
    look = await run_in_threadpool(
        workspace.look_at_upload, draft.upload_id, sheet=draft.sheet, header_row=draft.header_row
    )
    mappings: list[dict[str, Any]] = []
    problems: list[str] = []
    for i, column in enumerate(look.detected.columns):
        field = _text(form, f"field_{i}")
        if not field:
            continue
        entry: dict[str, Any] = {"field": field, "column": column}
        if _text(form, f"match_{i}"):
            entry["match"] = True
        if fmt := _text(form, f"format_{i}"):
            entry["format"] = fmt
        value_map, wrong = parse_value_map(_text(form, f"values_{i}"), column)
        problems += wrong
        if value_map:
            entry["values"] = value_map
        mappings.append(entry)
    fields, values = form.getlist("const_field"), form.getlist("const_value")
    for named, value in zip(fields, values, strict=False):
        if isinstance(named, str) and named.strip() and isinstance(value, str):
            mappings.append({"field": named.strip(), "value": value})
    if not mappings:
        problems.append("Map at least one column.")
    if problems:
        return await run_in_threadpool(
            _mapping_page, request, draft, error=" ".join(problems), status=400
        )
    chosen = {str(m["column"]): str(m["field"]) for m in mappings if "column" in m}
    for column, field in chosen.items():
        if field != next(
            (str(m["field"]) for m in draft.mappings or [] if m.get("column") == column), None
        ):
            draft.found[column] = "chosen by you"
    draft.mappings = mappings
    draft.plan_run = None
    return _go(request, draft, "options")


# ---- 5. options -------------------------------------------------------------------------------


@router.get("/import/{upload_id}/options")
def options_page(request: Request, session: Editor, upload_id: str) -> Response:
    draft = _draft(request, session, upload_id)
    if draft.mappings is None:
        return _go(request, draft, "mapping")
    defaults = Options().model_dump()
    return _wizard(
        request,
        "import_options.html",
        title="Import: options",
        step=5,
        draft=draft,
        options=option_views(draft.options, defaults),
        error="",
    )


@router.post("/import/{upload_id}/options")
async def choose_options(request: Request, session: Editor, upload_id: str) -> Response:
    draft = _draft(request, session, upload_id)
    form = await request.form()
    defaults = Options().model_dump()
    chosen: dict[str, Any] = {}
    for view in option_views({}, defaults):
        given = _text(form, view.name)
        if view.kind == "bool":
            value: Any = bool(given)
        elif view.kind == "number":
            value = int(given) if given.isdigit() and int(given) > 0 else None
        else:
            value = given if given in view.choices else defaults[view.name]
        if value != defaults[view.name]:
            chosen[view.name] = value
    draft.options = chosen
    draft.plan_run = None
    return _go(request, draft, "plan")


# ---- 6. plan, and 8. save as template ---------------------------------------------------------


def _plan_page(
    request: Request,
    draft: Draft,
    *,
    problems: list[str] | None = None,
    notice: str = "",
    error: str = "",
    status: int = 200,
) -> Response:
    runs = ui_context(request).workspace.runs
    plan = None
    rows: list[Any] = []
    if draft.plan_run is not None:
        plan = runs.get(draft.plan_run)
        errors = list(runs.rows(plan.id, outcomes=["error"], limit=PLAN_ERRORS))
        others = ["inserted", "updated", "deleted", "skipped", "unchanged"]
        rows = plan_rows([*errors, *runs.rows(plan.id, outcomes=others, limit=PLAN_ROWS)])
    return _wizard(
        request,
        "import_plan.html",
        title="Import: plan",
        step=6,
        draft=draft,
        status=status,
        problems=problems or [],
        notice=notice,
        error=error,
        plan=plan,
        counts=counts_text(plan.counts) if plan is not None else "",
        errors=plan.counts["errors"] if plan is not None else 0,
        rows=rows,
        summary=_summary(draft),
    )


def _summary(draft: Draft) -> list[str]:
    """The job in words, as the plan page recalls it."""
    mapped = [m for m in draft.mappings or [] if m.get("column") is not None]
    keys = [str(m["field"]) for m in mapped if m.get("match")]
    return [
        f"{draft.action} into {draft.source}",
        f"{len(mapped)} column{'s' if len(mapped) != 1 else ''} mapped"
        + (f", matched on {', '.join(keys)}" if keys else ""),
        ", ".join(f"{k}: {v}" for k, v in draft.options.items()) or "default options",
    ]


@router.get("/import/{upload_id}/plan")
def plan_page(request: Request, session: Editor, upload_id: str) -> Response:
    draft = _draft(request, session, upload_id)
    if draft.mappings is None:
        return _go(request, draft, "mapping")
    return _plan_page(request, draft)


@router.post("/import/{upload_id}/plan")
def make_plan(request: Request, session: Editor, upload_id: str) -> Response:
    """Plan the job now, in this request (nothing is written): fine for the files a person
    uploads; the rows are kept as a planned run."""
    draft = _draft(request, session, upload_id)
    workspace = ui_context(request).workspace
    try:
        job = workspace.job_from_request(draft.document())
        report = workspace.plan(job)
    except JobInvalid as refused:
        return _plan_page(request, draft, problems=refused.problems, status=400)
    except IdmsError as refused:
        return _plan_page(request, draft, error=str(refused), status=400)
    draft.plan_run = report.run_id
    return _go(request, draft, "plan")


@router.post("/import/{upload_id}/template")
async def save_template(request: Request, session: Editor, upload_id: str) -> Response:
    draft = _draft(request, session, upload_id)
    form = await request.form()
    name = _text(form, "template_name")
    if not name:
        return await run_in_threadpool(
            _plan_page, request, draft, error="Give the template a name.", status=400
        )
    workspace = ui_context(request).workspace
    try:
        new = await run_in_threadpool(save_draft, workspace, draft, name)
    except JobInvalid as refused:
        return await run_in_threadpool(
            _plan_page, request, draft, problems=refused.problems, status=400
        )
    except IdmsError as refused:
        return await run_in_threadpool(_plan_page, request, draft, error=str(refused), status=400)
    if _text(form, "then") == "schedule":  # the results step's "Schedule this import"
        return RedirectResponse(f"{_root(request)}{draft.schedule_path}", status_code=303)
    verb = "saved" if new else "replaced"
    notice = f"Template '{name}' {verb}: it can run again on next month's file."
    return await run_in_threadpool(_plan_page, request, draft, notice=notice)


# ---- 7. run and its results -------------------------------------------------------------------


@router.post("/import/{upload_id}/run")
def start_run(request: Request, session: Editor, upload_id: str) -> Response:
    """Check the job and queue it (as ``POST /api/v1/runs`` does), then follow it."""
    draft = _draft(request, session, upload_id)
    context = ui_context(request)
    try:
        job = context.workspace.job_from_request(draft.document())
        draft.run = context.workspace.submit(job, trigger="ui", started_by=started_by(session))
    except JobInvalid as refused:
        return _plan_page(request, draft, problems=refused.problems, status=400)
    except IdmsError as refused:
        return _plan_page(request, draft, error=str(refused), status=400)
    context.dispatch()
    return _go(request, draft, "results")


@router.get("/import/{upload_id}/results")
def results_page(request: Request, session: Editor, upload_id: str) -> Response:
    draft = _draft(request, session, upload_id)
    if draft.run is None:
        return _go(request, draft, "plan")
    return _wizard(
        request,
        "import_results.html",
        title="Import: run",
        step=7,
        draft=draft,
        **_run_values(request, draft),
    )


@router.get("/import/{upload_id}/panel")
def run_panel(request: Request, session: Editor, upload_id: str) -> Response:
    """The run's state and counts (htmx asks every second until the run has ended)."""
    draft = _draft(request, session, upload_id)
    if draft.run is None:
        raise NotThere("This import has not been run yet.")
    values = _run_values(request, draft)
    return page(request, "import_run_panel.html", title="", **values)


def _run_values(request: Request, draft: Draft, *, error: str = "") -> dict[str, Any]:
    assert draft.run is not None
    info = _run(request, draft.run)
    undo = _run(request, draft.undo) if draft.undo is not None else None
    return {
        "upload_id": draft.upload_id,
        "undo": undo,
        "undo_counts": counts_text(undo.counts) if undo is not None else "",
        "undo_status": STATUS_WORDS.get(undo.status, undo.status) if undo is not None else "",
        "error": error,
        "run": info,
        "run_rate": rate_text(info),
        "run_status": STATUS_WORDS.get(info.status, info.status),
        "run_tone": STATUS_TONES.get(info.status, "quiet"),
        "run_counts": counts_text(info.counts),
        "run_rows": info.counts["rows"],
        "failed": info.counts["errors"] if info.kind in JOB_KINDS else 0,
    }


@router.post("/import/{upload_id}/undo")
def undo_run(request: Request, session: Editor, upload_id: str) -> Response:
    """Put back what the import's run changed (the undo is a run of its own), here and now."""
    draft = _draft(request, session, upload_id)
    if draft.run is None:
        return _go(request, draft, "plan")
    try:
        workspace = ui_context(request).workspace
        draft.undo = workspace.undo(draft.run, started_by=started_by(session)).run_id
    except IdmsError as refused:
        values = _run_values(request, draft, error=str(refused))
        return _wizard(
            request,
            "import_results.html",
            title="Import: run",
            step=7,
            draft=draft,
            status=409,
            **values,
        )
    return _go(request, draft, "results")


@router.get("/import/runs/{run_id}/failed.{extension}")
def failed_rows(request: Request, session: Editor, run_id: str, extension: str) -> Response:
    """The run's failed rows, with their Error column, to fix and upload again."""
    if extension not in ("csv", "xlsx"):
        raise NotThere(f"The failed rows come as failed.csv or failed.xlsx, not .{extension}")
    workspace = ui_context(request).workspace
    info = _run(request, run_id)
    if info.kind not in JOB_KINDS or not info.counts["errors"]:
        raise NotThere(f"Run {info.id} has no failed rows.")
    path = workspace.failed_rows_download(info.id, extension)
    return FileResponse(
        path,
        media_type="text/csv; charset=utf-8" if extension == "csv" else XLSX,
        filename=path.name,
        background=BackgroundTask(workspace.discard_download, path),
    )


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""
