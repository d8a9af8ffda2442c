"""``Idempotency-Key`` on the requests that queue runs: a retried request gets its first run.

Webhook senders and flows retry a request whose answer they did not get (a time-out, a dropped
connection), and a retry must not run the job twice. A request sent with
``Idempotency-Key: K`` (any text up to 200 characters, e.g. a UUID) queues its run once; the
same token sending the same key within a day gets that run back, with
``Idempotent-Replayed: true``, whatever the body says. While the first request is still being
handled, a second one with its key is a 409.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Header

from idms.runs.record import RunInfo
from idms.server.auth import require_token
from idms.server.context import ServerContext
from idms.server.errors import ApiError, conflict
from idms.state.models import NAME_LENGTH
from idms.state.request_keys import PENDING, RequestKeys
from idms.state.tokens import TokenInfo

REPLAYED = "Idempotent-Replayed"

Caller = Annotated[TokenInfo, Depends(require_token)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Send the same key again (a retry) and get the same run, not a second one",
        # What queue_once accepts, said in the document (queue_once checks it, and words the
        # refusal): 1 to NAME_LENGTH characters, not only spaces.
        json_schema_extra={"minLength": 1, "maxLength": NAME_LENGTH, "pattern": r"\S"},
    ),
]


def queue_once(
    context: ServerContext,
    caller: TokenInfo,
    key: str | None,
    queue: Callable[[], RunInfo],
) -> tuple[RunInfo, dict[str, str]]:
    """``queue()``'s run, or the run an earlier request with ``key`` queued; and the headers
    to answer with."""
    if key is None:
        return queue(), {}
    key = key.strip()
    if not key or len(key) > NAME_LENGTH:
        raise ApiError(400, f"The Idempotency-Key must be 1 to {NAME_LENGTH} characters.")
    keys = RequestKeys(context.workspace.suite)
    earlier = keys.reserve(caller.id, key)
    if earlier == PENDING:
        raise conflict("A request with this Idempotency-Key is still being handled.")
    if earlier is not None:
        try:
            return context.runs.get(earlier), {REPLAYED: "true"}
        except Exception:
            raise conflict(
                f"The run this Idempotency-Key queued ({earlier}) is no longer recorded."
            ) from None
    try:
        info = queue()
    except BaseException:
        keys.release(caller.id, key)
        raise
    keys.settle(caller.id, key, info.id)
    return info, {}
