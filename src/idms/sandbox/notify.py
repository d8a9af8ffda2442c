"""Change notifications from the sandbox, as iMIS sends them (``idms sandbox --notify URL``).

iMIS delivers a change notification through Azure Event Grid for each change; the sandbox does
the same for every create, update and delete made through its REST API, so the whole loop
(change in "iMIS" → ``idms serve`` → a workflow run) is rehearsed locally:

- at start, the subscription-validation handshake iMIS's "Verify and Save" makes: a
  ``Microsoft.EventGrid.SubscriptionValidationEvent`` (header ``aeg-event-type:
  SubscriptionValidation``) whose ``validationCode`` the URL must answer as
  ``{"validationResponse": CODE}``; until it does, nothing else is sent (it is tried again with
  the events' backoff);
- then one POST per change, an array of one event in the Event Grid schema (``eventType``
  ``Party.Created``/``Updated``/``Deleted``, ``Activity.…``, with the entity's id in ``data.Id``
  and in the subject ``Party/ID``), header ``aeg-event-type: Notification``.

Everything is sent by a background thread from a queue: a request of the sandbox never waits
for it nor fails because of it. A delivery that fails (no answer, a 5xx, a 429) is retried
with a growing wait (0.5 s doubled each time, at most 30 s, 8 tries), then dropped with a log
line, as Event Grid drops it after its retries.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

log = logging.getLogger("idms.sandbox.notify")

TOPIC = "/idms/sandbox"
ACTIONS = {"POST": "Created", "PUT": "Updated", "DELETE": "Deleted"}
MAX_TRIES = 8
FIRST_WAIT = 0.5
MAX_WAIT = 30.0
QUEUE_SIZE = 10_000
TIMEOUT = 10.0


def event(entity: str, entity_id: str, action: str) -> dict[str, Any]:
    """One Event Grid event of a change to ``entity`` ``entity_id``."""
    return {
        "id": str(uuid.uuid4()),
        "topic": TOPIC,
        "subject": f"{entity}/{entity_id}",
        "eventType": f"{entity}.{action}",
        "eventTime": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "data": {"EntityTypeName": entity, "Id": entity_id, "Action": action},
        "dataVersion": "1.0",
        "metadataVersion": "1",
    }


def validation_event(code: str) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "topic": TOPIC,
        "subject": "",
        "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
        "eventTime": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "data": {"validationCode": code, "validationUrl": None},
        "dataVersion": "2",
        "metadataVersion": "1",
    }


class Notifier:
    """Posts the sandbox's change notifications to ``url`` from a background thread."""

    def __init__(
        self,
        url: str,
        *,
        first_wait: float = FIRST_WAIT,
        max_wait: float = MAX_WAIT,
        max_tries: int = MAX_TRIES,
    ) -> None:
        self.url = url
        self.first_wait = first_wait
        self.max_wait = max_wait
        self.max_tries = max_tries
        self.queue: queue.Queue[dict[str, Any] | None] = queue.Queue(QUEUE_SIZE)
        self.verified = threading.Event()
        self.sent = 0
        self.dropped = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sandbox-notify", daemon=True)

    def start(self) -> Notifier:
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop once what is queued is sent (or ``timeout`` passes)."""
        self._stop.set()
        with contextlib.suppress(queue.Full):
            self.queue.put_nowait(None)
        self._thread.join(timeout)

    def changed(self, entity: str, entity_id: str, method: str) -> None:
        """Queue the notification of a change made by ``method`` (POST, PUT, DELETE); never
        blocks (a full queue drops it, with a log line)."""
        action = ACTIONS.get(method.upper())
        if action is None or not entity_id:
            return
        try:
            self.queue.put_nowait(event(entity, entity_id, action))
        except queue.Full:
            self.dropped += 1
            log.warning("change notification of %s %s dropped: queue full", entity, entity_id)

    # ---- the thread ------------------------------------------------------------------------------

    def _run(self) -> None:
        with httpx.Client(timeout=TIMEOUT) as client:
            self._verify(client)
            while True:
                item = self.queue.get()
                if item is None:
                    return
                if self._post(client, [item], "Notification", expect=None):
                    self.sent += 1
                else:
                    self.dropped += 1
                    log.warning(
                        "change notification %s (%s) dropped after %d tries",
                        item["id"], item["eventType"], self.max_tries,
                    )  # fmt: skip

    def _verify(self, client: httpx.Client) -> None:
        wait = self.first_wait
        while not self._stop.is_set():
            code = uuid.uuid4().hex.upper()
            if self._post(client, [validation_event(code)], "SubscriptionValidation", expect=code):
                self.verified.set()
                log.info("change notification URL verified: %s", self.url)
                return
            log.warning("change notification URL %s not verified yet; trying again", self.url)
            self._stop.wait(wait)
            wait = min(self.max_wait, wait * 2)

    def _post(
        self, client: httpx.Client, events: list[dict[str, Any]], kind: str, *, expect: str | None
    ) -> bool:
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
                    log.warning("change notification refused: %s %s", answer.status_code,
                                answer.text[:200])  # fmt: skip
                    return False
            except (httpx.HTTPError, ValueError) as exc:
                log.info("change notification: %s (try %d)", exc, attempt)
            if attempt < self.max_tries:
                time.sleep(wait)
                wait = min(self.max_wait, wait * 2)
        return False
