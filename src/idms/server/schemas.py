"""What the API answers, as pydantic models: the OpenAPI document is generated from them.

A run is the ``--json`` object of INTERFACES.md (``run_id``, ``status``, the counts,
``error_file``, by its name alone) followed by what else is known of it; a trigger's answer is
the hook answer (``{"error": false, "id": RUN_ID, "queueTime": ISO8601}``); every error is
``{"error": true, "message": ..., "problems": [...]}``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from idms.jobs.remote import shown_path
from idms.runs.record import RunInfo
from idms.runs.rows import RowResult
from idms.state.store import display_url


class ErrorBody(BaseModel):
    """Every error: what went wrong, and for an invalid job or query every problem found."""

    error: bool = True
    message: str
    problems: list[str] = Field(default_factory=list)
    request_id: str | None = Field(
        default=None,
        description="On a 5xx answer: the request's id (also in the X-Request-ID header), "
        "which the server's log names with the details",
    )


class RunLinks(BaseModel):
    self: str
    status: str
    rows: str
    errors_csv: str
    errors_xlsx: str


class StepCounts(BaseModel):
    """What a workflow run did: how many steps it took, by how they ended."""

    total: int
    succeeded: int
    failed: int
    skipped: int


class RunOut(BaseModel):
    """A run: its outcome counts (which always add up to ``rows``), its state and its story."""

    run_id: str
    status: str = Field(
        description="queued, running, succeeded, completed_with_errors, failed, cancelled "
        "or planned"
    )
    rows: int
    inserted: int
    updated: int
    unchanged: int
    deleted: int
    skipped: int
    errors: int
    error_file: str | None = Field(
        description="The name of the failed-rows file the run wrote (the server's path is "
        "never shown: download it from links.errors_csv or links.errors_xlsx)"
    )
    kind: str
    name: str
    source: str
    action: str
    target: str
    platform: str
    plan_only: bool
    trigger: str
    started_by: str | None = Field(
        description="Who started the run: user:NAME (the web UI), token:NAME (the API), "
        "cli:NAME (the command line, the machine's user), schedule:NAME, or webhook; none "
        "for runs recorded before it was kept"
    )
    schedule_id: str | None
    created_at: datetime
    queued_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    attempts: int
    checkpoint_rows: int
    cancel_requested: bool
    message: str | None
    undo_of: str | None
    undone_by: str | None
    steps: StepCounts | None = Field(
        default=None,
        description="A workflow run's steps once it ended (its rows stay 0: the runs its "
        "steps start count theirs)",
    )
    links: RunLinks

    @classmethod
    def of(cls, info: RunInfo, prefix: str) -> RunOut:
        base = f"{prefix}/runs/{info.id}"
        return cls(
            **{
                **info.as_dict(),
                "target": display_url(info.target),
                "error_file": shown_path(info.error_file),
            },
            links=RunLinks(
                self=base,
                status=f"{base}/status",
                rows=f"{base}/rows",
                errors_csv=f"{base}/errors.csv",
                errors_xlsx=f"{base}/errors.xlsx",
            ),
        )


class RunSummary(BaseModel):
    """A finished run as the polling URL answers it: the ``--json`` object of INTERFACES.md."""

    run_id: str
    status: str
    rows: int
    inserted: int
    updated: int
    unchanged: int
    deleted: int
    skipped: int
    errors: int
    error_file: str | None = Field(
        description="The name of the failed-rows file the run wrote (see RunOut.error_file)"
    )
    message: str | None
    finished_at: datetime | None

    @classmethod
    def of(cls, info: RunInfo) -> RunSummary:
        return cls(
            **info.summary(),
            error_file=shown_path(info.error_file),
            message=info.message,
            finished_at=info.finished_at,
        )


class RowOut(BaseModel):
    """One input row's outcome (passwords are never recorded, so never shown)."""

    row_number: int
    outcome: str
    code: str | None
    message: str | None
    field: str | None
    column: str | None
    identity: dict[str, Any] | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    @classmethod
    def of(cls, row: RowResult) -> RowOut:
        return cls(
            row_number=row.row_number,
            outcome=row.outcome,
            code=row.code,
            message=row.message,
            field=row.field,
            column=row.column,
            identity=row.identity,
            before=row.before,
            after=row.after,
        )


