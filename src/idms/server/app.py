"""The JSON API of ``idms serve``: ``create_server_app(workspace, executor)``.

Everything lives under ``/api/v1``: jobs and runs, templates, saved queries, schedules and the
trigger URLs, each resource in its own module under ``routes/``. The OpenAPI document is at
``/api/v1/openapi.json`` and its browsable form at ``/api/v1/docs``; both are open, every other
route needs an API token (``auth.py``). Routes are plain functions run in the thread pool: each
calls the library and lets its errors become JSON answers (``errors.py``).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI

from idms import __version__
from idms.execution.executors import Executor
from idms.server.auth import require_token
from idms.server.context import API_PREFIX, ServerContext
from idms.server.errors import install_error_handlers
from idms.server.routes import queries, runs, schedules, templates, triggers
from idms.server.schemas import ErrorBody
from idms.workspace import Workspace

DESCRIPTION = """\
The JSON API of idms: queue and plan jobs, follow runs and download their failed rows, keep
templates and saved queries, manage schedules, and start runs from trigger URLs.

Authenticate with an API token (`idms token create NAME`): `Authorization: Bearer TOKEN`, or
`?token=TOKEN` for tools that cannot set headers. Errors are
`{"error": true, "message": ..., "problems": [...]}`.
"""


def create_server_app(
    workspace: Workspace,
    executor: Executor | None = None,
    *,
    retry_after: int = 5,
) -> FastAPI:
    """The API over ``workspace``; queued runs go to ``executor`` at once (without one they
    wait for the background loop, or another process, to hand them over). ``retry_after`` is
    the Retry-After a poller is given, in seconds."""
    app = FastAPI(
        title="idms",
        version=__version__,
        description=DESCRIPTION,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    app.state.idms = ServerContext(workspace, executor, retry_after=retry_after)
    install_error_handlers(app)
    api = APIRouter(
        prefix=API_PREFIX,
        dependencies=[Depends(require_token)],
        responses={401: {"model": ErrorBody, "description": "No API token, or a bad one"}},
    )
    for module in (runs, templates, queries, schedules, triggers):
        api.include_router(module.router)
    app.include_router(api)
    return app
