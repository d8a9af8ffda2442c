"""``/users`` (admins only): the users, and forms to add one, change a role, or remove one.

A change that works sends the browser back to the list (POST, then redirect, then GET: a
reload sends nothing twice) with a notice; one the facade refuses shows the list again with
its reason.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from idms.errors import IdmsError
from idms.ui.context import ui_context
from idms.ui.render import page, root_of
from idms.ui.sessions import Admin
from idms.ui.views import ROLE_CHOICES, ROLE_HELP, user_rows

router = APIRouter()
NOTICES = {
    "added": "User '{name}' added.",
    "role": "The role of '{name}' changed; they sign in again to use it.",
    "removed": "User '{name}' removed.",
}


def _list(
    request: Request,
    session: Admin,
    *,
    error: str = "",
    notice: str = "",
    status: int = 200,
    entered: dict[str, str] | None = None,
) -> Response:
    users = ui_context(request).workspace.users()
    return page(
        request,
        "users.html",
        title="Users",
        status=status,
        users=user_rows(users, session.user_id),
        roles=ROLE_CHOICES,
        role_help=ROLE_HELP,
        error=error,
        notice=notice,
        entered=entered or {"name": "", "role": "viewer"},
    )


def _done(request: Request, what: str, name: str) -> Response:
    root = root_of(request)
    query = urlencode({"done": what, "name": name})
    return RedirectResponse(f"{root}/users?{query}", status_code=303)


@router.get("/users")
def users_page(request: Request, session: Admin, done: str = "", name: str = "") -> Response:
    notice = NOTICES[done].format(name=name) if done in NOTICES and name else ""
    return _list(request, session, notice=notice)


@router.post("/users")
def add_user(  # nosec B107 # the default is a missing form field, refused as too short
    request: Request,
    session: Admin,
    name: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "viewer",
    password: Annotated[str, Form()] = "",
    password_again: Annotated[str, Form()] = "",
) -> Response:
    entered = {"name": name, "role": role}
    if password != password_again:
        error = "The two passwords differ: type the same password twice."
        return _list(request, session, error=error, status=400, entered=entered)
    try:
        info = ui_context(request).workspace.add_user(name, role, password)
    except IdmsError as refused:
        return _list(request, session, error=str(refused), status=400, entered=entered)
    return _done(request, "added", info.name)


@router.post("/users/{name}/role")
def change_role(
    request: Request, session: Admin, name: str, role: Annotated[str, Form()] = ""
) -> Response:
    try:
        info = ui_context(request).workspace.set_role(name, role)
    except IdmsError as refused:
        return _list(request, session, error=str(refused), status=400)
    return _done(request, "role", info.name)


@router.post("/users/{name}/remove")
def remove_user(request: Request, session: Admin, name: str) -> Response:
    try:
        info = ui_context(request).workspace.remove_user(name)
    except IdmsError as refused:
        return _list(request, session, error=str(refused), status=400)
    return _done(request, "removed", info.name)
