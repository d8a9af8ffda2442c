"""``/hooks``: the URLs that start workflows from outside, without an API token (the random
URL is the secret): ``POST /hooks/{token}`` (iHook, :mod:`idms.workflows.hooks`; or a
transfer's inbound URL, :mod:`idms.transfers.inbound`) and
``POST /hooks/imis/{token}`` (iMIS change notifications, :mod:`idms.workflows.notifications`).
CORS is open on both (``Access-Control-Allow-Origin: *``, preflight answered), as iDMS's."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from idms.documents import DocumentError, read_json
from idms.errors import InvalidInputError
from idms.server.auth import server_context
from idms.server.schemas import ErrorBody, HookAnswer
from idms.workflows.hooks import HookReply, HookRequest, receive
from idms.workflows.notifications import ChangeUrl, deliver

HOOKS_PREFIX = "/hooks"
router = APIRouter(prefix=HOOKS_PREFIX, tags=["hooks"])

ANY_OBJECT: dict[str, Any] = {
    "requestBody": {
        "required": False,
        "content": {
            "application/json": {"schema": {"type": "object", "additionalProperties": True}}
        },
    }
}
EVENTS: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"type": "array", "items": {"type": "object"}},
            }
        },
    }
}


def _request(request: Request, body: bytes) -> HookRequest:
    return HookRequest(
        body=body,
        content_type=request.headers.get("content-type"),
        headers=dict(request.headers),
        method=request.method,
        host=request.headers.get("host", ""),
        query=dict(request.query_params),
    )


def _answer(reply: HookReply) -> Response:
    if reply.body is None:
        return Response(status_code=reply.status)
    return JSONResponse(reply.body, status_code=reply.status)


@router.post(
    "/{token}",
    summary="iHook: start the workflow whose webhook URL this is, with the JSON body as input",
    response_model=HookAnswer,
    openapi_extra=ANY_OBJECT,
    responses={
        202: {"model": HookAnswer, "description": "Queued (a trigger with respond_status 202)"},
        400: {"model": ErrorBody, "description": "Invalid JSON body, or the workflow is disabled"},
        401: {"model": ErrorBody, "description": "Unknown URL, or a bad or stale signature"},
        404: {"model": ErrorBody, "description": "Never sent: an unknown URL answers 401"},
        409: {"model": ErrorBody, "description": "A signed delivery being handled: send it again"},
        413: {"model": ErrorBody, "description": "The body is larger than the webhook takes"},
    },
)
async def webhook(request: Request, token: str) -> Response:
    """A workflow's webhook (iHook), or a transfer's inbound URL (legacy iTransfer), which
    answers as iDMS did: 200 ``{"success": true}``, 400 ``{"success": false,
    "validationErrors": [...]}``, 404 ``{"success": false}`` (disabled), 500 ``{"success":
    false, "error": ...}`` (the record was not written)."""
    body = await request.body()
    workspace = server_context(request).workspace
    legacy = await run_in_threadpool(workspace.receive_transfer_hook, token, body)
    if legacy is not None:
        return JSONResponse(legacy[1], status_code=legacy[0])
    reply = await run_in_threadpool(receive, workspace, token, _request(request, body))
    response = _answer(reply)
    if reply.run_id is not None:  # handed to the executor once the caller has its answer
        response.background = BackgroundTask(server_context(request).dispatch)
    return response


@router.post(
    "/imis/{token}",
    summary="iMIS change notifications (Azure Event Grid): the validation handshake, and every "
    "active workflow whose event types match started",
    openapi_extra=EVENTS,
    responses={
        200: {"description": '{"validationResponse": CODE}, or the runs started'},
        400: {"model": ErrorBody, "description": "Not Event Grid events"},
        401: {"model": ErrorBody, "description": "Unknown or regenerated URL"},
        404: {"model": ErrorBody, "description": "Never sent: an unknown URL answers 401"},
    },
)
async def change_notification(request: Request, token: str) -> Response:
    context = server_context(request)
    workspace = context.workspace
    if not await run_in_threadpool(ChangeUrl(workspace).accepts, token):
        return JSONResponse({"error": True, "message": "The change notification URL is unknown: "
                             "it may have been regenerated."}, status_code=401)  # fmt: skip
    raw = await request.body()
    try:
        body = read_json(raw) if raw.strip() else None
    except (DocumentError, UnicodeDecodeError):
        return JSONResponse(
            {"error": True, "message": "Invalid JSON body: Event Grid events are expected."},
            status_code=400,
        )
    hook = _request(request, raw)
    try:
        done = await run_in_threadpool(
            lambda: deliver(workspace, body, hook.headers, metadata=hook.metadata())
        )
    except InvalidInputError as exc:
        return JSONResponse({"error": True, "message": exc.message}, status_code=400)
    if done.validation_code is not None:
        return JSONResponse({"validationResponse": done.validation_code})
    answer = JSONResponse(
        {
            "error": False,
            "events": done.events,
            "runs": [{"workflow": name, "id": run_id} for name, run_id in done.runs],
        }
    )
    if done.runs:
        answer.background = BackgroundTask(context.dispatch)
    return answer


class HookCors:
    """CORS on the hooks only (any origin, POST, any header; preflight answered); the API
    under /api/v1 keeps none."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=["*"],
            allow_methods=["POST", "OPTIONS"],
            allow_headers=["*"],
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] == "http" and path.startswith(f"{HOOKS_PREFIX}/"):
            await self.cors(scope, receive, send)
            return
        await self.app(scope, receive, send)
