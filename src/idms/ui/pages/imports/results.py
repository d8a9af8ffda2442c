"""The import wizard's last step: 7. the run (queued, followed live), its results, undoing
it (the undo queued too, and followed live in the same panel), and its failed rows to
download, fix and upload again."""

from __future__ import annotations

from typing import Any

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from idms.errors import IdmsError
from idms.jobs.model import JobInvalid
from idms.runs.status import JOB_KINDS
from idms.ui.context import ui_context
from idms.ui.drafts import Draft
from idms.ui.import_views import rate_text
from idms.ui.pages.imports.plan import plan_view
from idms.ui.pages.imports.wizard import go, open_draft, router, run_of, wizard
from idms.ui.refusals import NotThere
from idms.ui.render import page
from idms.ui.run_views import progress_text
from idms.ui.sessions import Editor, started_by
from idms.ui.views import STATUS_TONES, STATUS_WORDS, counts_text

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# ---- 7. run and its results -------------------------------------------------------------------


@router.post("/import/{upload_id}/run")
def start_run(request: Request, session: Editor, upload_id: str) -> Response:
    """Check the job and queue it (as ``POST /api/v1/runs`` does), then follow it."""
    draft = open_draft(request, session, upload_id)
    context = ui_context(request)
    try:
        job = context.workspace.job_from_request(draft.document())
        draft.run = context.workspace.submit(job, trigger="ui", started_by=started_by(session))
    except JobInvalid as refused:
        return plan_view(request, draft, problems=refused.problems, status=400)
    except IdmsError as refused:
        return plan_view(request, draft, error=str(refused), status=400)
    context.dispatch()
    return go(request, draft, "results")


@router.get("/import/{upload_id}/results")
def results_page(request: Request, session: Editor, upload_id: str) -> Response:
    draft = open_draft(request, session, upload_id)
    if draft.run is None:
        return go(request, draft, "plan")
    return wizard(
        request,
        "import_results.html",
        title="Import: run",
        step=7,
        draft=draft,
        **_run_values(request, draft),
    )


@router.get("/import/{upload_id}/panel")
def run_panel(request: Request, session: Editor, upload_id: str) -> Response:
    """The run's state and counts (htmx asks every second until the run has ended)."""
    draft = open_draft(request, session, upload_id)
    if draft.run is None:
        raise NotThere(f"This {draft.noun} has not been run yet.")
    values = _run_values(request, draft)
    return page(request, "import_run_panel.html", title="", **values)


def _run_values(request: Request, draft: Draft, *, error: str = "") -> dict[str, Any]:
    assert draft.run is not None
    info = run_of(request, draft.run)
    undo = run_of(request, draft.undo) if draft.undo is not None else None
    workspace = ui_context(request).workspace
    undoing = undo is not None and not undo.finished
    return {
        "upload_id": draft.key,
        "noun": draft.noun,
        "query": draft.query,
        "undo": undo,
        "undo_counts": counts_text(undo.counts) if undo is not None else "",
        "undo_status": STATUS_WORDS.get(undo.status, undo.status) if undo is not None else "",
        "undo_tone": STATUS_TONES.get(undo.status, "quiet") if undo is not None else "",
        "undo_progress": (
            progress_text(undo, workspace.rows_to_do(undo), rate_text(undo))
            if undo is not None and undoing
            else ""
        ),
        # The panel asks for itself again while the run, or then its undo, goes on.
        "following": not info.finished or undoing,
        "undone": info.undone_by is not None,
        "undoing": undoing,
        "error": error,
        "run": info,
        "run_rate": rate_text(info),
        "run_status": STATUS_WORDS.get(info.status, info.status),
        "run_tone": STATUS_TONES.get(info.status, "quiet"),
        "run_counts": counts_text(info.counts),
        "run_rows": info.counts["rows"],
        "failed": info.counts["errors"] if info.kind in JOB_KINDS else 0,
        "undoable": info.kind in JOB_KINDS,  # an import's run, or an update's (a query's rows)
    }


@router.post("/import/{upload_id}/undo")
def undo_run(request: Request, session: Editor, upload_id: str) -> Response:
    """Queue the undo of the import's run (a run of its own, as ``POST /api/v1/runs/{id}/undo``
    queues it); the results panel follows it until it ends. A refusal says why, nothing
    queued."""
    draft = open_draft(request, session, upload_id)
    if draft.run is None:
        return go(request, draft, "plan")
    context = ui_context(request)
    try:
        undo = context.workspace.queue_undo(draft.run, started_by=started_by(session), trigger="ui")
    except IdmsError as refused:
        values = _run_values(request, draft, error=str(refused))
        return wizard(
            request,
            "import_results.html",
            title="Import: run",
            step=7,
            draft=draft,
            status=409,
            **values,
        )
    draft.undo = undo.id
    context.dispatch()
    return go(request, draft, "results")


@router.get("/import/runs/{run_id}/failed.{extension}")
def failed_rows(request: Request, session: Editor, run_id: str, extension: str) -> Response:
    """The run's failed rows, with their Error column, to fix and upload again."""
    if extension not in ("csv", "xlsx"):
        raise NotThere(f"The failed rows come as failed.csv or failed.xlsx, not .{extension}")
    workspace = ui_context(request).workspace
    info = run_of(request, run_id)
    if info.kind not in JOB_KINDS or not info.counts["errors"]:
        raise NotThere(f"Run {info.id} has no failed rows.")
    path = workspace.failed_rows_download(info.id, extension)
    return FileResponse(
        path,
        media_type="text/csv; charset=utf-8" if extension == "csv" else XLSX,
        filename=path.name,
        background=BackgroundTask(workspace.discard_download, path),
    )
