"""``/runs``: queue a job, plan one, and follow, read, cancel, resume or undo a run."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response

from idms.runs.status import JOB_KINDS, Outcome, RunStatus
from idms.server.auth import Context, started_by
from idms.server.errors import not_found
from idms.server.idempotency import Caller, IdempotencyKey, queue_once
from idms.server.jobs import job_from_document, plan_job, queue_job
from idms.server.params import Offset
from idms.server.schemas import ErrorBody, PlanOut, RowOut, RowsPage, RunOut, RunSummary
from idms.server.urls import absolute, polling_headers

router = APIRouter(tags=["runs"])

JOB_EXAMPLE: dict[str, Any] = {
    "name": "Webinar attendance",
    "input": {"upload": "4f1c2a9e0b7d3c6e8a5f1b2d"},
    "source": "Activity",
    "action": "insert-with-matching",
    "mappings": [
        {"field": "Email", "column": "E-mail", "match": True},
        {"field": "ActivityType", "value": "WEBINAR"},
        {"field": "TransactionDate", "column": "Attended", "format": "%m/%d/%Y"},
    ],
}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.post(
    "/runs",
    status_code=202,
    response_model=RunOut,
    summary="Queue a job (or plan it with ?plan=true)",
    responses={
        200: {"model": PlanOut, "description": "The plan (with ?plan=true): nothing written"},
        202: {"description": "Queued; Location is the run's URL"},
        400: {"model": ErrorBody, "description": "The job is invalid: every problem listed"},
    },
)
def create_run(
    context: Context,
    caller: Caller,
    request: Request,
    document: Annotated[
        dict[str, Any],
        Body(
            description="A job document, as a job file holds it (INTERFACES.md 'Job file'). "
            'Its input is an uploaded file, {"upload": ID} (POST /uploads), a file in a '
            "folder the administrator lists (IDMS_SERVE_INPUT_FOLDERS; a relative path starts "
            "at the first one), or a saved query; 'template: NAME' builds on a saved template.",
            examples=[JOB_EXAMPLE],
        ),
    ],
    plan: Annotated[
        bool, Query(description="Compute what the job would change and write nothing")
    ] = False,
    rows: Annotated[
        int, Query(ge=0, le=1000, description="With plan: how many plan rows to return")
    ] = 100,
    key: IdempotencyKey = None,
) -> Any:
    if plan:
        job = job_from_document(context, document)
        return JSONResponse(plan_job(context, job, rows=rows).model_dump(mode="json"))
    info, headers = queue_once(
        context,
        caller,
        key,
        lambda: queue_job(
            context,
            job_from_document(context, document),
            trigger="api",
            started_by=started_by(caller),
        ),
    )
    out = RunOut.of(info, context.prefix)
    return JSONResponse(
        out.model_dump(mode="json"),
        status_code=202,
        headers={"Location": absolute(request, out.links.self), **headers},
    )


@router.get("/runs", response_model=list[RunOut], summary="The latest runs, newest first")
def list_runs(
    context: Context,
    status: Annotated[RunStatus | None, Query(description="Only runs in this state")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> list[RunOut]:
    infos = context.runs.list(limit, status=status.value if status is not None else None)
    return [RunOut.of(i, context.prefix) for i in infos]


@router.get(
    "/runs/{run_id}",
    response_model=RunOut,
    summary="A run: counts, state, timestamps, attempts",
    responses={404: {"model": ErrorBody}},
)
def get_run(context: Context, run_id: str) -> RunOut:
    return RunOut.of(context.runs.get(run_id), context.prefix)


@router.get(
    "/runs/{run_id}/status",
    response_model=RunSummary,
    summary="Poll a run: 202 while it is queued or running, 200 with its counts once done",
    responses={
        200: {"description": "The run has ended: its summary"},
        202: {
            "model": RunSummary,
            "description": "Still queued or running: ask again at Location after Retry-After "
            "seconds",
        },
        404: {"model": ErrorBody},
    },
)
def run_status(context: Context, request: Request, run_id: str) -> Response:
    info = context.runs.get(run_id)
    body = RunSummary.of(info).model_dump(mode="json")
    if info.finished:
        return JSONResponse(body)
    path = f"{context.prefix}/runs/{info.id}/status"
    return JSONResponse(body, status_code=202, headers=polling_headers(request, path))


@router.get(
    "/runs/{run_id}/rows",
    response_model=RowsPage,
    summary="A run's rows with their outcomes, in input order",
    responses={404: {"model": ErrorBody}},
)
def run_rows(
    context: Context,
    run_id: str,
    outcome: Annotated[
        list[Outcome] | None, Query(description="Only rows with this outcome (repeatable)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=10000)] = 100,
    offset: Offset = 0,
) -> RowsPage:
    info = context.runs.get(run_id)
    wanted = [o.value for o in outcome] if outcome else None
    runs = context.runs
    keys = wanted or [o.value for o in Outcome]
    total = sum(info.counts["errors" if k == "error" else k] for k in keys)
    rows = [RowOut.of(r) for r in runs.rows(info.id, outcomes=wanted, offset=offset, limit=limit)]
    return RowsPage(run_id=info.id, offset=offset, limit=limit, total=total, rows=rows)


@router.get(
    "/runs/{run_id}/errors.{extension}",
    summary="The failed rows as a file to fix and import again (.csv or .xlsx)",
    response_class=FileResponse,
    responses={
        200: {"content": {"text/csv": {}, XLSX: {}}, "description": "The failed-rows file"},
        404: {"model": ErrorBody, "description": "No such run, or it has no failed rows"},
    },
)
def run_errors(context: Context, run_id: str, extension: str) -> Response:
    if extension not in ("csv", "xlsx"):
        raise not_found(
            f"The failed rows come as errors.csv or errors.xlsx, not errors.{extension}"
        )
    info = context.runs.get(run_id)
    if info.kind not in JOB_KINDS:
        raise not_found(f"Run {info.id} is an undo: it has no input rows to write back.")
    if not info.counts["errors"]:
        raise not_found(f"Run {info.id} has no failed rows.")
    path = context.workspace.failed_rows_download(info.id, extension)
    return FileResponse(
        path,
        media_type="text/csv; charset=utf-8" if extension == "csv" else XLSX,
        filename=path.name,
        background=BackgroundTask(context.workspace.discard_download, path),
    )


@router.post(
    "/runs/{run_id}/cancel",
    response_model=RunOut,
    summary="Cancel a run: a queued one at once, a running one after its current batch",
    responses={404: {"model": ErrorBody}, 409: {"model": ErrorBody}},
)
def cancel_run(context: Context, run_id: str) -> RunOut:
    return RunOut.of(context.workspace.cancel(run_id), context.prefix)


@router.post(
    "/runs/{run_id}/resume",
    status_code=202,
    response_model=RunOut,
    summary="Queue again a run whose process died, to resume it",
    responses={404: {"model": ErrorBody}, 409: {"model": ErrorBody}},
)
def resume_run(context: Context, request: Request, run_id: str) -> Response:
    return _queued(context, request, context.workspace.requeue(run_id).id)


@router.post(
    "/runs/{run_id}/undo",
    status_code=202,
    response_model=RunOut,
    summary="Undo a run: queue the undo run, which puts back what it inserted, updated and deleted",
    responses={
        200: {"model": RunOut, "description": "With ?wait=true: the undo run, ended"},
        202: {"description": "The undo run, queued; Location is its URL, to follow it"},
        400: {"model": ErrorBody, "description": "The run wrote nothing to undo (a plan...)"},
        404: {"model": ErrorBody},
        409: {"model": ErrorBody, "description": "Not ended yet, or undone (or being undone)"},
    },
)
def undo(
    context: Context,
    caller: Caller,
    request: Request,
    run_id: str,
    force: Annotated[
        bool, Query(description="Undo records changed since the run too (their changes are lost)")
    ] = False,
    wait: Annotated[
        bool,
        Query(
            description="Carry the undo out within the request and answer 200 once it has "
            "ended (as before the undo was queued); a large run's undo may outlast the "
            "caller's or a proxy's time limit"
        ),
    ] = False,
) -> Response:
    if wait:
        report = context.workspace.undo(
            run_id, force=force, started_by=started_by(caller), trigger="api"
        )
        done = RunOut.of(context.runs.get(report.run_id), context.prefix)
        return JSONResponse(done.model_dump(mode="json"))
    info = context.workspace.queue_undo(run_id, force=force, started_by=started_by(caller))
    return _queued(context, request, info.id)


def _queued(context: Context, request: Request, run_id: str) -> Response:
    """A run just queued: the executor told, and the run answered 202 with its URL."""
    context.dispatch()
    out = RunOut.of(context.runs.get(run_id), context.prefix)
    return JSONResponse(
        out.model_dump(mode="json"),
        status_code=202,
        headers={"Location": absolute(request, out.links.self)},
    )
