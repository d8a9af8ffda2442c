"""Who is signed in, what their role allows, and the form token (CSRF) of every POST.

- The session: the ``idms_session`` cookie (HttpOnly, SameSite=Lax, Path=/, Secure when the
  request came over https) holds a random token; the suite database holds its hash
  (``idms.state.sessions``). :func:`current_session` looks it up once per request.
- Roles: a page depends on ``require_role(Role.VIEWER)`` (or EDITOR, ADMIN), which answers
  with the session or refuses: no session → the sign-in page; a lower role → 403.
- CSRF: every POST must carry the session's form token, as the form field ``csrf_token`` or
  the header ``X-CSRF-Token`` (htmx sends it: ``static/idms.js``); the sign-in form, sent
  before there is a session, carries the token of the ``idms_signin`` cookie instead (a
  double-submit token, so no other site can sign a browser in to an account of its choosing).
  :func:`check_csrf` is a dependency of the whole UI router: no POST escapes it.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from typing import Annotated

from fastapi import Depends
from starlette.requests import Request
from starlette.responses import Response

from idms.state.sessions import IDLE, SessionInfo
from idms.state.users import Role
from idms.ui.context import ui_context
from idms.ui.refusals import CsrfRefused, RoleRefused, SignInNeeded

SESSION_COOKIE = "idms_session"
SIGNIN_COOKIE = "idms_signin"  # the sign-in form's own token, before there is a session
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SIGNIN_PATH = "/signin"
_UNSET = object()


def current_session(request: Request) -> SessionInfo | None:
    """The live session of the request's cookie, or None (looked up once per request)."""
    found = getattr(request.state, "ui_session", _UNSET)
    if found is _UNSET:
        token = request.cookies.get(SESSION_COOKIE)
        found = ui_context(request).workspace.web_sessions.find(token) if token else None
        request.state.ui_session = found
    assert found is None or isinstance(found, SessionInfo)
    return found


def require_role(needed: Role) -> Callable[[Request], SessionInfo]:
    """A dependency that answers with the signed-in session when its role is ``needed`` or
    above; otherwise the request is refused (sign in, or 403)."""

    def dependency(request: Request) -> SessionInfo:
        session = current_session(request)
        if session is None:
            raise SignInNeeded()
        if not session.role.allows(needed):
            raise RoleRefused(session.role.value, needed.value)
        return session

    dependency.__name__ = f"require_{needed.value}"
    return dependency


Viewer = Annotated[SessionInfo, Depends(require_role(Role.VIEWER))]
Editor = Annotated[SessionInfo, Depends(require_role(Role.EDITOR))]
Admin = Annotated[SessionInfo, Depends(require_role(Role.ADMIN))]


async def check_csrf(request: Request) -> AsyncIterator[None]:
    """Refuse a POST (PUT, PATCH, DELETE) that does not carry its form token. The form read
    to find it is closed once the request is answered, refused or not (a file sent in it is
    spooled to a temporary file)."""
    try:
        await _check_csrf(request)
        yield
    finally:
        await request.close()


async def _check_csrf(request: Request) -> None:
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    given = request.headers.get(CSRF_HEADER)
    if not given and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    session = current_session(request)
    if session is not None:
        if session.csrf_ok(given):
            return
    elif request.url.path == SIGNIN_PATH:
        expected = request.cookies.get(SIGNIN_COOKIE)
        if expected and given and secrets.compare_digest(expected, given):
            return
    raise CsrfRefused()


def signin_token(request: Request) -> str:
    """The sign-in form's token: the one its cookie holds already, or a new one."""
    return request.cookies.get(SIGNIN_COOKIE) or secrets.token_urlsafe(32)


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def set_signin_cookie(response: Response, request: Request, token: str) -> None:
    response.set_cookie(
        SIGNIN_COOKIE,
        token,
        max_age=int(IDLE.total_seconds()),
        path=SIGNIN_PATH,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )


def set_session_cookie(response: Response, request: Request, token: str) -> None:
    """The session cookie: no Max-Age (it goes when the browser closes; the server ends the
    session sooner when it is idle)."""
    response.set_cookie(
        SESSION_COOKIE, token, path="/", httponly=True, samesite="lax", secure=_secure(request)
    )
    response.delete_cookie(SIGNIN_COOKIE, path=SIGNIN_PATH)


def clear_session_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=_secure(request)
    )


def started_by(session: SessionInfo) -> str:
    """Who a run started from the web UI is recorded as started by: the signed-in user."""
    return f"user:{session.user_name}"
