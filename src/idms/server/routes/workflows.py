"""``/workflows``: iWorkflow over HTTP: save (checked first, every problem listed), read,
export, delete, enable/disable/archive, run (queued), the runs and their steps, rerun, the
webhook URL (and a new one), the Template Tester, and what Delta Hashing keeps (View Hashing
Info: list, show, forget one key or all)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from idms.server.auth import Context, started_by
from idms.server.context import ServerContext
from idms.server.errors import not_found
from idms.server.idempotency import Caller
from idms.server.routes.hash_views import add_hash_routes
from idms.server.schemas import Deleted, ErrorBody, RunOut
from idms.server.urls import absolute
from idms.workflows.model import WorkflowState
from idms.workflows.notifications import ChangeUrl
from idms.workflows.store import StepRecord, WorkflowInfo

router = APIRouter(tags=["workflows"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No such workflow"}
}
WORKFLOW_EXAMPLE: dict[str, Any] = {
    "name": "LMS completion",
    "state": "active",
    "trigger": {"type": "webhook", "respond_status": 200},
    "steps": [
        {
            "id": "check",
            "action": "json_schema_validation",
            "with": {"schema": {"type": "object", "required": ["imisId"]}},
        }
    ],
}


class WorkflowOut(BaseModel):
    """A workflow: its state, trigger and document (the same as ``export`` gives)."""

    id: str
    name: str
    description: str
    state: str = Field(description="active, disabled or archived")
    trigger: str = Field(description="manual, schedule, webhook or change_notification")
    steps: int
    has_hook: bool = Field(description="A webhook workflow: GET …/hook-url gives its URL")
    created_at: datetime
    updated_at: datetime
    document: dict[str, Any]

    @classmethod
    def of(cls, info: WorkflowInfo) -> WorkflowOut:
        return cls(
            id=info.id,
            name=info.name,
            description=info.description,
            state=info.state.value,
            trigger=info.trigger_type,
            steps=len(info.document.get("steps", [])),
            has_hook=info.has_hook,
            created_at=info.created_at,
            updated_at=info.updated_at,
            document=info.document,
        )


class StateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: WorkflowState


class RunIn(BaseModel):
    """A manual run's input: a JSON object (the trigger's output), default empty."""

    model_config = ConfigDict(extra="forbid")

    input: dict[str, Any] = Field(default_factory=dict)


class RerunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    from_step: str | None = Field(
        default=None, description="Run again from this step (the steps before it are taken "
        "from the run as they were); default: from the start"
    )  # fmt: skip


class KeptFile(BaseModel):
    """Step data too large for the step's record (over 256 KiB of JSON), kept as a sealed
    file of the run: its size, its start, and where to download it whole (masked)."""

    bytes: int = Field(description="The size of its JSON")
    preview: str = Field(description="The start of its JSON (cut)")
    url: str = Field(description="GET it whole, as JSON, secrets masked")


class StepOut(BaseModel):
    """One step of a workflow run: what it was given and gave (secrets masked). Data too large
    for the record is ``null`` in ``input``/``output``, and described in ``input_file`` /
    ``output_file`` instead."""

    seq: int
    step: str
    action: str
    status: str = Field(description="running, succeeded, failed or skipped")
    attempts: int
    message: str | None
    input: Any
    output: Any
    input_file: KeptFile | None = None
    output_file: KeptFile | None = None
    started_at: datetime
    finished_at: datetime | None

    @classmethod
    def of(cls, record: StepRecord, base: str) -> StepOut:
        def kept(note: dict[str, Any] | None, part: str) -> KeptFile | None:
            if note is None:
                return None
            url = f"{base}/{quote(record.step_id, safe='')}/{part}"
            return KeptFile(bytes=note["bytes"], preview=note["preview"], url=url)

        return cls(
            seq=record.seq,
            step=record.step_id,
            action=record.action,
            status=record.status,
            attempts=record.attempts,
            message=record.message,
            input=record.input,
            output=record.output,
            input_file=kept(record.input_file, "input"),
            output_file=kept(record.output_file, "output"),
            started_at=record.started_at,
            finished_at=record.finished_at,
        )


class HookUrlOut(BaseModel):
    name: str
    url: str = Field(description="POST a JSON object here to start the workflow (no token)")


class TemplateTestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    template: str = Field(examples=["{{ input.firstName | upcase }}"])
    data: dict[str, Any] = Field(
        default_factory=dict,
        description="The data a step receives: 'input' (and 'trigger') in the template; its "
        "'steps', if any, is 'steps'",
    )


class TemplateTestOut(BaseModel):
    result: Any


def _queued(context: ServerContext, request: Request, info: Any) -> Response:
    context.dispatch()
    out = RunOut.of(info, context.prefix)
    return JSONResponse(
        out.model_dump(mode="json"),
        status_code=202,
        headers={"Location": absolute(request, out.links.self)},
    )


def hook_url(request: Request, token: str) -> str:
    return absolute(request, f"/hooks/{token}")


@router.get("/workflows", response_model=list[WorkflowOut], summary="Every workflow",
            responses={400: {"model": ErrorBody}})  # fmt: skip
def list_workflows(
    context: Context, state: Annotated[WorkflowState | None, Query()] = None
) -> list[WorkflowOut]:
    return [WorkflowOut.of(w) for w in context.workspace.workflows(state=state)]


@router.put(
    "/workflows/{name}",
    response_model=WorkflowOut,
    summary="Save a workflow (created or replaced; checked first, every problem listed)",
    responses={
        200: {"description": "Replaced"},
        201: {"model": WorkflowOut, "description": "Created"},
        400: {"model": ErrorBody, "description": "The workflow is invalid: every problem listed"},
        409: {"model": ErrorBody, "description": "An archived workflow cannot be changed"},
    },
)
def save_workflow(
    context: Context,
    request: Request,
    name: str,
    document: Annotated[
        dict[str, Any],
        Body(description="A workflow document (docs/workflows.md)", examples=[WORKFLOW_EXAMPLE]),
    ],
) -> Response:
    given = dict(document)
    given.setdefault("name", name)
    if given.get("name") != name:
        return JSONResponse(
            ErrorBody(
                message=f"The document is named '{given.get('name')}' but was sent to "
                f"/workflows/{name}: the two must agree."
            ).model_dump(),
            status_code=400,
        )
    info, created = context.workspace.save_workflow(given)
    out = WorkflowOut.of(info).model_dump(mode="json")
    if not created:
        return JSONResponse(out)
    location = absolute(request, f"{context.prefix}/workflows/{quote(info.name)}")
    return JSONResponse(out, status_code=201, headers={"Location": location})


@router.get("/workflows/{name}", response_model=WorkflowOut, summary="A workflow",
            responses={**NOT_FOUND, 400: {"model": ErrorBody}})  # fmt: skip
def get_workflow(context: Context, name: str) -> WorkflowOut:
    return WorkflowOut.of(context.workspace.workflow(name))


@router.get(
    "/workflows/{name}/export",
    response_model=dict[str, Any],
    summary="The workflow's document, as a file holds it (PUT it back to import it)",
    responses={**NOT_FOUND, 400: {"model": ErrorBody}},
)
def export_workflow(context: Context, name: str) -> Response:
    info = context.workspace.workflow(name)
    filename = quote("".join(c if c.isalnum() or c in "-_" else "_" for c in info.name))
    return JSONResponse(
        info.document,
        headers={"Content-Disposition": f"attachment; filename={filename}.json"},
    )


@router.delete(
    "/workflows/{name}",
    response_model=Deleted,
    summary="Delete a workflow (its runs stay in the history)",
    responses={**NOT_FOUND, 400: {"model": ErrorBody}},
)
def delete_workflow(context: Context, name: str) -> Deleted:
    context.workspace.delete_workflow(name)
    return Deleted(deleted=name)


@router.post(
    "/workflows/{name}/state",
    response_model=WorkflowOut,
    summary="Enable, disable or archive a workflow",
    responses={**NOT_FOUND, 400: {"model": ErrorBody}},
)
def set_state(context: Context, name: str, body: Annotated[StateIn, Body()]) -> WorkflowOut:
    return WorkflowOut.of(context.workspace.set_workflow_state(name, body.state))


@router.post(
    "/workflows/{name}/runs",
    status_code=202,
    response_model=RunOut,
    summary="Queue a run of the workflow (a manual run, with an optional input object)",
    responses={
        202: {"description": "Queued; Location is the run's URL"},
        **NOT_FOUND,
        400: {"model": ErrorBody},
        409: {"model": ErrorBody, "description": "The workflow is archived"},
    },
)
def run_workflow(
    context: Context,
    caller: Caller,
    request: Request,
    name: str,
    body: Annotated[RunIn | None, Body()] = None,
) -> Response:
    given = body or RunIn()
    info = context.workspace.start_workflow(
        name, given.input, trigger="api", started_by=started_by(caller)
    )
    return _queued(context, request, info)


@router.get(
    "/workflows/{name}/runs",
    response_model=list[RunOut],
    summary="The workflow's runs, newest first",
    responses={**NOT_FOUND, 400: {"model": ErrorBody}},
)
def workflow_runs(
    context: Context, name: str, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> list[RunOut]:
    context.workspace.workflow(name)
    runs = context.workspace.workflow_runs(name, limit=limit)
    return [RunOut.of(r, context.prefix) for r in runs]


@router.get(
    "/workflow-runs/{run_id}/steps",
    response_model=list[StepOut],
    summary="A workflow run's steps: each one's input, output, status and time",
    responses={404: {"model": ErrorBody, "description": "No such run"}, 400: {"model": ErrorBody}},
)
def run_steps(context: Context, run_id: str) -> list[StepOut]:
    info = context.runs.get(run_id)  # an unknown run: 404
    base = f"{context.prefix}/workflow-runs/{info.id}/steps"
    return [StepOut.of(s, base) for s in context.workspace.workflow_steps(info.id)]


@router.get(
    "/workflow-runs/{run_id}/steps/{step}/{part}",
    summary="A step's input or output, whole, as JSON (secrets masked): for data kept as a file",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"application/json": {}}, "description": "The step's data, as JSON"},
        404: {"model": ErrorBody, "description": "No such run, step or data"},
        400: {"model": ErrorBody},
        409: {"model": ErrorBody, "description": "Not a workflow run"},
    },
)
def step_data(context: Context, run_id: str, step: str, part: str) -> Response:
    if part not in ("input", "output"):
        raise not_found(f"A step has an input and an output, not '{part}'.")
    record, handle = context.workspace.workflow_step_data(
        run_id, step, "input" if part == "input" else "output"
    )

    def chunks() -> Iterator[bytes]:
        with handle:
            while chunk := handle.read(1 << 20):
                yield chunk

    name = f"{record.step_id}.{part}.json"
    return StreamingResponse(
        chunks(),
        media_type="application/json",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name, safe='')}"},
    )


@router.post(
    "/workflow-runs/{run_id}/rerun",
    status_code=202,
    response_model=RunOut,
    summary="Queue the run again, from the start or from a step",
    responses={
        202: {"description": "Queued; Location is the new run's URL"},
        404: {"model": ErrorBody, "description": "No such run"},
        400: {"model": ErrorBody},
        409: {"model": ErrorBody, "description": "Not a workflow run, or its workflow is gone"},
    },
)
def rerun(
    context: Context,
    request: Request,
    run_id: str,
    body: Annotated[RerunIn | None, Body()] = None,
) -> Response:
    given = body or RerunIn()
    info = context.workspace.rerun_workflow(run_id, from_step=given.from_step)
    return _queued(context, request, info)


add_hash_routes(router, "workflow")


HOOK_URL_ANSWERS: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND,
    400: {"model": ErrorBody},
    409: {"model": ErrorBody, "description": "Not a webhook workflow"},
}


@router.get(
    "/workflows/{name}/hook-url",
    response_model=HookUrlOut,
    summary="The webhook URL of a webhook workflow",
    responses=HOOK_URL_ANSWERS,
)
def get_hook_url(context: Context, request: Request, name: str) -> HookUrlOut:
    token = context.workspace.hook_token(name)
    return HookUrlOut(name=name, url=hook_url(request, token))


@router.post(
    "/workflows/{name}/hook-url",
    response_model=HookUrlOut,
    summary="A new webhook URL: the old one answers 401 from now on",
    responses=HOOK_URL_ANSWERS,
)
def regenerate_hook_url(context: Context, request: Request, name: str) -> HookUrlOut:
    token = context.workspace.regenerate_hook(name)
    return HookUrlOut(name=name, url=hook_url(request, token))


@router.post(
    "/template-tester",
    response_model=TemplateTestOut,
    summary="The Template Tester: render a Liquid template over a pipeline object",
    responses={400: {"model": ErrorBody, "description": "The template is invalid"}},
)
def test_template(context: Context, body: Annotated[TemplateTestIn, Body()]) -> TemplateTestOut:
    return TemplateTestOut(result=context.workspace.test_template(body.template, body.data))


class ChangeUrlOut(BaseModel):
    url: str = Field(
        description="Give iMIS this URL (Settings > Change notifications > Endpoint URL)"
    )


@router.get(
    "/change-url",
    response_model=ChangeUrlOut,
    summary="The URL iMIS sends its change notifications to (one per workspace)",
)
def get_change_url(context: Context, request: Request) -> ChangeUrlOut:
    token = ChangeUrl(context.workspace).token()
    return ChangeUrlOut(url=absolute(request, f"/hooks/imis/{token}"))


@router.post(
    "/change-url",
    response_model=ChangeUrlOut,
    summary="A new change-notification URL: the old one answers 401 from now on",
)
def regenerate_change_url(context: Context, request: Request) -> ChangeUrlOut:
    token = ChangeUrl(context.workspace).regenerate()
    return ChangeUrlOut(url=absolute(request, f"/hooks/imis/{token}"))
