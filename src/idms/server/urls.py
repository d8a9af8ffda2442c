"""The URLs the API hands out (Location headers): absolute, as HTTP clients and Power Automate
follow them, built on the address the request came to (behind a proxy, uvicorn's
``--forwarded-allow-ips`` decides whose X-Forwarded-* headers count)."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request

from idms.server.auth import server_context


def absolute(request: Request, path: str) -> str:
    return str(request.base_url).rstrip("/") + path


def polling_headers(request: Request, path: str) -> dict[str, str]:
    """Location and Retry-After of the Asynchronous Request-Reply pattern.

    A caller that gave its token as ``?token=`` (it cannot set headers) gets it back in the
    Location, so that it can poll the same way.
    """
    url = absolute(request, path)
    token = request.query_params.get("token")
    if token and "authorization" not in request.headers:
        url += "?" + urlencode({"token": token})
    return {"Location": url, "Retry-After": str(server_context(request).retry_after)}
