"""The sandbox application: the iMIS REST API (docs/rest-contract.md) over an embedded store.

``create_app`` builds a FastAPI app with two routes under the prefix: ``POST /token`` and
``/api/{Entity}[/{identity}]`` (every method; ``/api/iqa`` and ``/api/query`` run the saved
queries ``queries`` finds by IQA path), plus a middleware that matches ``/token``,
``/api`` and ``_execute`` without case, injects faults and latency before a call is handled, and
checks the bearer token of every ``/api`` call. Handlers run in the thread pool, so slow calls
(latency, password hashing) never hold others up; the store serialises the writes.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Iterable
from datetime import datetime

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from idms.config import parse_platform
from idms.errors import (
    CoercionError,
    FilterError,
    InvalidInputError,
    RetryableTargetError,
    UnknownSourceError,
)
from idms.queries.model import SavedQuery
from idms.sandbox.auth import MANAGER_ROLES, Accounts, denied
from idms.sandbox.context import Sandbox
from idms.sandbox.dispatch import Api
from idms.sandbox.faults import FaultPlan, fault_error
from idms.sandbox.http import (
    ApiError,
    Reply,
    json_response,
    parse_json,
    server_error,
    unrouted,
)
from idms.sandbox.paging import ListQuery
from idms.sandbox.restricted import Restricted
from idms.server.limits import BodyLimit, too_large_message
from idms.server.request_ids import RequestIds, request_id
from idms.targets.embedded.target import EmbeddedTarget
from idms.targets.imis import wire

log = logging.getLogger("idms.sandbox")

_SLASHES = re.compile(r"//+")
DEFAULT_TOKEN_LIFETIME = 1209599  # the OWIN template's two weeks, less a second
MAX_BODY = 4 * 1024 * 1024  # ASP.NET's default maxRequestLength, 4096 KB


def normalise_prefix(prefix: str) -> str:
    """``Asi.Scheduler_iMIS/`` -> ``/Asi.Scheduler_iMIS``; '' or '/' -> ''."""
    cleaned = prefix.strip().strip("/")
    return f"/{cleaned}" if cleaned else ""


def create_app(
    target: EmbeddedTarget,
    *,
    platform: str = "ems",
    manager_password: str,
    prefix: str = "",
    faults: FaultPlan | None = None,
    latency_ms: int = 0,
    token_lifetime: int = DEFAULT_TOKEN_LIFETIME,
    queries: Callable[[str], SavedQuery | None] | None = None,
    sysadmins: Iterable[str] = (),
    max_body: int = MAX_BODY,
    manager_roles: Iterable[str] = MANAGER_ROLES,
    manager_password_changed: datetime | None = None,
    restricted: Iterable[str] = (),
) -> FastAPI:
    """The sandbox over ``target``, behaving as iMIS ``platform`` (``ems`` or ``2017``).

    The store's rules follow the platform: ``target.policy.platform`` is set to it. ``MANAGER``
    logs in with ``manager_password``; everything is served under ``prefix``. ``queries`` finds
    the saved query at an IQA path (``QueryStore(engine).find_by_path``) for ``/api/iqa`` and
    ``/api/query``; without it every path is unknown (404). ``sysadmins`` names the store users
    who hold the SysAdmin role as MANAGER does (and may manage other users' logins). A request
    body over ``max_body`` bytes is refused (413) before it is read, as IIS refuses it. Every
    create, update and delete made through the API is notified as iMIS notifies it by the store
    itself, to the URLs it was opened with (``idms.targets.embedded.changes``).

    To try the checks before a run: ``manager_roles`` are MANAGER's roles (SysAdmin and
    RemoteService unless told), ``manager_password_changed`` when its password was last set
    (naive UTC; now unless told), and ``restricted`` names the panel sources (entities) and IQAs
    answered 403 as not available via the REST API (:mod:`idms.sandbox.restricted`).
    """
    plat = parse_platform(platform).value
    if target.policy.platform != plat:
        target.policy.platform = plat
        target.refresh()
    base = normalise_prefix(prefix)
    sandbox = Sandbox(
        target,
        platform=plat,
        manager_password=manager_password,
        token_lifetime=token_lifetime,
        sysadmins=sysadmins,
        manager_roles=manager_roles,
        manager_password_changed=manager_password_changed,
    )
    api = Api(sandbox, queries=queries)
    kept = Restricted(restricted)

    async def token(request: Request) -> Response:
        form = await request.form()
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        return await _run(request, lambda: Reply(200, sandbox.accounts.token(fields)))

    async def entity(request: Request) -> Response:
        method = request.method.upper()
        name = str(request.path_params["entity"])
        ident = request.path_params.get("ident")
        # The middleware let the call in; the session says whose it is (and what they may do).
        caller = sandbox.accounts.session(request.headers.get("authorization"))
        if caller is None:  # the token lapsed in between
            error = denied()
            return json_response(error.status, error.body, error.headers)
        try:
            query = ListQuery.parse(request.query_params.multi_items())
            body = parse_json(await request.body()) if method in ("POST", "PUT") else None
        except ApiError as exc:
            return json_response(exc.status, exc.body, exc.headers)
        refusal = kept.refusal(name, request.query_params.multi_items())
        if refusal is not None:
            return json_response(refusal.status, refusal.body, refusal.headers)
        ident_text = None if ident is None else str(ident)
        # Every handler runs in the thread pool, reads included: measured, eight clients in
        # lock-step are served faster side by side than one after another on the loop.
        return await _run(
            request, lambda: api.dispatch(method, name, ident_text, query, body, caller)
        )

    app = FastAPI(
        title="idms sandbox",
        description="The iMIS REST API over the embedded store.",
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    methods = ["GET", "POST", "PUT", "DELETE", "PATCH"]
    app.add_route(f"{base}/token", token, methods=["POST"])
    app.add_route(f"{base}/api/{{entity}}", entity, methods=methods)
    app.add_route(f"{base}/api/{{entity}}/{{ident:path}}", entity, methods=methods)
    app.add_middleware(
        SandboxMiddleware,
        prefix=base,
        accounts=sandbox.accounts,
        faults=faults,
        latency=max(0, latency_ms) / 1000,
    )
    app.add_middleware(
        BodyLimit,
        limit_for=lambda scope: max_body,
        refuse=lambda limit: json_response(413, wire.http_error(too_large_message(limit))),
    )
    # Outermost: every answer carries X-Request-ID, and an exception nothing answered is logged
    # with its traceback and the request id and answered as iMIS does (500, HttpError).
    app.add_middleware(RequestIds, internal_error=_internal_error, logger=log.name)
    app.add_exception_handler(HTTPException, unrouted)
    app.state.prefix = base
    app.state.sandbox = sandbox
    return app


def _internal_error(rid: str) -> Response:
    """iMIS's answer to a failure it did not foresee: a 500 HttpError, nothing of the cause."""
    error = server_error()
    return json_response(error.status, error.body)


