"""ImisClient: tokens, paging, base URLs with a prefix, retries, limits, and no password leaks.

Over real HTTP against the sandbox where the sandbox can show it; the timing of retries and
the bound on concurrency are measured against an in-process transport, where they are exact.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import httpx
import pytest

from idms.errors import ConfigError, RetryableTargetError, TerminalTargetError
from idms.sandbox.faults import FaultPlan
from idms.targets.base import Change, ChangeKind
from idms.targets.embedded.target import EmbeddedTarget
from idms.targets.imis import wire
from idms.targets.imis.client import ImisClient, ImisRefused, TokenBucket, imis_base_url

from .conftest import MANAGER, MANAGER_PASSWORD, Serve

NewStore = Callable[[str], EmbeddedTarget]


def add_contacts(store: EmbeddedTarget, count: int) -> None:
    changes = [
        Change(ChangeKind.INSERT, {"FirstName": f"P{i}", "LastName": "Paged"}, ref=i)
        for i in range(count)
    ]
    store.apply("Contact", changes)


# ---- base URLs ----


def test_base_url_forms() -> None:
    assert imis_base_url("imis+https://imis.example.org/") == "https://imis.example.org"
    assert (
        imis_base_url("imis+http://127.0.0.1:8081/Asi.Scheduler_iMIS/")
        == "http://127.0.0.1:8081/Asi.Scheduler_iMIS"
    )
    assert imis_base_url("https://h/x") == "https://h/x"
    with pytest.raises(ConfigError):
        imis_base_url("imis+ftp://h/")


def test_a_base_url_with_a_path_prefix(new_store: NewStore, serve: Serve) -> None:
    store = new_store("imis")
    add_contacts(store, 3)
    served = serve(store, prefix="Asi.Scheduler_iMIS")
    assert served.url.endswith("/Asi.Scheduler_iMIS")
    with ImisClient("imis+" + served.url + "/", MANAGER, MANAGER_PASSWORD) as client:
        assert client.base_url == served.url
        items = list(client.paged("api/Party"))
        assert len(items) == 3
        first = wire.find(items[0], "Id")
        assert client.get(f"/api/Party/{first}")["Id"] == first


# ---- tokens ----


def test_token_is_fetched_once_and_again_after_it_expires(
    new_store: NewStore, serve: Serve
) -> None:
    store = new_store("imis")
    add_contacts(store, 2)
    served = serve(store, token_lifetime=1)
    client = served.client()
    assert len(list(client.paged("api/Party"))) == 2
    assert len(list(client.paged("api/Party"))) == 2
    assert client.authentications == 1
    time.sleep(1.2)  # the sandbox now answers 401 to the old token
    assert len(list(client.paged("api/Party"))) == 2
    assert client.authentications == 2
    assert client.retried == 0  # a new token is not a retry


def test_a_revoked_token_is_replaced_once(new_store: NewStore, serve: Serve) -> None:
    served = serve(new_store("imis"))
    client = served.client()
    client.get("api/Party")
    served.app.state.sandbox.accounts._tokens.clear()  # every token revoked
    client.map_concurrent(lambda _: client.get("api/Party"), range(6))
    assert client.authentications == 2  # one new token for all the threads


def test_a_wrong_password_is_terminal_and_never_shown(
    new_store: NewStore, serve: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    served = serve(new_store("imis"))
    secret = "Not-The-Password-77"
    caplog.set_level(logging.DEBUG)
    client = ImisClient(served.url, MANAGER, secret, retries=0)
    with pytest.raises(TerminalTargetError) as info:
        client.get("api/Party")
    client.close()
    assert "MANAGER" in str(info.value)
    assert "incorrect" in str(info.value)
    for text in (str(info.value), repr(info.value), repr(client), caplog.text):
        assert secret not in text
    assert MANAGER_PASSWORD not in repr(served.client())


# ---- paging and filters -------------------------------------------------------------------------


def test_paging_reaches_the_end_and_sees_no_row_twice(new_store: NewStore, serve: Serve) -> None:
    store = new_store("imis")
    add_contacts(store, 1234)
    served = serve(store)
    client = served.client()
    ids = [str(wire.find(item, "Id")) for item in client.paged("api/Party")]
    assert len(ids) == 1234
    assert len(set(ids)) == 1234
    assert client.calls == 1 + 3  # the token, then pages of 500, 500 and 234
    small = [str(wire.find(item, "Id")) for item in client.paged("api/Party", limit=100)]
    assert small == ids
    rest = served.rest()
    assert [r["ImisId"] for r in rest.read("Contact")] == ids


def test_the_sandbox_ignores_unknown_filters_like_imis(new_store: NewStore, serve: Serve) -> None:
    store = new_store("imis")
    add_contacts(store, 5)
    client = serve(store).client()
    assert len(list(client.paged("api/Party", [("NoSuchProperty", "eq:nothing")]))) == 5


class IgnoreFilters(httpx.HTTPTransport):
    """An iMIS that ignores every filter: only paging reaches the server."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        kept = [(k, v) for k, v in request.url.params.multi_items() if k in ("limit", "offset")]
        request.url = request.url.copy_with(params=kept)
        return super().handle_request(request)


