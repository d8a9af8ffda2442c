"""``/signin`` and ``/signout``: a name and password make a session; signing out ends it.

A refusal says the same whatever was wrong (no such name, wrong password, disabled account);
a throttled name or address is told how long to wait (``idms.state.throttle``). With no users
at all, the page says how to make the first administrator.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from idms.state.users import SignInRefused
from idms.ui.context import ui_context
from idms.ui.render import page
from idms.ui.sessions import (
    SESSION_COOKIE,
    SIGNIN_PATH,
    clear_session_cookie,
    current_session,
    set_session_cookie,
    set_signin_cookie,
    signin_token,
)

router = APIRouter()


def first_admin_command() -> str:
    """What the administrator types on the server when there is no user yet: the page can only
    point at the command line, as no one can sign in to make the first account."""
    return "idms user add NAME --role admin"


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path of this site only (never another site's URL)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target


def _form(
    request: Request, *, name: str = "", error: str = "", status: int = 200, next_: str = "/"
) -> Response:
    token = signin_token(request)
    response = page(
        request,
        "signin.html",
        title="Sign in",
        status=status,
        signin_csrf=token,
        name=name,
        error=error,
        next=safe_next(next_),
        no_users=not ui_context(request).workspace.user_store.any(),
        first_admin=first_admin_command(),
    )
    set_signin_cookie(response, request, token)
    return response


@router.get(SIGNIN_PATH)
def signin_form(request: Request, next: str = "/") -> Response:
    if current_session(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _form(request, next_=next)


@router.post(SIGNIN_PATH)
def signin(  # nosec B107 # the default is a missing form field, refused as a wrong password
    request: Request,
    name: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    workspace = ui_context(request).workspace
    address = request.client.host if request.client is not None else None
    try:
        token, _ = workspace.sign_in(name, password, address=address)
    except SignInRefused as refused:
        status = 429 if refused.retry_after else 401
        response = _form(request, name=name, error=str(refused), status=status, next_=next)
        if refused.retry_after:
            response.headers["Retry-After"] = str(refused.retry_after)
        return response
    workspace.web_sessions.end(request.cookies.get(SESSION_COOKIE))  # no session fixation
    response = RedirectResponse(safe_next(next), status_code=303)
    set_session_cookie(response, request, token)
    return response


@router.post("/signout")
def signout(request: Request) -> Response:
    ui_context(request).workspace.web_sessions.end(request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse(SIGNIN_PATH, status_code=303)
    clear_session_cookie(response, request)
    return response
