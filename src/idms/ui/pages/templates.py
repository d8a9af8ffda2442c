"""``/templates``: the saved templates (viewers see them): what each imports and how, the
schedules that run it and how their last run went; ``/templates/NAME``: one template's
mapping, match keys, options and constants (a password masked, as ``idms template show``
shows it). Editors import a file with a template (the import wizard, its choices applied),
schedule it (the schedule form, prefilled) and delete it (refused while a schedule runs it,
as the command line and the API refuse it: :meth:`Workspace.delete_template`).
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from idms.errors import IdmsError, NotFound
from idms.state.users import Role
from idms.ui.context import ui_context
from idms.ui.refusals import NotThere
from idms.ui.render import page, root_of
from idms.ui.sessions import Editor, Viewer, current_session
from idms.ui.template_views import template_detail, template_rows

router = APIRouter()
NOTICES = {"deleted": "Template '{name}' deleted. Runs made from it keep their own copy."}


def _can_edit(request: Request) -> bool:
    session = current_session(request)
    return session is not None and session.role.allows(Role.EDITOR)


@router.get("/templates")
def templates_page(request: Request, session: Viewer, done: str = "", name: str = "") -> Response:
    workspace = ui_context(request).workspace
    notice = NOTICES[done].format(name=name[:200]) if done in NOTICES and name else ""
    return page(
        request,
        "templates.html",
        title="Templates",
        templates=template_rows(workspace.templates.list(), workspace.template_schedules()),
        can_edit=_can_edit(request),
        notice=notice,
    )


def _detail(request: Request, name: str, *, error: str = "", status: int = 200) -> Response:
    workspace = ui_context(request).workspace
    try:
        info = workspace.templates.get(name)
    except NotFound as missing:
        raise NotThere(str(missing)) from None
    schedules = workspace.template_schedules().get(info.name, [])
    shown = workspace.remote_inputs.shown_document(info.document) or {}
    return page(
        request,
        "template.html",
        title=f"Template '{info.name}'",
        status=status,
        t=template_detail(info, schedules, shown),
        can_edit=_can_edit(request),
        error=error,
    )


@router.get("/templates/{name}")
def template_page(request: Request, session: Viewer, name: str) -> Response:
    return _detail(request, name)


@router.post("/templates/{name}/delete")
def delete(request: Request, session: Editor, name: str) -> Response:
    try:
        info = ui_context(request).workspace.delete_template(name)
    except NotFound as missing:
        raise NotThere(str(missing)) from None
    except IdmsError as refused:  # a schedule runs it
        return _detail(request, name, error=str(refused), status=409)
    root = root_of(request)
    target = f"{root}/templates?{urlencode({'done': 'deleted', 'name': info.name})}"
    return RedirectResponse(target, status_code=303)
