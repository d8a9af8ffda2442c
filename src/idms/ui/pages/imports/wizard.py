"""What the import wizard's steps share: the draft of the signed-in user (a missing one is a
404 page), a redirect to a step, and a step's page drawn with the wizard's steps above it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from idms.errors import NotFound
from idms.facade.imports import PREVIEW_ROWS
from idms.runs.record import RunInfo
from idms.ui.context import ui_context
from idms.ui.drafts import Draft
from idms.ui.import_views import steps
from idms.ui.refusals import NotThere
from idms.ui.render import page, root_of
from idms.ui.sessions import Editor
from idms.workspace import Workspace

UPLOAD_PATH = "/import"
router = APIRouter()  # every step's routes


def go(request: Request, draft: Draft, step: str) -> Response:
    return RedirectResponse(f"{root_of(request)}/import/{draft.key}/{step}", status_code=303)


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
    key = draft.key if draft is not None else None
    query = draft.query if draft is not None else None
    noun = draft.noun if draft is not None else "import"
    if noun != "import":  # "Import: plan" -> "Update: plan"
        title = title.replace("Import", noun.capitalize(), 1)
    values.setdefault("noun", noun)
    return page(
        request,
        template,
        title=title,
        status=status,
        steps=steps(root_of(request), key, step, reached, query=query),
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


@dataclass(frozen=True)
class DraftInput:
    """The columns of a draft's input, a few values of each, and (a saved query's) the columns
    known to show a field of the job's source."""

    columns: list[str]
    samples: dict[str, list[Any]]
    known: dict[str, str]


def draft_input(workspace: Workspace, draft: Draft) -> DraftInput:
    """The draft's upload read with its sheet and header row, or its saved query's first rows
    (with the prompts' values it was given)."""
    if draft.query is not None:
        rows = workspace.query_page(draft.query, draft.params, limit=PREVIEW_ROWS)
        return DraftInput(list(rows.columns), rows.samples, rows.fields_of(draft.source or ""))
    look = workspace.look_at_upload(draft.key, sheet=draft.sheet, header_row=draft.header_row)
    return DraftInput(list(look.detected.columns), look.samples, {})


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""
