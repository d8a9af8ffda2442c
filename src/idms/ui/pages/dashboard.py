"""``/``: the dashboard, the latest runs (every role sees it)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from idms.ui.context import ui_context
from idms.ui.render import page
from idms.ui.sessions import Viewer
from idms.ui.views import run_rows

router = APIRouter()
LATEST = 20


@router.get("/")
def dashboard(request: Request, session: Viewer) -> Response:
    runs = ui_context(request).workspace.runs.list(LATEST)
    return page(request, "dashboard.html", title="Runs", runs=run_rows(runs), latest=LATEST)
