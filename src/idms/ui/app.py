"""Install the web UI into the server's app: the pages at ``/``, their files at ``/static``,
the security headers, and the pages that answer a refusal."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from idms.ui.context import STATIC, new_context
from idms.ui.headers import SecurityHeaders
from idms.ui.pages import (
    dashboard,
    imports,
    queries,
    query_builder,
    runs,
    schedules,
    settings,
    signin,
    templates,
    transfers,
    users,
    workflows,
)
from idms.ui.refusals import SignInNeeded, UiRefusal
from idms.ui.render import page, root_of
from idms.ui.sessions import SIGNIN_PATH, check_csrf
from idms.workspace import Workspace

STATIC_PATH = "/static"
# query_builder before queries: /queries/new is not a query named "new".
PAGES = (
    signin,
    dashboard,
    runs,
    imports,
    templates,
    query_builder,
    queries,
    users,
    schedules,
    workflows,
    transfers,
    settings,
)


def install_ui(
    app: FastAPI, workspace: Workspace, dispatch: Callable[[], None] | None = None
) -> None:
    """``dispatch`` hands queued runs to the server's executor at once (the import wizard's
    runs); without it they wait for the server's loop."""
    app.state.ui = new_context(workspace, dispatch)
    router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])
    for module in PAGES:
        router.include_router(module.router)
    app.include_router(router)
    app.mount(STATIC_PATH, StaticFiles(directory=STATIC), name="ui-static")
    app.add_exception_handler(UiRefusal, refused)
    app.add_middleware(SecurityHeaders)


async def refused(request: Request, exc: Exception) -> Response:
    """A refusal as a page; a GET without a session goes to the sign-in page instead, and
    comes back to where it was after signing in."""
    assert isinstance(exc, UiRefusal)
    if isinstance(exc, SignInNeeded) and request.method == "GET":
        root = root_of(request)
        here = request.url.path.removeprefix(root) or "/"
        target = f"{root}{SIGNIN_PATH}" + (f"?next={quote(here)}" if here != "/" else "")
        return RedirectResponse(target, status_code=303)
    return page(request, "refused.html", title=exc.title, status=exc.status, message=exc.message)
