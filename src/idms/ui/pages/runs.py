"""``/runs`` and ``/runs/{id}``: the run history (filtered, paged) and one run — its facts, its
outcome counts as a bar, its rows, its failed rows to download — and, for editors, what the
run allows: cancel, resume, undo.

Each action is a POST (form token checked by the UI's router), one facade call, then a
redirect to the run's page with a notice; a refusal (the run ended meanwhile...) shows the
run's page with the reason. Resume queues the run again for the server's executor (as the
API's resume does); undo queues the undo run (as the API's undo does) and goes to its page,
which follows it until it ends. A page of a queued or running run asks for itself again every
two seconds (htmx), its counts growing as the run goes.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response

from idms.errors import IdmsError, NotFound
from idms.runs.search import RunFilter, parse_day
from idms.runs.status import JOB_KINDS
from idms.state.sessions import SessionInfo
from idms.state.users import Role
from idms.ui.charts import outcome_bar, outcome_legend
from idms.ui.context import ui_context
from idms.ui.import_views import rate_text
from idms.ui.render import page, root_of
from idms.ui.run_views import (
    action_buttons,
    outcome_choices,
    plain_choices,
    progress_text,
    query,
    row_lines,
    run_facts,
    run_lines,
    status_choices,
)
from idms.ui.sessions import Editor, Viewer, started_by

router = APIRouter()
PAGE_SIZE = 50
ROWS_PAGE = 50
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NOTICES = {
    "cancel": "Cancel requested: a queued run stops at once, a running one after its current row.",
    "resume": "The run is queued again: it carries on from where it stopped.",
    "undo": "The undo is queued: this is its run, a run of its own.",
}


@router.get("/runs")
def runs_page(
    request: Request,
    session: Viewer,
    status: str = "",
    kind: str = "",
    who: str = "",
    since: str = "",
    until: str = "",
    after: str = "",
) -> Response:
    workspace = ui_context(request).workspace
    root = root_of(request)
    entered = {"status": status, "kind": kind, "who": who, "since": since, "until": until}
    error = ""
    try:
        where = RunFilter(
            status=status or None,
            kind=kind or None,
            started_by=who or None,
            since=parse_day(since, "from"),
            until=parse_day(until, "to"),
        )
        found = workspace.find_runs(where, after=after or None, limit=PAGE_SIZE)
        runs, total, next_page = found.runs, found.total, found.next
    except IdmsError as refused:
        error, runs, total, next_page = str(refused), [], 0, None
    return page(
        request,
        "runs.html",
        title="Runs",
        status=400 if error else 200,
        error=error,
        runs=run_lines(runs, root),
        total=total,
        entered=entered,
        statuses=status_choices(status),
        kinds=plain_choices(workspace.run_kinds(), kind, "Any kind"),
        starters=plain_choices(workspace.run_starters(), who, "Anyone"),
        older=query(f"{root}/runs", {**entered, "after": next_page.text()}) if next_page else "",
        newest=query(f"{root}/runs", entered) if after else "",
        filtered=any(entered.values()),
    )


@router.get("/runs/{run_id}")
def run_page(
    request: Request,
    session: Viewer,
    run_id: str,
    outcome: str = "",
    offset: int = 0,
    done: str = "",
) -> Response:
    return _run(request, session, run_id, outcome=outcome, offset=offset, done=done)


def _run(
    request: Request,
    session: SessionInfo,
    run_id: str,
    *,
    outcome: str = "",
    offset: int = 0,
    done: str = "",
    error: str = "",
    status: int = 200,
) -> Response:
    workspace = ui_context(request).workspace
    root = root_of(request)
    try:
        info = workspace.runs.get(run_id)
    except NotFound as missing:
        return page(request, "refused.html", title="No such run", status=404, message=str(missing))
    try:
        rows = workspace.run_rows_page(
            info.id, outcome=outcome or None, offset=max(offset, 0), limit=ROWS_PAGE
        )
    except (IdmsError, ValueError):
        return _run(request, session, info.id, error="There is no such outcome.", status=400)
    actions = workspace.run_actions(info)
    base = f"{root}/runs/{info.id}"
    shown_to = rows.offset + len(rows.rows)
    busy = not info.finished
    return page(
        request,
        "run.html",
        title=f"Run {info.id}",
        status=status,
        run_id=info.id,
        facts=run_facts(info, root),
        has_rows=info.kind in JOB_KINDS or info.kind == "undo",
        bar=outcome_bar(info.counts),
        legend=outcome_legend(info.counts),
        rows=row_lines(rows),
        rows_total=rows.total,
        rows_from=rows.offset + 1 if rows.rows else 0,
        rows_to=shown_to,
        outcomes=outcome_choices(outcome),
        outcome=outcome,
        previous=(
            query(base, {"outcome": outcome, "offset": str(max(rows.offset - ROWS_PAGE, 0))})
            if rows.offset > 0
            else ""
        ),
        next=(
            query(base, {"outcome": outcome, "offset": str(shown_to)})
            if shown_to < rows.total
            else ""
        ),
        failed_rows=actions.failed_rows,
        buttons=action_buttons(info, actions) if session.role.allows(Role.EDITOR) else [],
        notice=NOTICES.get(done, ""),
        error=error,
        # A queued or running run's page asks for itself again (without the notice) every 2 s.
        busy=busy,
        live=query(base, {"outcome": outcome, "offset": str(offset) if offset > 0 else ""}),
        progress=progress_text(info, workspace.rows_to_do(info), rate_text(info)) if busy else "",
    )


@router.get("/runs/{run_id}/failed.{extension}")
def failed_rows(request: Request, session: Viewer, run_id: str, extension: str) -> Response:
    """The run's failed rows as a file to fix and import again (.csv or .xlsx)."""
    workspace = ui_context(request).workspace
    if extension not in ("csv", "xlsx"):
        return _run(request, session, run_id, error="The failed rows come as .csv or .xlsx.")
    try:
        info = workspace.runs.get(run_id)
        if not workspace.run_actions(info).failed_rows:
            return _run(request, session, info.id, error="This run has no failed rows.")
        path = workspace.failed_rows_download(info.id, extension)
    except NotFound as missing:
        return page(request, "refused.html", title="No such run", status=404, message=str(missing))
    return FileResponse(
        path,
        media_type="text/csv; charset=utf-8" if extension == "csv" else XLSX,
        filename=path.name,
        background=BackgroundTask(workspace.discard_download, path),
    )


