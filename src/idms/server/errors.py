"""Errors as the API answers them: ``{"error": true, "message": ..., "problems": [...]}``.

Routes raise :class:`ApiError` for HTTP-level refusals and let the library's own errors through
(``NotFound``, ``Conflict`` and the rest of the one error tree); the handlers here turn each into
its status, once:

| error                                           | status |
|-------------------------------------------------|--------|
| JobInvalid, QueryInvalid, InvalidInputError, a request that does not parse | 400 |
| no token, or a bad one                          | 401    |
| no such run, template, query or schedule        | 404    |
| the run's state forbids it (cancel a finished run) | 409 |
| the target cannot be reached                    | 502    |
| anything else                                   | 500    |

Every problem of an invalid job or query is listed in ``problems``, each with where it is
(``mappings[2].field: ...``), as the command line lists them.

Every answer carries the request's id in ``X-Request-ID`` (``request_ids.py``), and every 5xx
body carries it as ``request_id`` too, the id the log line of the failure starts with. A 500
for an exception no handler knows says only that something went wrong: never the exception's
class, its text or a traceback, which go to the log.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match

from idms.errors import Conflict, IdmsError, InvalidInputError, NotFound, TargetError
from idms.server.request_ids import RequestIds, request_id

log = logging.getLogger("idms.server")

INTERNAL_ERROR = (
    "Something went wrong on the server. Give the administrator the request id "
    "{request_id}: the server's log has the details."
)


class ApiError(Exception):
    """An answer other than success, with its status, message, problems and headers."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        problems: Sequence[str] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.problems = list(problems)
        self.headers = dict(headers or {})


def not_found(message: str) -> ApiError:
    return ApiError(404, message)


def conflict(message: str) -> ApiError:
    return ApiError(409, message)


def error_response(
    status: int,
    message: str,
    problems: Sequence[str] = (),
    headers: Mapping[str, str] | None = None,
    *,
    request: Request | None = None,
) -> JSONResponse:
    """The error body; a 5xx names the request's id (``request_id``) when ``request`` is given."""
    body: dict[str, Any] = {"error": True, "message": message, "problems": list(problems)}
    if status >= 500 and request is not None:
        body["request_id"] = request_id(request)
    return JSONResponse(body, status_code=status, headers=dict(headers or {}))


def internal_error(rid: str) -> JSONResponse:
    """The 500 for an exception no handler answered (:class:`RequestIds` logs it)."""
    body = {
        "error": True,
        "message": INTERNAL_ERROR.format(request_id=rid),
        "problems": [],
        "request_id": rid,
    }
    return JSONResponse(body, status_code=500)


def problems_of(exc: IdmsError) -> list[str]:
    """Every problem an error names: its ``problems`` list, or its message alone."""
    listed = getattr(exc, "problems", None)
    if isinstance(listed, list) and listed:
        return [str(p) for p in listed]
    return [exc.message]


def headline(exc: IdmsError) -> str:
    """The first line of the error's message (the problems follow in their own list)."""
    return exc.message.strip().splitlines()[0].rstrip(":") if exc.message.strip() else ""


def install_error_handlers(app: FastAPI) -> None:
    async def api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        if exc.status >= 500:
            log.warning("request %s: %s", request_id(request), exc.message)
        return error_response(exc.status, exc.message, exc.problems, exc.headers, request=request)

    async def idms_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, IdmsError)
        if isinstance(exc, NotFound):
            return error_response(404, exc.message)
        if isinstance(exc, Conflict):
            return error_response(409, exc.message)
        if isinstance(exc, InvalidInputError):
            return error_response(400, headline(exc), problems_of(exc))
        rid = request_id(request)
        if isinstance(exc, TargetError):
            log.warning("request %s: %s %s: %s", rid, request.method, request.url.path, exc)
            return error_response(502, exc.message, [exc.message], request=request)
        log.error(
            "request %s: %s %s failed: %s", rid, request.method, request.url.path, exc.message,
            exc_info=exc,
        )  # fmt: skip
        return error_response(500, exc.message, [exc.message], request=request)

    async def invalid_request(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        problems = [_describe(e) for e in exc.errors()]
        return error_response(400, "The request is invalid.", problems)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        message = str(exc.detail) if exc.detail else "Error"
        headers = dict(exc.headers or {})
        if exc.status_code == 404 and message == "Not Found":
            message = f"No such endpoint: {request.method} {request.url.path}"
        if exc.status_code == 405 and (allowed := allowed_methods(request)):
            headers["Allow"] = ", ".join(allowed)
            listed = " and ".join(
                [", ".join(allowed[:-1]), allowed[-1]] if allowed[:-1] else allowed
            )
            message = f"This endpoint answers {listed}, not {request.method}."
        return error_response(exc.status_code, message, headers=headers, request=request)

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(IdmsError, idms_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(StarletteHTTPException, http_error)
    # Any other exception: logged with its traceback and answered by internal_error, with the
    # request's id, in the outermost middleware (added last, so it is the outermost).
    app.add_middleware(RequestIds, internal_error=internal_error, logger=log.name)


METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> list[str]:
    """Every method the request's path answers. Each route of the API is one path and one
    method, so the route that refuses a method knows only its own, and ``Allow`` must name
    them all (RFC 9110 15.5.6): each method is tried against the app's routes, as the router
    would match it."""
    routes = request.app.router.routes
    return [
        method
        for method in METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes
        )
    ]


def _describe(error: Mapping[str, Any]) -> str:
    where = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "(request)"
    return f"{where}: {error.get('msg', 'is invalid')}"
