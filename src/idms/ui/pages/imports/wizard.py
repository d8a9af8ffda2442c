"""What the import wizard's steps share: the draft of the signed-in user (a missing one is a
404 page), a redirect to a step, and a step's page drawn with the wizard's steps above it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from idms.errors import NotFound
from idms.runs.record import RunInfo
from idms.ui.context import ui_context
from idms.ui.drafts import Draft
from idms.ui.import_views import steps
from idms.ui.refusals import NotThere
from idms.ui.render import page
from idms.ui.sessions import Editor

UPLOAD_PATH = "/import"
router = APIRouter()  # every step's routes


def root_of(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


def go(request: Request, draft: Draft, step: str) -> Response:
    return RedirectResponse(f"{root_of(request)}/import/{draft.upload_id}/{step}", status_code=303)


def open_draft(request: Request, session: Editor, upload_id: str) -> Draft:
    try:
        return ui_context(request).drafts.get(session.user_id, upload_id)
    except NotFound as missing:
        raise NotThere(str(missing)) from None


def run_of(request: Request, run_id: str) -> RunInfo:
    try:
        return ui_context(request).workspace.runs.get(run_id)
    except NotFound as missing:
        raise NotThere(str(missing)) from None


def wizard(
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
        steps=steps(root_of(request), upload_id, step, reached),
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


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""