class RowsPage(BaseModel):
    run_id: str
    offset: int
    limit: int
    total: int = Field(description="Rows with the outcomes asked for, in the whole run")
    rows: list[RowOut]


class PlanOut(BaseModel):
    """A plan: what the job would do, row by row; nothing was written."""

    run: RunOut
    rows: list[RowOut] = Field(description="The first rows of the plan (see run.links.rows)")
    options: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Every task option the plan used: {value, from: job | template | global "
        "| built-in}, the layer its value came from (a run of the same job uses the same)",
    )


class HookAnswer(BaseModel):
    """The answer of a fire-and-forget trigger (the iDMS hook answer)."""

    model_config = ConfigDict(populate_by_name=True)

    error: bool = False
    id: str = Field(description="The queued run's ID")
    queue_time: datetime = Field(alias="queueTime", description="When the run was queued")


SHOWN_INPUT = (
    "uploads are shown as upload:ID, a file in an input folder by its path inside that folder "
    "(IDMS_SERVE_INPUT_FOLDERS), any other file by its name alone: never the server's path"
)


class TemplateOut(BaseModel):
    name: str
    description: str
    source: str | None
    action: str | None
    document: dict[str, Any] = Field(
        description=f"The job document saved; its input file, if any: {SHOWN_INPUT}"
    )
    created_at: datetime
    updated_at: datetime


class PromptOut(BaseModel):
    name: str
    required: bool


class QueryOut(BaseModel):
    name: str
    description: str
    from_: str | None = Field(alias="from")
    columns: int
    prompts: list[PromptOut]
    iqa_path: str
    document: dict[str, Any]
    created_at: datetime
    updated_at: datetime

    model_config = ConfigDict(populate_by_name=True)


class QueryRows(BaseModel):
    """A window of a query's rows, by column alias (dates as ISO text, amounts as text)."""

    query: str
    columns: list[str]
    offset: int
    limit: int
    total: int | None = Field(description="Every row of the query, when the target can say")
    rows: list[dict[str, Any]]


class UploadRef(BaseModel):
    """An uploaded file, by the ID ``POST /uploads`` answered."""

    model_config = ConfigDict(extra="forbid")

    upload: str = Field(examples=["4f1c2a9e0b7d3c6e8a5f1b2d"])


InputIn = str | UploadRef
INPUT_DESCRIPTION = (
    'An uploaded file, {"upload": ID} (POST /uploads), or the path of a file in a folder the '
    "administrator lists (IDMS_SERVE_INPUT_FOLDERS; a relative path starts at the first one)"
)


def input_ref(given: InputIn | None) -> str | dict[str, str] | None:
    """What the library takes for an input a request gave."""
    return given.model_dump() if isinstance(given, UploadRef) else given


class UploadOut(BaseModel):
    """An uploaded file: its ID (what a job names, ``"input": {"upload": ID}``), the name it was
    sent with, its size in bytes and its columns (as first read)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "4f1c2a9e0b7d3c6e8a5f1b2d",
                    "name": "attendees.csv",
                    "size": 48213,
                    "created_at": "2026-11-21T16:09:58Z",
                    "columns": ["First", "Last", "E-mail", "Attended"],
                }
            ]
        }
    )

    id: str
    name: str
    size: int
    created_at: datetime
    columns: list[str]


class TemplateRunRequest(BaseModel):
    """Optional body of a template run or trigger: the rows' file, the query's prompts."""

    model_config = ConfigDict(extra="forbid")

    input: InputIn | None = Field(default=None, description=INPUT_DESCRIPTION)
    params: dict[str, Any] = Field(
        default_factory=dict, description="Values for the prompts of the template's saved query"
    )


class Deleted(BaseModel):
    deleted: str
