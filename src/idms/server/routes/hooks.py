"""``/hooks``: the URLs that start workflows from outside, without an API token (the random
URL is the secret): ``POST /hooks/{token}`` (iHook, :mod:`idms.workflows.hooks`; or a
transfer's inbound URL, :mod:`idms.transfers.inbound`) and
``POST /hooks/imis/{token}`` (iMIS change notifications, :mod:`idms.workflows.notifications`).
CORS is open on both (``Access-Control-Allow-Origin: *``, preflight answered), as iDMS's."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from anyio import CapacityLimiter, to_thread
from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from idms.documents import DocumentError, read_json
from idms.errors import InvalidInputError
from idms.server.auth import server_context
from idms.server.context import ServerContext
from idms.server.schemas import ErrorBody, HookAnswer
from idms.workflows.hooks import HookReply, HookRequest, receive
from idms.workflows.notifications import ChangeUrl, deliver

if TYPE_CHECKING:
    from idms.workspace import Workspace

HOOKS_PREFIX = "/hooks"
HOOK_THREADS = 4  # webhooks received at once (the others wait their turn, in order)
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
    context = server_context(request)
    reply = await to_thread.run_sync(
        _receive_any, context.workspace, token, request, body, limiter=_limiter(context)
    )
    if isinstance(reply, tuple):  # a transfer's legacy inbound webhook: iDMS's answer
        return JSONResponse(reply[1], status_code=reply[0])
    if reply.run_id is not None:  # the dispatcher's thread hands it over; no waiting here
        context.dispatch()
    return _answer(reply)


def _receive_any(
    workspace: Workspace, token: str, request: Request, body: bytes
) -> HookReply | tuple[int, dict[str, Any]]:
    """A transfer's inbound webhook answered, or else a workflow's webhook received (one
    thread, one turn of the limiter, for both)."""
    legacy = workspace.receive_transfer_hook(token, body)
    if legacy is not None:
        return legacy
    return receive(workspace, token, _request(request, body))


def _limiter(context: ServerContext) -> CapacityLimiter:
    """The few threads webhooks are received in (:data:`HOOK_THREADS`), made in the event loop
    at the first webhook.

    Why few: each delivery is a short write to the suite database, which takes one writer at a
    time. Forty deliveries at once in forty threads (the thread pool's size) only took the
    interpreter and the database's write lock from each other, a thread holding the lock while
    it waited for the interpreter and the others sleeping in SQLite's busy handler: at 100
    deliveries a second, answers took a second. Waiting their turn here instead, in order, they
    are answered in milliseconds."""
    limiter = context.hook_limiter
    if not isinstance(limiter, CapacityLimiter):
        limiter = context.hook_limiter = CapacityLimiter(HOOK_THREADS)
    return limiter


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
        done = await to_thread.run_sync(
            lambda: deliver(workspace, body, hook.headers, metadata=hook.metadata()),
            limiter=_limiter(context),
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
        context.dispatch()
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
