"""``/schedules``: iSchedule over HTTP: list, read, add (checked first), change in place
(``PATCH``, checked as an add), remove, pause, resume, run now, and the next fire times."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from idms.jobs.remote import RemoteInputs
from idms.schedules import ScheduleInfo, ScheduleStore, next_times
from idms.schedules.edit import NO_LIMIT, ScheduleChanges, differences
from idms.server.auth import Context
from idms.server.jobs import schedule_document
from idms.server.schemas import (
    INPUT_DESCRIPTION,
    SHOWN_INPUT,
    Deleted,
    ErrorBody,
    InputIn,
    RunOut,
    input_ref,
)
from idms.server.urls import absolute

router = APIRouter(tags=["schedules"])


class ScheduleOut(BaseModel):
    """A schedule: what it runs, when, its policies and its state (times in UTC, ISO 8601)."""

    model_config = ConfigDict(extra="allow")

    id: str
    name: str
    description: str
    kind: str = Field(description="job, template, workflow or transfer")
    template: str | None = Field(description="With kind template: the template; with kind "
                                 "workflow: the workflow")  # fmt: skip
    workflow: str | None = Field(default=None, description="With kind workflow: the workflow")
    transfer: str | None = Field(default=None, description="With kind transfer: the transfer")
    input_file: str | None = Field(description="With template: the file it reads; " + SHOWN_INPUT)
    job_file: str | None = Field(
        description="A schedule added on the command line from a job file: its name"
    )
    job: dict[str, Any] | None = Field(
        default=None, description="The job document it runs; its input file: " + SHOWN_INPUT
    )
    cron: str | None
    at: str | None = Field(description="A one-time schedule's moment")
    timezone: str
    when: str
    misfire: str
    overlap: str
    max_failures: int | None
    state: str = Field(description="active, paused, disabled (after max_failures) or done")
    next_fire_at: str | None
    last_fire_at: str | None
    last_run_id: str | None
    last_outcome: str | None


class NewScheduleIn(BaseModel):
    """A schedule to add: what it runs (a template, a job document or a workflow) and when (a cron
    expression or preset, or one moment), with its policies."""

    model_config = ConfigDict(extra="forbid")

    name: str
    template: str | None = None
    workflow: str | None = Field(
        default=None, description="A saved workflow to run (its schedule trigger's input)"
    )
    transfer: str | None = Field(default=None, description="A saved transfer to run")
    input: InputIn | None = Field(
        default=None, description=f"With template: the file to read. {INPUT_DESCRIPTION}"
    )
    job: dict[str, Any] | None = Field(
        default=None, description="A job document, as a job file holds it"
    )
    cron: str | None = Field(default=None, examples=["30 9 * * 1-5", "daily"])
    at: str | None = Field(default=None, description="One moment, ISO 8601")
    timezone: str | None = Field(default=None, description="Default UTC")
    misfire: str = "run-once"
    overlap: str = "skip"
    max_failures: int | None = None
    description: str = ""

    # Refused, with the way to do it instead; not in the OpenAPI schema.
    job_file: SkipJsonSchema[Any] = Field(default=None, exclude=True)

    @field_validator("job_file")
    @classmethod
    def _no_job_file(cls, value: Any) -> Any:
        if value is not None:
            raise PydanticCustomError(
                "job_file",
                "the API reads no job file on the server: send the job itself as 'job' "
                "(a job document)",
            )
        return value


class ScheduleChangesIn(BaseModel):
    """What to change in a schedule, each field as when adding one; a field left out stays as
    it is. ``max_failures: null`` removes the limit; ``input: null`` drops a template
    schedule's file; ``name`` renames it (its history stays with it)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, description="A new name")
    template: str | None = None
    workflow: str | None = None
    transfer: str | None = None
    input: InputIn | None = Field(
        default=None, description=f"With template: the file to read. {INPUT_DESCRIPTION}"
    )
    job: dict[str, Any] | None = Field(
        default=None, description="A job document, as a job file holds it"
    )
    cron: str | None = Field(default=None, examples=["0 3 * * 1-5", "daily"])
    at: str | None = Field(default=None, description="One moment, ISO 8601")
    timezone: str | None = Field(
        default=None, description="Alone: the same wall-clock times in this zone"
    )
    misfire: str | None = None
    overlap: str | None = None
    max_failures: int | None = Field(default=None, description="null: no limit")
    description: str | None = None

    # Refused as when adding one, with the way to do it instead; not in the OpenAPI schema.
    job_file: SkipJsonSchema[Any] = Field(default=None, exclude=True)

    @field_validator("job_file")
    @classmethod
    def _no_job_file(cls, value: Any) -> Any:
        return NewScheduleIn._no_job_file(value)


class Change(BaseModel):
    what: str
    before: str
    after: str


class EditedScheduleOut(ScheduleOut):
    """The schedule as changed, and what changed (in words)."""

    changed: list[Change]


class NextTimes(BaseModel):
    name: str
    times: list[datetime]


def schedule_out(info: ScheduleInfo, inputs: RemoteInputs) -> ScheduleOut:
    """A schedule as a remote caller sees it: its files without the server's paths."""
    data = info.to_dict()
    data["input_file"] = inputs.shown(info.input_file)
    data["job_file"] = inputs.shown(info.job_file)
    data["job"] = inputs.shown_document(info.job)
    data["workflow"] = info.template if info.kind == "workflow" else None
    data["transfer"] = info.template if info.kind == "transfer" else None
    return ScheduleOut.model_validate(data)


