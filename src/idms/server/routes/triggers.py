"""``/triggers/{template}``: the trigger URLs iDMS offers for a task, per template.

- ``POST /triggers/{template}`` — fire and forget: the run is queued and the answer is at once
  ``202 {"error": false, "id": RUN_ID, "queueTime": ISO8601}``; it is an error only when the run
  cannot be started (an unknown template, an invalid job, an unreadable input).
- ``POST /triggers/{template}/async`` — the Asynchronous Request-Reply pattern (Power Automate,
  job chaining): ``202`` with ``Location`` (the run's status URL) and ``Retry-After``; that URL
  answers 202 while the run is queued or running and 200 with its counts once it has ended.

The body is optional: ``{"input": {"upload": ID} or "path in an input folder", "params":
{...}}``; other keys are ignored, so a tool that posts its own payload still triggers the run.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body
from pydantic import ConfigDict
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from idms.runs.record import RunInfo
from idms.server.auth import Context, started_by
from idms.server.context import ServerContext
from idms.server.idempotency import Caller, IdempotencyKey, queue_once
from idms.server.jobs import job_from_template, queue_job
from idms.server.schemas import ErrorBody, HookAnswer, RunSummary, TemplateRunRequest, input_ref
from idms.server.urls import polling_headers
from idms.state.tokens import TokenInfo

router = APIRouter(tags=["triggers"])
TRIGGER = "trigger"


class TriggerRequest(TemplateRunRequest):
    """What a trigger's body may say; anything else in it is ignored."""

    model_config = ConfigDict(extra="ignore")


Payload = Annotated[TriggerRequest | None, Body()]


@router.post(
    "/triggers/{template}",
    status_code=202,
    response_model=HookAnswer,
    summary="Fire and forget: queue a run of the template, answer at once",
    responses={
        400: {"model": ErrorBody, "description": "The run cannot be started"},
        404: {"model": ErrorBody, "description": "No such template"},
    },
)
def fire(
    context: Context,
    caller: Caller,
    template: str,
    body: Payload = None,
    key: IdempotencyKey = None,
) -> Response:
    info, headers = queue_once(
        context, caller, key, lambda: _queue(context, caller, template, body)
    )
    queued = info.queued_at or info.created_at
    answer = HookAnswer(id=info.id, queue_time=queued)
    return JSONResponse(
        answer.model_dump(mode="json", by_alias=True), status_code=202, headers=headers
    )


@router.post(
    "/triggers/{template}/async",
    status_code=202,
    response_model=RunSummary,
    summary="Queue a run of the template; poll Location until it answers 200",
    responses={
        202: {"description": "Queued: poll Location after Retry-After seconds"},
        400: {"model": ErrorBody, "description": "The run cannot be started"},
        404: {"model": ErrorBody, "description": "No such template"},
    },
)
def fire_and_poll(
    context: Context,
    caller: Caller,
    request: Request,
    template: str,
    body: Payload = None,
    key: IdempotencyKey = None,
) -> Response:
    info, headers = queue_once(
        context, caller, key, lambda: _queue(context, caller, template, body)
    )
    path = f"{context.prefix}/runs/{info.id}/status"
    return JSONResponse(
        RunSummary.of(info).model_dump(mode="json"),
        status_code=202,
        headers={**polling_headers(request, path), **headers},
    )


def _queue(
    context: ServerContext, caller: TokenInfo, template: str, body: TriggerRequest | None
) -> RunInfo:
    given = body or TriggerRequest()
    job = job_from_template(
        context, template, input_file=input_ref(given.input), params=given.params
    )
    return queue_job(context, job, trigger=TRIGGER, started_by=started_by(caller))
