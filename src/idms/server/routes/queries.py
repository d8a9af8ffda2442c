"""``/queries``: saved queries (the IQA equivalent), listed, read, saved (checked), deleted, and
their rows read as JSON."""

from __future__ import annotations

from itertools import islice
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from idms import jsontext
from idms.queries.store import QueryInfo
from idms.server.auth import Context
from idms.server.params import Offset
from idms.server.schemas import Deleted, ErrorBody, PromptOut, QueryOut, QueryRows

router = APIRouter(tags=["queries"])

QUERY_EXAMPLE: dict[str, Any] = {
    "from": "UserCredentials",
    "columns": {"ID": "ImisId", "Username": "Username", "Email": "Contact.Email"},
    "filters": [
        {"field": "IsLockedOut", "op": "eq", "value": True},
        {"field": "Contact.LastName", "op": "startsWith", "prompt": "last_name"},
    ],
    "order_by": ["ID"],
}
PARAM_PREFIX = "param."


def query_out(info: QueryInfo) -> QueryOut:
    q = info.query
    return QueryOut(
        name=q.name,
        description=q.description,
        from_=q.from_,
        columns=len(q.columns),
        prompts=[PromptOut(name=n, required=r) for n, r in q.prompt_list()],
        iqa_path=q.iqa_path,
        document=q.to_document(),
        created_at=info.created_at,
        updated_at=info.updated_at,
    )


def _json(out: QueryOut, status: int = 200) -> JSONResponse:
    return JSONResponse(out.model_dump(mode="json", by_alias=True), status_code=status)


@router.get("/queries", response_model=list[QueryOut], summary="The saved queries")
def list_queries(context: Context) -> Response:
    items = [query_out(i).model_dump(mode="json", by_alias=True) for i in context.queries.list()]
    return JSONResponse(items)


@router.get(
    "/queries/{name}",
    response_model=QueryOut,
    summary="A saved query",
    responses={404: {"model": ErrorBody}},
)
def get_query(context: Context, name: str) -> Response:
    return _json(query_out(context.queries.get(name)))


@router.put(
    "/queries/{name}",
    response_model=QueryOut,
    summary="Save a query (checked against the target's sources first)",
    responses={
        200: {"description": "Replaced"},
        201: {"model": QueryOut, "description": "Created"},
        400: {"model": ErrorBody, "description": "The query is invalid: every problem listed"},
    },
)
def put_query(
    context: Context,
    name: str,
    document: Annotated[
        dict[str, Any],
        Body(
            description="A query document, as a query file holds it (INTERFACES.md 'Saved "
            "query'); its name is the one in the URL.",
            examples=[QUERY_EXAMPLE],
        ),
    ],
) -> Response:
    query, new = context.workspace.save_query({**document, "name": name})
    return _json(query_out(context.queries.get(query.name)), 201 if new else 200)


@router.delete(
    "/queries/{name}",
    response_model=Deleted,
    summary="Delete a saved query",
    responses={404: {"model": ErrorBody}},
)
def delete_query(context: Context, name: str) -> Deleted:
    context.queries.get(name)
    context.queries.delete(name)
    return Deleted(deleted=name)


@router.get(
    "/queries/{name}/rows",
    response_model=QueryRows,
    summary="Run a query: its rows as JSON; prompts as param.NAME=VALUE",
    responses={400: {"model": ErrorBody}, 404: {"model": ErrorBody}},
)
def query_rows(
    context: Context,
    request: Request,
    name: str,
    limit: Annotated[int, Query(ge=1, le=10000)] = 100,
    offset: Offset = 0,
) -> QueryRows:
    info = context.queries.get(name)
    params = {
        key[len(PARAM_PREFIX) :]: value
        for key, value in request.query_params.multi_items()
        if key.startswith(PARAM_PREFIX)
    }
    with context.workspace.run_query(info.query, params, offset=offset, limit=limit) as (
        _,
        result,
    ):
        columns = list(result.columns)
        rows = [
            {c: jsontext.plain(v) for c, v in zip(columns, row, strict=False)}
            for row in islice(result, limit)
        ]
        total = result.count() if result.count is not None else None
    return QueryRows(
        query=info.name, columns=columns, offset=offset, limit=limit, total=total, rows=rows
    )