def test_filters_are_checked_on_every_row(new_store: NewStore, serve: Serve) -> None:
    store = new_store("imis")
    store.apply(
        "Contact",
        [
            Change(ChangeKind.INSERT, {"FirstName": "Ada", "LastName": "Lovelace",
                                       "Email": "ada@example.org"}),
            Change(ChangeKind.INSERT, {"FirstName": "Grace", "LastName": "Hopper",
                                       "Email": "grace@example.org"}),
            Change(ChangeKind.INSERT, {"FirstName": "Alan", "LastName": "Turing"}),
        ],
    )  # fmt: skip
    served = serve(store)
    deaf = served.rest(transport=IgnoreFilters())
    from idms.sources.filters import Filter

    assert [r["FirstName"] for r in deaf.read("Contact", [Filter.parse("LastName=hopper")])] == [
        "Grace"
    ]
    assert [
        r["FirstName"] for r in deaf.read("Contact", [Filter.parse("Email=endsWith:EXAMPLE.org")])
    ] == ["Ada", "Grace"]
    found = deaf.match("Contact", ["Email"], [{"Email": "ADA@example.org"}, {"Email": None}])
    assert [[r["FirstName"] for r in hits] for hits in found] == [["Ada"], ["Alan"]]


# ---- retries, rate and concurrency --------------------------------------------------------------


def test_faults_are_retried_until_the_call_succeeds(new_store: NewStore, serve: Serve) -> None:
    store = new_store("imis")
    add_contacts(store, 3)
    served = serve(store, faults=FaultPlan.parse("429=0.2,500=0.2", seed=11))
    client = served.client(retries=10, backoff=0.01)
    pages = client.map_concurrent(lambda _: len(list(client.paged("api/Party"))), range(16))
    assert pages == [3] * 16
    assert client.retried > 0


def test_faults_that_outlast_the_retries_are_retryable_errors(
    new_store: NewStore, serve: Serve
) -> None:
    served = serve(new_store("imis"), faults=FaultPlan.parse("500=1"))
    client = served.client(retries=2, backoff=0.01)
    with pytest.raises(RetryableTargetError, match="500"):
        client.get("api/Party")
    assert client.retried == 2


def scripted(statuses: list[int], headers: dict[str, str] | None = None) -> httpx.MockTransport:
    answers = iter(statuses)

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            return httpx.Response(200, json={"access_token": "t", "token_type": "bearer"})
        status = next(answers)
        return httpx.Response(status, json={"Message": "x"}, headers=headers or {})

    return httpx.MockTransport(handle)


def test_retry_after_is_honoured() -> None:
    transport = scripted([429, 429, 200], {"Retry-After": "0.3"})
    with ImisClient("https://imis.test", "u", "p", transport=transport, backoff=0.001) as client:
        started = time.monotonic()
        client.get("api/Party")
        assert time.monotonic() - started >= 0.6
        assert client.retried == 2


def test_not_implemented_and_client_errors_are_not_retried() -> None:
    with ImisClient("https://imis.test", "u", "p", transport=scripted([501])) as client:
        with pytest.raises(ImisRefused) as info:
            client.get("api/UserSecurity")
        assert info.value.status == 501
        assert client.retried == 0
    with ImisClient("https://imis.test", "u", "p", transport=scripted([404])) as client:
        with pytest.raises(ImisRefused):
            client.get("api/Party/1")
        assert client.retried == 0


def test_a_post_whose_answer_was_lost_is_not_repeated() -> None:
    posts = []

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            return httpx.Response(200, json={"access_token": "t"})
        posts.append(request.method)
        raise httpx.ReadTimeout("lost", request=request)

    transport = httpx.MockTransport(handle)
    with ImisClient("https://imis.test", "u", "p", transport=transport, backoff=0.001) as c:
        with pytest.raises(RetryableTargetError, match="timed out"):
            c.post("api/Activity", {})
        assert posts == ["POST"]
        with pytest.raises(RetryableTargetError):
            c.get("api/Activity")
        assert len(posts) == 1 + 1 + c.retries


def test_concurrency_is_bounded_for_every_thread_together() -> None:
    state = {"now": 0, "most": 0}
    lock = threading.Lock()

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            return httpx.Response(200, json={"access_token": "t"})
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
        time.sleep(0.02)
        with lock:
            state["now"] -= 1
        return httpx.Response(200, json={})

    transport = httpx.MockTransport(handle)
    with ImisClient("https://imis.test", "u", "p", concurrency=3, transport=transport) as client:
        client.map_concurrent(lambda _: client.get("api/Party"), range(12))
        outer = [threading.Thread(target=client.get, args=("api/Party",)) for _ in range(6)]
        for t in outer:
            t.start()
        for t in outer:
            t.join()
    assert state["most"] == 3


def test_one_rate_limit_for_all_threads() -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(200, json={"access_token": "t"}))
    with ImisClient(
        "https://imis.test", "u", "p", concurrency=4, rate_limit=50, transport=transport
    ) as client:
        started = time.monotonic()
        client.map_concurrent(lambda _: client.get("api/Party"), range(30))
        elapsed = time.monotonic() - started
    # 31 calls (the token too) at 50 a second, after a burst of 4: at least 27/50 s.
    assert elapsed >= 0.5


def test_token_bucket_waits_in_turn() -> None:
    bucket = TokenBucket(100, burst=1)
    started = time.monotonic()
    for _ in range(11):
        bucket.acquire()
    assert time.monotonic() - started >= 0.09
