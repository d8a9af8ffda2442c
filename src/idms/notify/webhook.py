"""Notification webhooks: a JSON POST signed the Standard Webhooks way, retried with backoff.

Headers: ``webhook-id`` (the same on every attempt), ``webhook-timestamp`` (Unix seconds of the
attempt) and ``webhook-signature`` (``v1,BASE64``: HMAC-SHA256 of ``ID.TIMESTAMP.BODY`` with the
``whsec_…`` secret), made by the ``standardwebhooks`` package so any receiver's library verifies
them. A 5xx, 429, 408 or a connection failure is retried (three attempts in all, the waits
doubling, a ``Retry-After`` honoured up to a minute); then the webhook is given up with a warning.
"""

from __future__ import annotations

import binascii
import email.utils
import json
import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from standardwebhooks import Webhook
from standardwebhooks.webhooks import EmptyWebhookSecretError

from idms import __version__

log = logging.getLogger("idms.notify")

ATTEMPTS = 3
BACKOFF = 1.0  # seconds before the second attempt; doubled before each next one
MAX_WAIT = 60.0  # the longest Retry-After honoured
TIMEOUT = 10.0
RETRY_STATUSES = frozenset({408, 429})


def signer(secret: str) -> Webhook:
    """The Standard Webhooks signer for ``secret`` (``whsec_`` + base64); ValueError if bad."""
    try:
        return Webhook(secret.strip())
    except (binascii.Error, ValueError, EmptyWebhookSecretError, RuntimeError):
        raise ValueError(
            "IDMS_NOTIFY_WEBHOOK_SECRET is not a Standard Webhooks secret ('whsec_' followed by "
            "base64)"
        ) from None


def signed_headers(
    webhook: Webhook | None, message_id: str, body: str, now: datetime | None = None
) -> dict[str, str]:
    """The headers of one attempt: id, timestamp and (with a secret) the signature."""
    moment = now or datetime.now(UTC)
    headers = {
        "content-type": "application/json",
        "user-agent": f"idms/{__version__}",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(moment.timestamp())),
    }
    if webhook is not None:
        headers["webhook-signature"] = webhook.sign(message_id, moment, body)
    return headers


def send_webhook(
    url: str,
    secret: str | None,
    payload: Mapping[str, Any],
    *,
    message_id: str,
    attempts: int = ATTEMPTS,
    backoff: float = BACKOFF,
) -> bool:
    """POST ``payload`` to ``url``; True once the receiver answered 2xx, False when given up."""
    where = display_endpoint(url)
    webhook: Webhook | None = None
    if secret:
        try:
            webhook = signer(secret)
        except ValueError as exc:
            log.warning("webhook %s to %s not sent: %s", message_id, where, exc)
            return False
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    with httpx.Client(timeout=TIMEOUT, follow_redirects=False) as http:
        for attempt in range(1, attempts + 1):
            wait = backoff * 2 ** (attempt - 1)
            try:
                response = http.post(
                    url,
                    content=body.encode("utf-8"),
                    headers=signed_headers(webhook, message_id, body),
                )
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}"
            else:
                status = response.status_code
                if 200 <= status < 300:
                    log.info("webhook %s delivered to %s (attempt %d)", message_id, where, attempt)
                    return True
                if status < 500 and status not in RETRY_STATUSES:
                    log.warning(
                        "webhook %s to %s refused with HTTP %d: not retried",
                        message_id,
                        where,
                        status,
                    )
                    return False
                problem = f"HTTP {status}"
                wait = retry_after(response.headers.get("retry-after"), default=wait)
            if attempt < attempts:
                log.info(
                    "webhook %s to %s: %s; attempt %d of %d in %.1f s",
                    message_id,
                    where,
                    problem,
                    attempt + 1,
                    attempts,
                    wait,
                )
                time.sleep(wait)
            else:
                log.warning(
                    "webhook %s to %s given up after %d attempts (last: %s)",
                    message_id,
                    where,
                    attempts,
                    problem,
                )
    return False


def retry_after(value: str | None, *, default: float) -> float:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date), at most a minute."""
    if not value:
        return default
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return default
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        seconds = (moment - datetime.now(UTC)).total_seconds()
    return min(MAX_WAIT, max(0.0, seconds))


def display_endpoint(url: str) -> str:
    """The endpoint as logs name it: scheme, host and path; never a query (tokens live there)
    or a user and password."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        if parts.port is not None:
            host = f"{host}:{parts.port}"
        return f"{parts.scheme}://{host}{parts.path}"
    except ValueError:
        return "(an unreadable URL)"
