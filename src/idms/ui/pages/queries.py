"""``/queries``: the saved queries (the IQA equivalent). Viewers list them, look at a query's
rows a page at a time (its prompts asked in a small form) and download every row as CSV, Excel
or JSON; editors delete a query, and start "Update these rows": the import wizard with the
query's rows as its input instead of an upload (an iUpdate job, ``input: {query: NAME,
params: {...}}``). The builder (new, edit) is :mod:`idms.ui.pages.query_builder`.

The rows are read through the facade as ``idms query run`` reads them: a required prompt left
blank is refused, naming it; a download is written by the export writer (text a spreadsheet
would run as a formula escaped) and streamed from its file, removed once sent.
"""

from __future__ import annotations

import secrets
from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response

from idms.errors import IdmsError, NotFound
from idms.queries.model import SavedQuery
from idms.state.users import Role
from idms.ui.context import ui_context
from idms.ui.drafts import Draft
from idms.ui.query_views import (
    PARAM_PREFIX,
    given_params,
    preview_cells,
    prompt_fields,
    prompt_text,
    query_lines,
)
from idms.ui.refusals import NotThere
from idms.ui.render import page, root_of
from idms.ui.sessions import Editor, Viewer, current_session

router = APIRouter()
PAGE_ROWS = 50
MAX_PAGE = 100_000
DOWNLOADS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
}
NOTICES = {
    "saved": "Query '{name}' saved.",
    "replaced": "Query '{name}' saved (it replaced the earlier one).",
    "deleted": "Query '{name}' deleted. Jobs and schedules that name it stop working until a "
    "query of that name is saved again.",
}


def query_path(request: Request, name: str) -> str:
    return f"{root_of(request)}/queries/{quote(name, safe='')}"


def done(request: Request, what: str, name: str) -> Response:
    """Back to the list (POST, redirect, GET), with a notice."""
    query = urlencode({"done": what, "name": name})
    return RedirectResponse(f"{root_of(request)}/queries?{query}", status_code=303)


def can_edit(request: Request) -> bool:
    session = current_session(request)
    return session is not None and session.role.allows(Role.EDITOR)


def saved_query(request: Request, name: str) -> SavedQuery:
    try:
        return ui_context(request).workspace.queries.get(name).query
    except NotFound as missing:
        raise NotThere(str(missing)) from None


@router.get("/queries")
def queries_page(request: Request, session: Viewer, done: str = "", name: str = "") -> Response:
    notice = NOTICES[done].format(name=name[:200]) if done in NOTICES and name else ""
    return page(
        request,
        "queries.html",
        title="Queries",
        queries=query_lines(ui_context(request).workspace.queries.list()),
        can_edit=can_edit(request),
        notice=notice,
    )


def _query_view(
    request: Request,
    query: SavedQuery,
    given: dict[str, str],
    page_number: int = 1,
    *,
    asked: bool = True,
    error: str = "",
    status: int = 200,
) -> Response:
    prompts = query.prompt_list()
    waiting = bool(prompts) and not asked  # the prompts are asked before the rows are read
    rows = None
    if not waiting and not error:
        try:
            rows = ui_context(request).workspace.query_page(
                query.name, given, offset=(page_number - 1) * PAGE_ROWS, limit=PAGE_ROWS
            )
        except IdmsError as refused:
            error, status = str(refused), 400
    params = [(f"{PARAM_PREFIX}{k}", v) for k, v in given.items()]
    here = query_path(request, query.name)
    return page(
        request,
        "query.html",
        title=f"Query: {query.name}",
        status=status,
        query=query,
        prompts=prompt_fields(query, given),
        prompt_names=prompt_text(query),
        waiting=waiting,
        error=error,
        rows=rows,
        cells=preview_cells(rows.rows) if rows is not None else [],
        first=(page_number - 1) * PAGE_ROWS + 1,
        page_number=page_number,
        previous=f"{here}?{urlencode([*params, ('run', '1'), ('page', page_number - 1)])}"
        if page_number > 1
        else "",
        next=f"{here}?{urlencode([*params, ('run', '1'), ('page', page_number + 1)])}"
        if rows is not None and rows.more
        else "",
        downloads=[
            (ext.upper() if ext != "xlsx" else "Excel", f"{here}/rows.{ext}?{urlencode(params)}")
            for ext in DOWNLOADS
        ],
        params=given,
        can_edit=can_edit(request),
        here=here,
    )


@router.get("/queries/{name:path}/rows.{extension}")
def download(request: Request, session: Viewer, name: str, extension: str) -> Response:
    """Every row of the query, as a file: written by the export writer, sent, removed."""
    if extension not in DOWNLOADS:
        raise NotThere(f"A query's rows come as rows.csv, rows.xlsx or rows.json, not .{extension}")
    query = saved_query(request, name)
    given = given_params(request.query_params.multi_items())
    workspace = ui_context(request).workspace
    try:
        path = workspace.query_download(query.name, given, extension)
    except IdmsError as refused:
        return _query_view(request, query, given, error=str(refused), status=400)
    return FileResponse(
        path,
        media_type=DOWNLOADS[extension],
        filename=path.name,
        background=BackgroundTask(workspace.discard_query_download, path),
    )


@router.post("/queries/{name:path}/delete")
def delete(request: Request, session: Editor, name: str) -> Response:
    query = saved_query(request, name)
    ui_context(request).workspace.queries.delete(query.name)
    return done(request, "deleted", query.name)


@router.post("/queries/{name:path}/update")
async def update_rows(request: Request, session: Editor, name: str) -> Response:
    """ "Update these rows": a draft of the import wizard whose input is the query's rows (with
    the prompts' values the page holds), opened at its source-and-action step. A missing
    required prompt is refused here, as the job would refuse it."""
    query = saved_query(request, name)
    form = await request.form()
    given = given_params(form.multi_items())
    workspace = ui_context(request).workspace
    try:
        workspace.query_page(query.name, given, limit=1)
    except IdmsError as refused:
        return _query_view(request, query, given, error=str(refused), status=400)
    draft = Draft(secrets.token_hex(12), query.name, query=query.name, params=given)
    ui_context(request).drafts.add(session.user_id, draft)
    return RedirectResponse(f"{root_of(request)}/import/{draft.key}/source", status_code=303)


# Last: a name may hold "/" (an IQA-style path, "Reports/Members"), so the page of a query
# matches any path under /queries/ and is tried only after the routes ending in /rows.EXT,
# /delete, /update (and the builder's /edit, registered before this module).
@router.get("/queries/{name:path}")
def query_page(
    request: Request,
    session: Viewer,
    name: str,
    page_number: Annotated[int, Query(alias="page", ge=1, le=MAX_PAGE)] = 1,
    run: str = "",
) -> Response:
    """The query's rows, a page at a time, with its prompts' values from the URL
    (``param.NAME=VALUE``, as the API takes them)."""
    query = saved_query(request, name)
    given = given_params(request.query_params.multi_items())
    return _query_view(request, query, given, page_number, asked=bool(run or given))
