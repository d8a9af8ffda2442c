"""The largest request body a server takes: :class:`BodyLimit`, an ASGI middleware.

A body larger than the limit is refused with a 413 before it is read: at once when its
``Content-Length`` says so (nothing of it is read), and as soon as the bytes received pass the
limit otherwise (a chunked body, or a ``Content-Length`` that lied). Then the application sees
the client as gone, its own answer is dropped, and the connection is closed: whatever the
client goes on sending is never buffered. The limit may depend on the request (an upload takes
more than a JSON document); each application words its 413 in its own shape.

``idms serve`` and the sandbox both use it.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from idms.config import show_size

__all__ = ["BodyLimit", "too_large_message"]

LimitFor = Callable[[Scope], int]
Refusal = Callable[[int], Response]


def too_large_message(limit: int) -> str:
    return f"The request is too large: at most {show_size(limit)} is accepted here."


class BodyLimit:
    """Refuse request bodies over ``limit_for(scope)`` bytes with ``refuse(limit)`` (a 413)."""

    def __init__(self, app: ASGIApp, *, limit_for: LimitFor, refuse: Refusal) -> None:
        self.app = app
        self.limit_for = limit_for
        self.refuse = refuse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await self._refuse(limit, scope, receive, send)
            return
        received = 0
        refused = False
        started = False

        async def counted_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    if not started:
                        await self._refuse(limit, scope, receive, send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 has been sent; the application's own answer goes nowhere
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, counted_receive, guarded_send)

    async def _refuse(self, limit: int, scope: Scope, receive: Receive, send: Send) -> None:
        response = self.refuse(limit)
        response.headers["Connection"] = "close"  # what the client still sends is not read
        await response(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers") or []:
        if key.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
