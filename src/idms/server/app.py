"""The JSON API of ``idms serve``: ``create_server_app(workspace, executor)``.

Everything lives under ``/api/v1``: jobs and runs, templates, saved queries, schedules and the
trigger URLs, each resource in its own module under ``routes/``. The OpenAPI document is at
``/api/v1/openapi.json`` and its browsable form at ``/api/v1/docs`` (Swagger UI, its script and
style served from here: the page works without the Internet); both are open, every other route
needs an API token (``auth.py``). Routes are plain functions run in the thread pool: each
calls the library and lets its errors become JSON answers (``errors.py``).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response
from starlette.types import Scope

from idms import __version__
from idms.config import Settings
from idms.execution.executors import Executor
from idms.server.auth import require_token
from idms.server.context import API_PREFIX, ServerContext
from idms.server.errors import error_response, install_error_handlers
from idms.server.limits import BodyLimit, too_large_message
from idms.server.openapi import install_openapi
from idms.server.routes import (
    hooks,
    queries,
    runs,
    schedules,
    settings,
    templates,
    transfers,
    triggers,
    uploads,
    workflows,
)
from idms.server.schemas import ErrorBody
from idms.ui.app import install_ui
from idms.ui.pages.imports import UPLOAD_PATH as UI_UPLOAD_PATH
from idms.workspace import Workspace

DESCRIPTION = """\
The JSON API of idms: queue and plan jobs, follow runs and download their failed rows, keep
templates and saved queries, manage schedules, workflows and transfers, and start runs from
trigger URLs.
Webhooks (`POST /hooks/{token}`) and iMIS change notifications (`POST /hooks/imis/{token}`) take
no token: their random URL is the secret.

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
        docs_url=None,  # served by serve_docs, without a CDN
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    app.state.idms = ServerContext(workspace, executor, retry_after=retry_after)
    limit_bodies(app, workspace.settings)  # inside the request ids: a 413 carries its id too
    # The web UI at / (people signed in by a session cookie), beside the API and the hooks;
    # its security headers inside the request ids too (RequestIds stays the outermost).
    install_ui(app, workspace, dispatch=app.state.idms.dispatch)
    install_error_handlers(app)
    api = APIRouter(
        prefix=API_PREFIX,
        dependencies=[Depends(require_token)],
        responses={401: {"model": ErrorBody, "description": "No API token, or a bad one"}},
    )
    for module in (
        runs,
        uploads,
        templates,
        queries,
        schedules,
        triggers,
        workflows,
        transfers,
        settings,
    ):
        api.include_router(module.router)
    app.include_router(api)
    # Outside /api/v1 and without a token: the random URL is the secret (iHook, iDMS's).
    app.include_router(hooks.router)
    app.add_middleware(hooks.HookCors)
    install_openapi(app)
    serve_docs(app)
    return app


UPLOADS = f"{API_PREFIX}/uploads"
MULTIPART_SLACK = 64 * 1024  # an upload's part headers and boundaries, on top of the file


def limit_bodies(app: FastAPI, settings: Settings) -> None:
    """Refuse request bodies over ``IDMS_SERVE_MAX_BODY`` (1 MiB), and uploads over
    ``IDMS_SERVE_MAX_UPLOAD`` (100 MiB), with a 413 before they are read (:class:`BodyLimit`)."""

    def limit_for(scope: Scope) -> int:
        path = str(scope.get("path", ""))
        if scope.get("method") == "POST" and path.endswith((UPLOADS, UI_UPLOAD_PATH)):
            return settings.serve_max_upload + MULTIPART_SLACK
        return settings.serve_max_body

    def refuse(limit: int) -> Response:
        if limit > settings.serve_max_body and limit == settings.serve_max_upload + MULTIPART_SLACK:
            limit = settings.serve_max_upload
            where = "an upload"
        else:
            where = f"a request (files go to POST {UPLOADS})"
        return error_response(413, too_large_message(limit).replace("here", f"for {where}"))

    app.add_middleware(BodyLimit, limit_for=limit_for, refuse=refuse)


DOCS_URL = f"{API_PREFIX}/docs"
DOCS_ASSETS = f"{DOCS_URL}/assets"  # Swagger UI's script, style and icon


def serve_docs(app: FastAPI) -> None:
    """Swagger UI at ``/api/v1/docs``, with its files served by the app itself (the
    fastapi-offline package ships them) rather than fetched from a CDN: the page works on a
    server without access to the Internet, and loads nothing from elsewhere."""
    assets = Path(str(files("fastapi_offline") / "static"))
    app.mount(DOCS_ASSETS, StaticFiles(directory=assets), name="docs-assets")
    openapi_url = app.openapi_url or f"{API_PREFIX}/openapi.json"

    @app.get(DOCS_URL, include_in_schema=False)
    def docs(request: Request) -> HTMLResponse:
        root = str(request.scope.get("root_path", ""))
        return get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} API",
            swagger_js_url=f"{root}{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{DOCS_ASSETS}/favicon.png",
            # No validator badge: it would be fetched from validator.swagger.io.
            swagger_ui_parameters={"validatorUrl": None},
        )
