"""Delivering the embedded store's change notifications (``changes.py``) as Event Grid does.

To each URL (the workspace's ``IDMS_CHANGE_NOTIFY_URLS``, ``idms sandbox --notify URL``):

- first, the subscription-validation handshake iMIS's "Verify and Save" makes: a
  ``Microsoft.EventGrid.SubscriptionValidationEvent`` (header ``aeg-event-type:
  SubscriptionValidation``) whose ``validationCode`` the URL must answer as
  ``{"validationResponse": CODE}``; until it does, nothing else is sent (it is tried again with
  the events' backoff);
- then one POST per change, an array of one event, header ``aeg-event-type: Notification``.

Nothing of it may slow down or break a write: the store only puts the events of a committed
transaction on a bounded queue (a full queue drops them, with a log line), and one background
thread per URL and process sends them. A delivery that fails (no answer, a 5xx, a 408, a 429)
is retried with a growing wait (0.5 s doubled each time, at most 30 s, 8 tries), then dropped
with a log line, as Event Grid drops it after its retries; a refusal (another 4xx) is dropped at
once. Logs name a URL without its secret parts (:func:`shown_url`).

A process that ends (an ``idms import``) first gives what is still queued up to
:data:`DRAIN_SECONDS` to be delivered; what is left then is dropped, with a log line.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import queue
import threading
import time
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from idms.targets.embedded.changes import validation_event

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("idms.store.notify")

MAX_TRIES = 8
FIRST_WAIT = 0.5
MAX_WAIT = 30.0
QUEUE_SIZE = 10_000
TIMEOUT = 10.0
DRAIN_SECONDS = 10.0
MASK = "********"
_SECRET_LENGTH = 16  # a path segment this long is a token (the change URL's is)


def shown_url(url: str) -> str:
    """``url`` as a log may show it: scheme, host and path, with every path segment long enough
    to be a token (``/hooks/imis/{token}``) masked; never a query, a user or a password."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        if parts.port is not None:
            host = f"{host}:{parts.port}"
    except ValueError:
        return "(an unreadable URL)"
    path = "/".join(MASK if len(s) >= _SECRET_LENGTH else s for s in parts.path.split("/"))
    return f"{parts.scheme}://{host}{path}"


