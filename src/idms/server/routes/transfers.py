"""``/transfers``: iTransfer over HTTP: save (checked first, every problem listed), list, read,
export, delete, run (queued), the runs with what each step sent, and the delta hashes (iDMS's
View Hashing Info)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from idms.server.auth import Context, started_by
from idms.server.idempotency import Caller
from idms.server.routes.hash_views import add_hash_routes
from idms.server.schemas import ErrorBody, RunOut
from idms.server.urls import absolute
from idms.transfers.store import TransferInfo

router = APIRouter(tags=["transfers"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No such transfer"},
    400: {"model": ErrorBody},
}
TRANSFER_EXAMPLE: dict[str, Any] = {
    "name": "LMS nightly",
    "source": {"query": "Members for the LMS"},
    "delta": {"key": "ID"},
    "format": {"format": "csv"},
    "steps": [
        {
            "order": 10,
            "name": "Upload",
            "connection": {
                "type": "http",
                "url": "https://lms.example.org/api/members",
                "auth": {"bearer_secret": "lms-token"},
            },
        }
    ],
    "alerts": {"recipients": ["it@example.org"], "when": "failure"},
}


class TransferOut(BaseModel):
    """A transfer: its state, source, connections and document (as ``export`` gives it)."""

    id: str
    name: str
    description: str
    state: str = Field(description="active or disabled")
    query: str | None
    delta_key: str | None
    steps: int
    connections: list[str | None]
    created_at: datetime
    updated_at: datetime
    document: dict[str, Any]

    @classmethod
    def of(cls, info: TransferInfo) -> TransferOut:
        return cls.model_validate({**info.as_dict(), "document": info.document})


class TransferDeleted(BaseModel):
    deleted: str


class StepSent(BaseModel):
    """What one connection step of a run sent."""

    order: int | None
    name: str | None
    type: str | None
    step: str
    status: str = Field(description="succeeded, failed or skipped")
    message: str | None
    attempts: int
    rows: int | None
    bytes: int | None
    requests: int | None
    remote_path: str | None
    response_code: int | None


class TransferRunOut(BaseModel):
    """A transfer run: how it ended, its rows, and each step's sending."""

    run_id: str
    transfer: str
    status: str
    trigger: str
    message: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    rows_fetched: int | None
    rows_changed: int | None
    removed_keys: list[str] | None
    rows_in_file: int | None
    file_name: str | None
    file_bytes: int | None
    rows_sent: int
    steps: list[StepSent]
    alert: dict[str, Any] | None


@router.get("/transfers", response_model=list[TransferOut], summary="Every transfer")
def list_transfers(context: Context) -> list[TransferOut]:
    return [TransferOut.of(t) for t in context.workspace.transfers()]


@router.post(
    "/transfers",
    response_model=TransferOut,
    summary="Save a transfer (created or replaced; checked first, every problem listed)",
    responses={
        200: {"description": "Replaced"},
        201: {"model": TransferOut, "description": "Created"},
        400: {"model": ErrorBody, "description": "The transfer is invalid: every problem listed"},
    },
)
def save_transfer(
    context: Context,
    request: Request,
    document: Annotated[
        dict[str, Any],
        Body(description="A transfer document (docs/transfers.md)", examples=[TRANSFER_EXAMPLE]),
    ],
) -> Response:
    info, created = context.workspace.save_transfer(document)
    out = TransferOut.of(info).model_dump(mode="json")
    if not created:
        return JSONResponse(out)
    location = absolute(request, f"{context.prefix}/transfers/{quote(info.name)}")
    return JSONResponse(out, status_code=201, headers={"Location": location})


@router.get("/transfers/{name}", response_model=TransferOut, summary="A transfer",
            responses=NOT_FOUND)  # fmt: skip
def get_transfer(context: Context, name: str) -> TransferOut:
    return TransferOut.of(context.workspace.transfer(name))


@router.get(
    "/transfers/{name}/export",
    response_model=dict[str, Any],
    summary="The transfer's document, as a file holds it (POST it back to import it)",
    responses=NOT_FOUND,
)
def export_transfer(context: Context, name: str) -> Response:
    document = context.workspace.export_transfer(name)
    filename = quote("".join(c if c.isalnum() or c in "-_" else "_" for c in name))
    return JSONResponse(
        document, headers={"Content-Disposition": f"attachment; filename={filename}.json"}
    )


@router.delete(
    "/transfers/{name}",
    response_model=TransferDeleted,
    summary="Delete a transfer and its delta hashes (its runs stay in the history)",
    responses=NOT_FOUND,
)
def delete_transfer(context: Context, name: str) -> TransferDeleted:
    context.workspace.delete_transfer(name)
    return TransferDeleted(deleted=name)


@router.post(
    "/transfers/{name}/runs",
    status_code=202,
    response_model=RunOut,
    summary="Queue a run of the transfer (a disabled one too: it is started by hand)",
    responses={
        202: {"description": "Queued; Location is the run's URL"},
        **NOT_FOUND,
        400: {"model": ErrorBody, "description": "Its query needs a prompt it does not give"},
    },
)
def run_transfer(context: Context, caller: Caller, request: Request, name: str) -> Response:
    info = context.workspace.start_transfer(name, trigger="api", started_by=started_by(caller))
    context.dispatch()
    out = RunOut.of(info, context.prefix)
    return JSONResponse(
        out.model_dump(mode="json"),
        status_code=202,
        headers={"Location": absolute(request, out.links.self)},
    )


@router.get(
    "/transfers/{name}/runs",
    response_model=list[TransferRunOut],
    summary="The transfer's runs, newest first, with what each step sent",
    responses=NOT_FOUND,
)
def transfer_runs(
    context: Context, name: str, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> list[TransferRunOut]:
    runs = context.workspace.transfer_runs(name, limit=limit)
    return [TransferRunOut.model_validate(r) for r in runs]


add_hash_routes(router, "transfer")


class TransferHookOut(BaseModel):
    name: str
    url: str = Field(description="POST one JSON object here per record (no token)")


@router.get(
    "/transfers/{name}/hook-url",
    response_model=TransferHookOut,
    summary="An inbound transfer's URL (legacy iTransfer webhook)",
    responses={
        **NOT_FOUND,
        409: {"model": ErrorBody, "description": "The transfer receives nothing (no inbound)"},
    },
)
def hook_url(context: Context, request: Request, name: str) -> TransferHookOut:
    token = context.workspace.transfer_hook_token(name)
    return TransferHookOut(name=name, url=absolute(request, f"/hooks/{token}"))