@router.get("/schedules", response_model=list[ScheduleOut], summary="Every schedule")
def list_schedules(context: Context) -> list[ScheduleOut]:
    inputs = context.workspace.remote_inputs
    return [schedule_out(s, inputs) for s in ScheduleStore(context.workspace.suite).list()]


@router.get(
    "/schedules/{name}",
    response_model=ScheduleOut,
    summary="A schedule",
    responses={404: {"model": ErrorBody}},
)
def get_schedule(context: Context, name: str) -> ScheduleOut:
    return schedule_out(context.workspace.schedules.get(name), context.workspace.remote_inputs)


@router.post(
    "/schedules",
    status_code=201,
    response_model=ScheduleOut,
    summary="Add a schedule (its job checked against the target first)",
    responses={400: {"model": ErrorBody, "description": "Every problem listed"}},
)
def add_schedule(
    context: Context, request: Request, body: Annotated[NewScheduleIn, Body()]
) -> Response:
    document = None
    if body.job is not None:
        document = schedule_document(context, body.job)
    given = input_ref(body.input)
    new = context.workspace.define_schedule(
        body.name,
        job=document,
        template=body.template,
        workflow=body.workflow,
        transfer=body.transfer,
        input_file=context.workspace.remote_inputs.input_file(given, must_exist=False)
        if given is not None
        else None,
        cron=body.cron,
        at=body.at,
        timezone=body.timezone,
        misfire=body.misfire,
        overlap=body.overlap,
        max_failures=body.max_failures,
        description=body.description,
    )
    info = context.workspace.add_schedule(new)
    out = schedule_out(info, context.workspace.remote_inputs)
    location = absolute(request, f"{context.prefix}/schedules/{quote(info.name)}")
    return JSONResponse(
        out.model_dump(mode="json"), status_code=201, headers={"Location": location}
    )


@router.patch(
    "/schedules/{name}",
    response_model=EditedScheduleOut,
    summary="Change a schedule in place (checked as an add; its history, state and ID stay)",
    responses={
        400: {"model": ErrorBody, "description": "Refused: nothing was changed"},
        404: {"model": ErrorBody},
        409: {"model": ErrorBody},
    },
)
def edit_schedule(
    context: Context, name: str, body: Annotated[ScheduleChangesIn, Body()]
) -> EditedScheduleOut:
    given = body.model_fields_set
    inputs = context.workspace.remote_inputs
    file: str | None = None
    if "input" in given:
        ref = input_ref(body.input)
        file = inputs.input_file(ref, must_exist=False) if ref is not None else ""
    failures = body.max_failures
    changes = ScheduleChanges(
        name=body.name,
        job=schedule_document(context, body.job) if body.job is not None else None,
        template=body.template,
        input_file=file,
        workflow=body.workflow,
        transfer=body.transfer,
        cron=body.cron,
        at=body.at,
        timezone=body.timezone,
        misfire=body.misfire,
        overlap=body.overlap,
        max_failures=(NO_LIMIT if failures is None else failures)
        if "max_failures" in given
        else None,
        description=body.description,
    )
    before, info = context.workspace.edit_schedule(name, changes)
    data = schedule_out(info, inputs).model_dump(mode="json")
    data["changed"] = [
        {"what": w, "before": b, "after": a} for w, b, a in differences(before, info)
    ]
    return EditedScheduleOut.model_validate(data)


@router.delete(
    "/schedules/{name}",
    response_model=Deleted,
    summary="Remove a schedule (its runs stay in the history)",
    responses={404: {"model": ErrorBody}},
)
def remove_schedule(context: Context, name: str) -> Deleted:
    context.workspace.remove_schedule(name)
    return Deleted(deleted=name)


@router.post(
    "/schedules/{name}/pause",
    response_model=ScheduleOut,
    summary="Stop firing until resumed",
    responses={404: {"model": ErrorBody}, 409: {"model": ErrorBody}},
)
def pause_schedule(context: Context, name: str) -> ScheduleOut:
    context.workspace.schedules.get(name)
    return schedule_out(context.workspace.schedules.pause(name), context.workspace.remote_inputs)


@router.post(
    "/schedules/{name}/resume",
    response_model=ScheduleOut,
    summary="Fire again, from the next slot after now",
    responses={404: {"model": ErrorBody}, 409: {"model": ErrorBody}},
)
def resume_schedule(context: Context, name: str) -> ScheduleOut:
    context.workspace.schedules.get(name)
    info = context.workspace.schedules.resume(name)
    return schedule_out(info, context.workspace.remote_inputs)


@router.post(
    "/schedules/{name}/run-now",
    status_code=202,
    response_model=RunOut,
    summary="Queue a run of the schedule now (its next fire is not affected)",
    responses={404: {"model": ErrorBody}},
)
def run_schedule_now(context: Context, request: Request, name: str) -> Response:
    info = context.workspace.run_schedule_now(name, wait=False)
    context.dispatch()
    out = RunOut.of(info, context.prefix)
    return JSONResponse(
        out.model_dump(mode="json"),
        status_code=202,
        headers={"Location": absolute(request, out.links.self)},
    )


@router.get(
    "/schedules/{name}/next",
    response_model=NextTimes,
    summary="The schedule's next fire times (UTC)",
    responses={404: {"model": ErrorBody}},
)
def next_fire_times(
    context: Context, name: str, count: Annotated[int, Query(ge=1, le=100)] = 5
) -> NextTimes:
    info = context.workspace.schedules.get(name)
    return NextTimes(name=info.name, times=next_times(info, count))