def _after(request: Request, session: SessionInfo, run_id: str, what: str, act: object) -> Response:
    """Run ``act`` (a facade call); then back to the run's page with a notice, or with the
    reason it was refused."""
    try:
        assert callable(act)
        act()
    except NotFound as missing:
        return page(request, "refused.html", title="No such run", status=404, message=str(missing))
    except IdmsError as refused:
        return _run(request, session, run_id, error=str(refused), status=409)
    target = query(f"{root_of(request)}/runs/{run_id}", {"done": what})
    return RedirectResponse(target, status_code=303)


@router.post("/runs/{run_id}/cancel")
def cancel_run(request: Request, session: Editor, run_id: str) -> Response:
    workspace = ui_context(request).workspace
    return _after(request, session, run_id, "cancel", lambda: workspace.cancel(run_id))


@router.post("/runs/{run_id}/resume")
def resume_run(request: Request, session: Editor, run_id: str) -> Response:
    context = ui_context(request)

    def resume() -> None:
        context.workspace.requeue(run_id)
        context.dispatch()  # the executor takes it now (the server's loop would, soon)

    return _after(request, session, run_id, "resume", resume)


@router.post("/runs/{run_id}/undo")
def undo_run(
    request: Request, session: Editor, run_id: str, force: Annotated[str, Form()] = ""
) -> Response:
    """Queue the run's undo and follow it on its own page; a refusal (already undone, not
    ended...) shows the run's page with the reason, nothing queued."""
    context = ui_context(request)
    try:
        undo = context.workspace.queue_undo(
            run_id, force=force == "yes", started_by=started_by(session), trigger="ui"
        )
    except NotFound as missing:
        return page(request, "refused.html", title="No such run", status=404, message=str(missing))
    except IdmsError as refused:
        return _run(request, session, run_id, error=str(refused), status=409)
    context.dispatch()  # the executor takes it now (the server's loop would, soon)
    target = query(f"{root_of(request)}/runs/{undo.id}", {"done": "undo"})
    return RedirectResponse(target, status_code=303)
