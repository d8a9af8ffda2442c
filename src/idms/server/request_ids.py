"""Every request's id, and the last word on an error nothing else answered.

:class:`RequestIds` is the outermost middleware of ``idms serve`` and of the sandbox: it gives
each request an id (the caller's ``X-Request-ID`` when it is a sensible one, a new one
otherwise), sends it back as ``X-Request-ID`` on every answer, and keeps it in the request's
state (:func:`request_id`) for the error handlers. An exception no handler answered is logged
here, with its traceback and the request id, and answered with a 500 that names neither the
exception nor anything of its text: the body the app's ``internal_error`` makes, which carries
the id too. So a person who reports a 500 gives the id, and the administrator finds the
traceback in the log by it.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from typing import Any

from starlette.requests import HTTPConnection
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["HEADER", "RequestIds", "request_id"]

HEADER = "X-Request-ID"
_HEADER_KEY = HEADER.lower().encode("latin-1")
# What a caller's id may be: short, and nothing a log line or a header could be bent by.
_SENSIBLE = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_STATE_KEY = "request_id"

InternalError = Callable[[str], Response]


def request_id(connection: HTTPConnection | Scope) -> str:
    """The id :class:`RequestIds` gave the request ("" outside it)."""
    scope = connection.scope if isinstance(connection, HTTPConnection) else connection
    state: dict[str, Any] = scope.get("state") or {}
    return str(state.get(_STATE_KEY, ""))


def _given_id(scope: Scope) -> str | None:
    for key, value in scope.get("headers") or []:
        if key.lower() == _HEADER_KEY:
            text = value.decode("latin-1").strip()
            return text if _SENSIBLE.fullmatch(text) else None
    return None


class RequestIds:
    """Give every HTTP request an id, echo it, and answer (and log) what nothing else did."""

    def __init__(self, app: ASGIApp, *, internal_error: InternalError, logger: str) -> None:
        self.app = app
        self.internal_error = internal_error
        self.log = logging.getLogger(logger)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = _given_id(scope) or uuid.uuid4().hex
        # The per-request state dict (uvicorn gives each request its own copy): handlers and
        # the routes' Request objects read it from there.
        state = scope.setdefault("state", {})
        state[_STATE_KEY] = rid
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() != _HEADER_KEY
                ]
                headers.append((_HEADER_KEY, rid.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            self.log.exception(
                "request %s: %s %s failed", rid, scope.get("method", ""), scope.get("path", "")
            )
            if started:  # part of the answer is out: the connection can only be dropped
                raise
            response = self.internal_error(rid)
            await response(scope, receive, send_with_id)
