"""The import wizard's first steps: 1. the upload (a new file, or a fixed one replacing an
earlier upload), 2. the file as it was read (sheet, header row, its first rows)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from idms.config import show_size
from idms.errors import InvalidInputError, NotFound
from idms.io.uploads import UploadTooLarge
from idms.ui.context import ui_context
from idms.ui.drafts import Draft
from idms.ui.import_views import detected_facts, preview_cells
from idms.ui.pages.imports.wizard import UPLOAD_PATH, go, open_draft, router, text, wizard
from idms.ui.sessions import Editor
from idms.ui.template_drafts import apply_template

CHUNK = 1024 * 1024


# ---- 1. upload --------------------------------------------------------------------------------


def _upload_page(
    request: Request, *, error: str = "", status: int = 200, template: str = ""
) -> Response:
    limit = ui_context(request).workspace.uploads.max_bytes
    return wizard(
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
        sent, again, template = form.get("file"), text(form, "again"), text(form, "template")
        return await _keep(request, session, sent, again, template)
    finally:
        await form.close()  # the spooled file starlette parsed the body into


async def _keep(
    request: Request, session: Editor, sent: object, again: str, template: str = ""
) -> Response:
    """Keep the file; ``again``: the upload it replaces (a fixed file), whose source, action,
    mapping and options the new draft takes over, going straight to the plan; ``template``:
    the same, from a saved template."""
    earlier = open_draft(request, session, again) if again else None
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
    return go(request, draft, "plan" if earlier is not None or template else "file")


# ---- 2. what was detected ---------------------------------------------------------------------


def _file_page(request: Request, draft: Draft, *, error: str = "", status: int = 200) -> Response:
    workspace = ui_context(request).workspace
    try:
        look = workspace.look_at_upload(draft.key, sheet=draft.sheet, header_row=draft.header_row)
    except InvalidInputError as refused:  # another sheet or header row that does not read
        return wizard(
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
    return wizard(
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
    draft = open_draft(request, session, upload_id)
    if draft.by_query:  # a saved query's rows: no file to read
        return go(request, draft, "source")
    return _file_page(request, draft)


@router.post("/import/{upload_id}/file")
async def choose_reading(request: Request, session: Editor, upload_id: str) -> Response:
    """Another sheet or header row: read the file again with them."""
    draft = open_draft(request, session, upload_id)
    if draft.by_query:
        return go(request, draft, "source")
    form = await request.form()
    sheet = text(form, "sheet") or None
    try:
        header_row = int(text(form, "header_row") or "1")
        if header_row < 1:
            raise ValueError
    except ValueError:
        error = "The header row is the number of the row holding the column names: 1 or more."
        return await run_in_threadpool(_file_page, request, draft, error=error, status=400)
    if (sheet, header_row) != (draft.sheet, draft.header_row):
        draft.sheet, draft.header_row = sheet, header_row
        draft.reading_changed()
    return await run_in_threadpool(_file_page, request, draft)
