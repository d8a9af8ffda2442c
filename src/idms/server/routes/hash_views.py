"""iDMS's View Hashing Info over HTTP, for a workflow (``/workflows/{name}/hashes``) and for a
transfer (``/transfers/{name}/hashes``): the same three routes on both, since a transfer keeps
its delta hashes as a workflow's Delta Hashing step does (:mod:`idms.workflows.hashes`).
Each owner's answers name it under its own kind (``"workflow": name`` or ``"transfer":
name``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from idms.server.auth import Context
from idms.server.params import Offset
from idms.server.schemas import ErrorBody
from idms.workflows.hashes import MAX_LIMIT, HashKind


class HashOut(BaseModel):
    step: str
    key: str
    hash: str = Field(description="The SHA-256 of the row (its canonical JSON) last passed on")
    updated_at: datetime = Field(description="When the run that passed it on succeeded")


class StepHashesOut(BaseModel):
    step: str
    count: int
    updated_at: datetime | None = Field(description="When a key was last stored")


class HashesBase(BaseModel):
    """What the owner's Delta Hashing steps keep (iDMS's View Hashing Info)."""

    step: str | None = Field(description="The step asked for; null: every step")
    key: str | None = Field(description="The key asked for; null: a page of keys")
    count: int = Field(description="Keys kept (in the step asked for, or in all)")
    steps: list[StepHashesOut] = Field(description="Each step that keeps keys: how many")
    keys: list[HashOut] = Field(description="A page of keys in step and key order, or the one key")
    limit: int
    offset: int
    more: bool = Field(description="Keys past this page: ask again from offset + limit")


class DeletedBase(BaseModel):
    step: str | None
    deleted: str | None = Field(description="The key forgotten; null when all were")
    count: int = Field(description="Entries forgotten: its row, or every row, is passed on again")


ANSWERS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No such owner, step, or key kept"},
    400: {"model": ErrorBody},
}


class WorkflowHashesOut(HashesBase):
    workflow: str


class TransferHashesOut(HashesBase):
    transfer: str


class WorkflowHashesDeleted(DeletedBase):
    workflow: str


class TransferHashesDeleted(DeletedBase):
    transfer: str


MODELS: dict[str, tuple[type[HashesBase], type[DeletedBase]]] = {
    "workflow": (WorkflowHashesOut, WorkflowHashesDeleted),
    "transfer": (TransferHashesOut, TransferHashesDeleted),
}


def add_hash_routes(router: APIRouter, kind: HashKind) -> None:
    """GET, DELETE one key and DELETE all on ``/{kind}s/{name}/hashes``, over the facade."""
    path = f"/{kind}s/{{name}}/hashes"
    out, deleted = MODELS[kind]
    what = "Delta Hashing steps" if kind == "workflow" else "delta hashing"
    again, every = (
        ("passes its row on", "passes every row on")
        if kind == "workflow"
        else ("sends its row", "sends every row")
    )

    @router.get(
        path,
        response_model=out,
        summary=f"What the {kind}'s {what} keeps: counts, a page of keys, or one key",
        responses=ANSWERS,
        name=f"{kind}_hashes",
    )
    def hashes(
        context: Context,
        name: str,
        step: Annotated[str | None, Query(description="Only this step")] = None,
        key: Annotated[str | None, Query(description="Only this key (with its hash)")] = None,
        limit: Annotated[int, Query(ge=0, le=MAX_LIMIT, description="Keys per page")] = 100,
        offset: Offset = 0,
    ) -> Any:
        info = context.workspace.workflow_hashes(
            name, kind=kind, step=step, key=key, limit=limit, offset=offset
        )
        return out.model_validate({kind: name, **info.as_dict()})

    @router.delete(
        f"{path}/{{key:path}}",
        response_model=deleted,
        summary=f"Forget one key: the next run {again} again",
        responses=ANSWERS,
        name=f"delete_{kind}_hash",
    )
    def delete_hash(
        context: Context,
        name: str,
        key: str,
        step: Annotated[str | None, Query(description="Only in this step")] = None,
    ) -> Any:
        count = context.workspace.delete_workflow_hash(name, key, kind=kind, step=step)
        return deleted.model_validate({kind: name, "step": step, "deleted": key, "count": count})

    @router.delete(
        path,
        response_model=deleted,
        summary=f"Forget every key: the next run {every}, as its first did",
        responses=ANSWERS,
        name=f"clear_{kind}_hashes",
    )
    def clear_hashes(
        context: Context,
        name: str,
        step: Annotated[str | None, Query(description="Only this step's keys")] = None,
    ) -> Any:
        count = context.workspace.clear_workflow_hashes(name, kind=kind, step=step)
        return deleted.model_validate({kind: name, "step": step, "deleted": None, "count": count})
