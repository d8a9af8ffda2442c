"""Who may call the API: a bearer token made with ``idms token create``.

``Authorization: Bearer TOKEN`` is the way; ``?token=TOKEN`` is accepted too, for tools that
cannot set a header (it ends up in logs and browser histories, so prefer the header; the
server's access log masks it). Either way the token is hashed and compared by its hash
(:meth:`TokenStore.verify`); only the hash is stored.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Security
from fastapi.security import APIKeyQuery, HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import Request

from idms.server.context import ServerContext
from idms.server.errors import ApiError
from idms.state.tokens import TokenInfo

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="token",
    description="An API token from 'idms token create NAME', as 'Authorization: Bearer TOKEN'.",
)
_query = APIKeyQuery(
    name="token",
    auto_error=False,
    scheme_name="token_in_query",
    description="The same token as '?token=TOKEN', for tools that cannot set headers.",
)
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="idms"'}


def server_context(request: Request) -> ServerContext:
    context = request.app.state.idms
    assert isinstance(context, ServerContext)
    return context


Context = Annotated[ServerContext, Depends(server_context)]


def started_by(caller: TokenInfo) -> str:
    """Who a run started through the API was started by: the token, by its name."""
    return f"token:{caller.name}"


def require_token(
    context: Context,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    query_token: Annotated[str | None, Security(_query)],
) -> TokenInfo:
    given = credentials.credentials if credentials is not None else query_token
    if not given:
        raise ApiError(
            401,
            "No API token: send the header 'Authorization: Bearer TOKEN' (create a token with "
            "'idms token create NAME').",
            headers=CHALLENGE,
        )
    info = context.tokens.verify(given.strip())
    if info is None:
        raise ApiError(401, "The API token is unknown or revoked.", headers=CHALLENGE)
    return info
