"""``/``: the dashboard — the runs of the last 30 days as a chart (a bar per day, stacked by
outcome) and the latest runs; every role sees it."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from idms.ui.charts import daily_chart, day_legend
from idms.ui.context import ui_context
from idms.ui.render import page, root_of
from idms.ui.run_views import run_lines
from idms.ui.sessions import Viewer

router = APIRouter()
LATEST = 20
DAYS = 30


@router.get("/")
def dashboard(request: Request, session: Viewer) -> Response:
    workspace = ui_context(request).workspace
    root = root_of(request)
    days = workspace.runs_by_day(DAYS)
    return page(
        request,
        "dashboard.html",
        title="Dashboard",
        runs=run_lines(workspace.runs.list(LATEST), root),
        latest=LATEST,
        days=DAYS,
        chart=daily_chart(days),
        chart_legend=day_legend(),
        day_rows=[d for d in days if d.total],
    )