class Notifier:
    """Posts change notifications to ``url`` from a background thread (started by
    :meth:`start`, or by the first :meth:`send`)."""

    def __init__(
        self,
        url: str,
        *,
        first_wait: float = FIRST_WAIT,
        max_wait: float = MAX_WAIT,
        max_tries: int = MAX_TRIES,
        queue_size: int = QUEUE_SIZE,
    ) -> None:
        self.url = url
        self.shown = shown_url(url)
        self.first_wait = first_wait
        self.max_wait = max_wait
        self.max_tries = max_tries
        self.queue: queue.Queue[dict[str, Any] | None] = queue.Queue(queue_size)
        self.verified = threading.Event()
        self.sent = 0
        self.dropped = 0
        self.overflowed = 0  # dropped because the queue was full
        self._pending = 0  # queued or being sent
        self._idle = threading.Condition()
        self._abandon = threading.Event()
        self._started = False
        self._thread = threading.Thread(target=self._run, name="store-notify", daemon=True)

    def start(self) -> Notifier:
        with self._idle:
            if not self._started:
                self._started = True
                self._thread.start()
        return self

    def send(self, events: Sequence[dict[str, Any]]) -> None:
        """Queue ``events``; never blocks nor raises (a full queue drops them, logged)."""
        if self._abandon.is_set():
            return
        self.start()
        for item in events:
            with self._idle:
                self._pending += 1
            try:
                self.queue.put_nowait(item)
            except queue.Full:
                self._done(sent=False)
                self.overflowed += 1
                if self.overflowed % 1000 == 1:  # the first, then one line a thousand
                    log.warning(
                        "change notifications to %s dropped: the queue is full (%d so far)",
                        self.shown, self.overflowed,
                    )  # fmt: skip

    def wait_idle(self, timeout: float) -> bool:
        """Wait until everything queued is delivered or dropped (True), or ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def stop(self, timeout: float = DRAIN_SECONDS) -> None:
        """Give what is queued up to ``timeout`` to be delivered, then stop (what is left is
        dropped, with a log line)."""
        idle = self.wait_idle(timeout)
        self._abandon.set()
        if not idle:
            log.warning(
                "%d change notification(s) to %s not delivered before stopping: dropped",
                self._pending, self.shown,
            )  # fmt: skip
        if self._started:
            with contextlib.suppress(queue.Full):
                self.queue.put_nowait(None)
            self._thread.join(1.0)

    # ---- the thread ------------------------------------------------------------------------------

    def _done(self, *, sent: bool) -> None:
        with self._idle:
            if sent:
                self.sent += 1
            else:
                self.dropped += 1
            self._pending -= 1
            if not self._pending:
                self._idle.notify_all()

    def _run(self) -> None:
        import httpx  # here, in the sender's thread: a store with no URL to notify never needs it

        try:
            with httpx.Client(timeout=TIMEOUT) as client:
                self._verify(client)
                while True:
                    item = self.queue.get()
                    if item is None:
                        return
                    if self._abandon.is_set():
                        self._done(sent=False)
                        continue
                    if self._post(client, [item], "Notification", expect=None):
                        self._done(sent=True)
                    else:
                        self._done(sent=False)
                        log.warning(
                            "change notification %s (%s) to %s dropped", item["id"],
                            item["eventType"], self.shown,
                        )  # fmt: skip
        except Exception:  # a bug: said, and the store goes on without notifying this URL
            log.exception("change notifications to %s stopped", self.shown)
            self._abandon.set()

    def _verify(self, client: httpx.Client) -> None:
        wait = self.first_wait
        while not self._abandon.is_set():
            code = uuid.uuid4().hex.upper()
            if self._post(client, [validation_event(code)], "SubscriptionValidation", expect=code):
                self.verified.set()
                log.info("change notification URL verified: %s", self.shown)
                return
            log.warning("change notification URL %s not verified yet; trying again", self.shown)
            self._abandon.wait(wait)
            wait = min(self.max_wait, wait * 2)

    def _post(
        self, client: httpx.Client, events: list[dict[str, Any]], kind: str, *, expect: str | None
    ) -> bool:
        import httpx

        wait = self.first_wait
        for attempt in range(1, self.max_tries + 1):
            try:
                answer = client.post(self.url, json=events, headers={"aeg-event-type": kind})
                if answer.is_success:
                    if expect is None:
                        return True
                    body = answer.json() if answer.content else {}
                    return isinstance(body, dict) and body.get("validationResponse") == expect
                if answer.status_code < 500 and answer.status_code not in (408, 429):
                    log.warning(
                        "change notification refused by %s: %s", self.shown, answer.status_code
                    )
                    return False
                log.info("change notification to %s: %s (try %d)", self.shown,
                         answer.status_code, attempt)  # fmt: skip
            except (httpx.HTTPError, ValueError) as exc:
                log.info("change notification to %s: %s (try %d)", self.shown,
                         type(exc).__name__, attempt)  # fmt: skip
            if attempt < self.max_tries and self._abandon.wait(wait):
                return False
            wait = min(self.max_wait, wait * 2)
        return False


# ---- one sender per URL and process -------------------------------------------------------------

_senders: dict[str, Notifier] = {}
_lock = threading.Lock()
_drain_at_exit: list[bool] = []  # one registration per process


def sender(url: str) -> Notifier:
    """The process's sender to ``url`` (made on first use; every store opened in the process
    shares it, so a URL is verified once, and the process's end waits for it, boundedly)."""
    with _lock:
        found = _senders.get(url)
        if found is None:
            if not _drain_at_exit:
                atexit.register(drain)
                _drain_at_exit.append(True)
            found = _senders[url] = Notifier(url)
        return found


def drain(timeout: float = DRAIN_SECONDS) -> None:
    """Give every sender's queue up to ``timeout`` (in all) to be delivered, then stop them."""
    deadline = time.monotonic() + timeout
    with _lock:
        senders = list(_senders.values())
        _senders.clear()
    for one in senders:
        one.stop(max(0.0, deadline - time.monotonic()))
