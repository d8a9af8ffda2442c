"""``/templates``: saved jobs, listed, read, saved (checked first), deleted, and run."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from idms.jobs.remote import RemoteInputs
from idms.runs.record import RunInfo
from idms.server.auth import Context, started_by
from idms.server.idempotency import Caller, IdempotencyKey, queue_once
from idms.server.jobs import job_from_template, queue_job, template_job
from idms.server.schemas import (
    Deleted,
    ErrorBody,
    RunOut,
    TemplateOut,
    TemplateRunRequest,
    input_ref,
)
from idms.server.urls import absolute
from idms.state.templates import TemplateInfo

router = APIRouter(tags=["templates"])

TEMPLATE_EXAMPLE: dict[str, Any] = {
    "description": "The monthly webinar roster",
    "source": "Activity",
    "action": "insert-with-matching",
    "mappings": [
        {"field": "Email", "column": "E-mail", "match": True},
        {"field": "ActivityType", "value": "WEBINAR"},
    ],
}


def template_out(info: TemplateInfo, inputs: RemoteInputs) -> TemplateOut:
    """A template as a remote caller sees it: its input file without the server's path."""
    document = inputs.shown_document(info.document) or {}
    return TemplateOut(
        name=info.name,
        description=info.description,
        source=document.get("source"),
        action=document.get("action"),
        document=document,
        created_at=info.created_at,
        updated_at=info.updated_at,
    )


@router.get("/templates", response_model=list[TemplateOut], summary="The saved templates")
def list_templates(context: Context) -> list[TemplateOut]:
    inputs = context.workspace.remote_inputs
    return [template_out(t, inputs) for t in context.templates.list()]


@router.get(
    "/templates/{name}",
    response_model=TemplateOut,
    summary="A template",
    responses={404: {"model": ErrorBody}},
)
def get_template(context: Context, name: str) -> TemplateOut:
    return template_out(context.templates.get(name), context.workspace.remote_inputs)


@router.put(
    "/templates/{name}",
    response_model=TemplateOut,
    summary="Save a job document as a template (checked against the target first)",
    responses={
        200: {"description": "Replaced"},
        201: {"model": TemplateOut, "description": "Created"},
        400: {"model": ErrorBody, "description": "The job is invalid: every problem listed"},
    },
)
def put_template(
    context: Context,
    name: str,
    document: Annotated[
        dict[str, Any],
        Body(
            description="A job document. Its input, when it has one (a saved query, an "
            'upload, {"upload": ID}, or a file in an input folder, read each time), is kept '
            "with the template.",
            examples=[TEMPLATE_EXAMPLE],
        ),
    ],
) -> Response:
    job = template_job(context, name, document)
    new = context.workspace.save_template(name, job, keep_file=True)
    out = template_out(context.templates.get(name), context.workspace.remote_inputs)
    return JSONResponse(out.model_dump(mode="json"), status_code=201 if new else 200)


@router.delete(
    "/templates/{name}",
    response_model=Deleted,
    summary="Delete a template (refused while a schedule runs it)",
    responses={
        404: {"model": ErrorBody},
        409: {"model": ErrorBody, "description": "A schedule runs it: the schedules named"},
    },
)
def delete_template(context: Context, name: str) -> Deleted:
    context.workspace.delete_template(name)
    return Deleted(deleted=name)


@router.post(
    "/templates/{name}/runs",
    status_code=202,
    response_model=RunOut,
    summary="Queue a run of a template (its input replaced, its query's prompts given)",
    responses={
        202: {"description": "Queued; Location is the run's URL"},
        400: {"model": ErrorBody},
        404: {"model": ErrorBody},
    },
)
def run_template(
    context: Context,
    caller: Caller,
    request: Request,
    name: str,
    body: Annotated[TemplateRunRequest | None, Body()] = None,
    key: IdempotencyKey = None,
) -> Response:
    given = body or TemplateRunRequest()

    def queue() -> RunInfo:
        job = job_from_template(
            context, name, input_file=input_ref(given.input), params=given.params
        )
        return queue_job(context, job, trigger="api", started_by=started_by(caller))

    info, headers = queue_once(context, caller, key, queue)
    out = RunOut.of(info, context.prefix)
    return JSONResponse(
        out.model_dump(mode="json"),
        status_code=202,
        headers={"Location": absolute(request, out.links.self), **headers},
    )