async def _run(request: Request, handler: Callable[[], Reply]) -> Response:
    """Run a handler in the thread pool; its reply, or the error answer iMIS would give (an
    exception of no known kind goes on to :class:`RequestIds`, which logs it)."""
    try:
        reply = await run_in_threadpool(handler)
    except ApiError as exc:
        return json_response(exc.status, exc.body, exc.headers)
    except CoercionError as exc:
        return json_response(400, wire.validation_results([(exc.message, exc.code, None)]))
    except FilterError as exc:
        return json_response(400, wire.validation_results([(exc.message, "invalid_filter", None)]))
    except UnknownSourceError as exc:
        return json_response(404, wire.http_error(exc.message))
    except InvalidInputError as exc:
        return json_response(400, wire.validation_results([(exc.message, "invalid_input", None)]))
    except RetryableTargetError as exc:
        log.warning("request %s: store busy: %s", request_id(request), exc.message)
        return json_response(503, wire.http_error(exc.message), {"Retry-After": "1"})
    return json_response(reply.status, reply.body, reply.headers)


# IIS's request filtering refuses a query string over 2,048 bytes (maxQueryString's default)
# before iMIS sees the request, with its own page: HTTP Error 404.15.
MAX_QUERY_STRING = 2048
QUERY_TOO_LONG = (
    "<html><body><h1>HTTP Error 404.15 - Not Found</h1><p>The request filtering module is "
    "configured to deny a request where the query string is too long.</p></body></html>"
)


class SandboxMiddleware:
    """The query string's length, path case, faults, latency and the bearer check, before any
    handler runs."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        prefix: str,
        accounts: Accounts,
        faults: FaultPlan | None,
        latency: float,
    ) -> None:
        self.app = app
        self.prefix = prefix
        self.accounts = accounts
        self.faults = faults
        self.latency = latency

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if len(scope.get("query_string") or b"") > MAX_QUERY_STRING:
            await Response(QUERY_TOO_LONG, 404, media_type="text/html")(scope, receive, send)
            return
        path = canonical_path(str(scope["path"]), self.prefix)
        scope = dict(scope, path=path)
        is_api = path.startswith(f"{self.prefix}/api/") or path == f"{self.prefix}/api"
        status = self.faults.draw() if is_api and self.faults is not None else None
        if self.latency:
            await asyncio.sleep(self.latency)
        error: ApiError | None = None
        if status is not None:
            error = fault_error(status)
        elif is_api and self.accounts.session(_header(scope, b"authorization")) is None:
            error = denied()
        if error is not None:
            response = json_response(error.status, error.body, error.headers)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _header(scope: Scope, name: bytes) -> str | None:
    headers: list[tuple[bytes, bytes]] = scope.get("headers") or []
    for key, value in headers:
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def canonical_path(path: str, prefix: str) -> str:
    """The path with the prefix, ``/token``, ``/api`` and ``_execute`` in their own case, no
    empty segment (``/api//Party`` is ``/api/Party``) and no trailing slash, so that routing
    matches them as IIS does."""
    path = _SLASHES.sub("/", path)
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/") or "/"
    if prefix:
        head = path[: len(prefix)]
        if head.casefold() != prefix.casefold() or path[len(prefix) : len(prefix) + 1] not in (
            "",
            "/",
        ):
            return path
        path = prefix + path[len(prefix) :]
    rest = path[len(prefix) :]
    parts = rest.split("/")
    if len(parts) == 2 and parts[1].casefold() == "token":
        parts[1] = "token"
    elif len(parts) >= 2 and parts[1].casefold() == "api":
        parts[1] = "api"
        if len(parts) == 4 and parts[3].casefold() == "_execute":
            parts[3] = "_execute"
    return prefix + "/".join(parts)
