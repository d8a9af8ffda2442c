"""Idempotency keys of API requests that queue runs: a retried request gets its first run back.

A client that sends ``Idempotency-Key: K`` with a request that queues a run, and sends the same
request again (its first attempt timed out, a flow retried it), gets the run the first attempt
queued instead of a second run. Keys are kept per token for a day (``prune``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, insert, select, update

from idms.db import writer
from idms.state.models import ApiRequestKey, utcnow
from idms.state.store import translate_errors

KEEP = timedelta(days=1)
PENDING = ""  # what ``reserve`` returns while the first request with the key is handled


class RequestKeys:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def reserve(self, token_id: str, key: str) -> str | None:
        """None when ``key`` is new (it is now reserved for this request); otherwise the run
        the first request with it queued, or ``PENDING`` while that request is handled."""
        now = utcnow()
        with translate_errors("Cannot record the request"), writer(self.engine).begin() as conn:
            found = conn.execute(
                select(ApiRequestKey.run_id, ApiRequestKey.created_at).where(
                    ApiRequestKey.token_id == token_id, ApiRequestKey.key == key
                )
            ).first()
            if found is not None and not _stale(found[1], now):
                return str(found[0]) if found[0] is not None else PENDING
            if found is not None:
                conn.execute(
                    delete(ApiRequestKey).where(
                        ApiRequestKey.token_id == token_id, ApiRequestKey.key == key
                    )
                )
            conn.execute(insert(ApiRequestKey).values(token_id=token_id, key=key, created_at=now))
        return None

    def settle(self, token_id: str, key: str, run_id: str) -> None:
        """The request with ``key`` queued ``run_id``."""
        with translate_errors("Cannot record the request"), self.engine.begin() as conn:
            conn.execute(
                update(ApiRequestKey)
                .where(ApiRequestKey.token_id == token_id, ApiRequestKey.key == key)
                .values(run_id=run_id)
            )

    def release(self, token_id: str, key: str) -> None:
        """The request with ``key`` queued nothing: the key may be used again."""
        with translate_errors("Cannot record the request"), self.engine.begin() as conn:
            conn.execute(
                delete(ApiRequestKey).where(
                    ApiRequestKey.token_id == token_id,
                    ApiRequestKey.key == key,
                    ApiRequestKey.run_id.is_(None),
                )
            )

    def prune(self, *, now: datetime | None = None) -> int:
        """Forget the keys older than a day."""
        cutoff = (now or utcnow()) - KEEP
        with translate_errors("Cannot prune the request keys"), self.engine.begin() as conn:
            return int(
                conn.execute(
                    delete(ApiRequestKey).where(ApiRequestKey.created_at < cutoff)
                ).rowcount
            )


def _stale(created: datetime, now: datetime) -> bool:
    return now - created >= KEEP
