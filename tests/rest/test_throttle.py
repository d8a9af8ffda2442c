"""Concurrency that adapts to 429: fewer calls in flight while iMIS says Too Many Requests, as
many as allowed again once it stops, watched on the wire against the sandbox."""

from __future__ import annotations

import threading
from collections.abc import Callable

import httpx

from idms.sandbox.faults import FaultPlan
from idms.targets.base import Change, ChangeKind
from idms.targets.embedded.target import EmbeddedTarget
from idms.targets.imis.throttle import AdaptiveLimit

from .conftest import Serve

NewStore = Callable[[str], EmbeddedTarget]


class InFlight(httpx.HTTPTransport):
    """Counts the requests waiting for their answer at once (the most since ``reset``)."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 0
        self.most = 0
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)
        try:
            return super().handle_request(request)
        finally:
            with self._lock:
                self.now -= 1

    def reset(self) -> None:
        with self._lock:
            self.most = self.now


def test_concurrency_goes_down_on_429_and_back_up(new_store: NewStore, serve: Serve) -> None:
    store = new_store("imis")
    store.apply("Contact", [Change(ChangeKind.INSERT, {"FirstName": "A", "LastName": "B"})])
    faults = FaultPlan.parse("", seed=3)
    served = serve(store, faults=faults, latency_ms=20)
    wire_count = InFlight()
    client = served.client(
        concurrency=8, retries=30, backoff=0.005, max_retry_after=0.01, transport=wire_count
    )

    def calls(count: int) -> None:
        client.map_concurrent(lambda _: client.get("api/Party"), range(count))

    calls(40)
    assert wire_count.most == 8  # all eight places used while iMIS keeps up
    faults.rates = ((429, 0.4),)
    calls(60)
    assert client.limit.cuts >= 2
    assert client.limit.limit <= 2  # halved at each fresh 429
    wire_count.reset()
    calls(30)
    assert wire_count.most < 8  # still throttled: never all eight places at once
    faults.rates = ()
    calls(300)  # each run of `limit` answers without a 429 adds a place
    assert client.limit.limit == 8
    wire_count.reset()
    calls(40)
    assert wire_count.most == 8


def test_the_429s_of_one_burst_cut_the_limit_once() -> None:
    limit = AdaptiveLimit(8)
    epochs = []
    for _ in range(8):
        with limit.slot() as epoch:
            epochs.append(epoch)
    for epoch in epochs:  # eight calls sent together, all answered 429
        limit.throttled(epoch)
    assert (limit.limit, limit.cuts) == (4, 1)
    with limit.slot() as later:
        pass
    limit.throttled(later)  # a call sent after the cut: news, cut again
    assert limit.limit == 2
    for _ in range(2 + 3):  # two clean answers at 2, three at 3
        limit.answered()
    assert limit.limit == 4
