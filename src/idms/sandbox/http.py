"""How the sandbox answers: JSON bodies, and the errors iMIS sends (docs/rest-contract.md).

Handlers return a :class:`Reply` or raise :class:`ApiError`; the app turns both into responses.
Every body is made with ``idms.targets.imis.wire`` so the shapes are the ones the client reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from idms.sandbox import jsonbody
from idms.targets.base import RowError
from idms.targets.imis import wire

SERVER_ERROR = "An error occurred. Please contact the administrator."
NOT_IMPLEMENTED = "Operation not implemented"
ARITY = "ArgumentFault: Incorrect number of identity element"
NO_RESOURCE = "No HTTP resource was found that matches the request URI '{uri}'."
NO_METHOD = "The requested resource does not support http method '{method}'."


@dataclass
class Reply:
    """A successful answer: status and JSON body (None answers with an empty body)."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class ApiError(Exception):
    """An error answer: status, JSON body and headers."""

    def __init__(self, status: int, body: Any, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(f"{status}: {body!r}")
        self.status = status
        self.body = body
        self.headers = dict(headers or {})


def ok(body: Any) -> Reply:
    return Reply(200, body)


def created(body: Any) -> Reply:
    return Reply(201, body)


def not_found(message: str) -> ApiError:
    return ApiError(404, wire.http_error(message))


def not_implemented() -> ApiError:
    return ApiError(501, wire.http_error(NOT_IMPLEMENTED))


def server_error() -> ApiError:
    return ApiError(500, wire.http_error(SERVER_ERROR))


def invalid(message: str, code: str | None = None, prop: str | None = None) -> ApiError:
    """400 with a ValidationResults body holding one error."""
    return ApiError(400, wire.validation_results([(message, code, prop)]))


def refused(errors: Iterable[RowError]) -> ApiError:
    """400 with a ValidationResults body: the store's sentences, codes and fields."""
    return ApiError(400, wire.validation_results([(e.message, e.code, e.field) for e in errors]))


def wrong_arity() -> ApiError:
    return invalid(ARITY, "identity_arity")


def encode(body: Any) -> bytes:
    return wire.dumps(body).encode("utf-8")


def json_response(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Response:
    content = b"" if body is None else encode(body)
    return Response(
        content,
        status_code=status,
        headers=dict(headers or {}),
        media_type="application/json; charset=utf-8",
    )


def parse_json(raw: bytes) -> dict[str, Any]:
    """A request body as a JSON object whose member names match without case, or a 400."""
    try:
        body = jsonbody.loads(raw.decode("utf-8-sig") or "null")
    except (UnicodeDecodeError, ValueError):
        raise invalid("The request body is not valid JSON.", "invalid_json") from None
    if not isinstance(body, dict):
        raise invalid("The request body must be a JSON object.", "invalid_json")
    return body


def unrouted(request: Request, exc: Exception) -> Response:
    """What ASP.NET Web API answers for a path no route serves (404) or a method a route does
    not take (405): an HttpError body, as every other iMIS error, not the framework's text."""
    status = getattr(exc, "status_code", 404)
    if status == 405:
        message = NO_METHOD.format(method=request.method)
    else:
        status, message = 404, NO_RESOURCE.format(uri=str(request.url))
    headers = getattr(exc, "headers", None) or {}
    return json_response(status, wire.http_error(message), headers)
