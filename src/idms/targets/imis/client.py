"""The HTTP side of the REST target: one thread-safe client for one iMIS, its token and limits.

``ImisClient`` owns a sync ``httpx.Client`` whose connection pool holds ``concurrency``
connections, and guards every request with

* a bearer token from ``POST {base}/token`` (password grant), fetched on first use and fetched
  again, once, when a call answers 401 (expired or revoked), after which the call is repeated;
* one token bucket (``rate_limit`` requests per second, shared by every thread), or the
  ``pacer`` given, such as the one every worker of an installation shares (``ratelimit.py``);
* an adaptive limit on the requests in flight at once, whichever threads send them: at most
  ``concurrency`` (``map_concurrent`` runs work on that many threads), halved when iMIS answers
  429 and raised again, one at a time, as calls are answered without one (``throttle.py``);
* retries (``retries`` of them) with exponential back-off and jitter on 429, 5xx other than
  501, time-outs and connection errors, waiting what ``Retry-After`` asks for when the server
  says (at most ``max_retry_after`` seconds).

Retries are a small explicit loop rather than ``stamina``: the wait must sometimes be the
server's ``Retry-After`` instead of the computed back-off, a 401 is answered by a new token
without counting as a retry, the semaphore must be released while waiting (so a sleeping retry
does not hold a connection slot), and whether a failure may be retried depends on the method
(a POST whose answer was lost may have been written, so only failures that certainly happened
before the server saw it are retried for POST). Those four rules read more plainly as one
thirty-line loop than as hooks around a decorator.

This module is the one place where httpx errors become idms errors (``errors.py``): transient
failures that outlast the retries raise :class:`RetryableTargetError`, everything else
:class:`TerminalTargetError`; an answer the target must read (400 validation results, 404, 409)
raises :class:`ImisRefused`, a TerminalTargetError carrying the status and decoded body.
The password never appears in a log line, an exception or a ``repr``.
"""

from __future__ import annotations

import email.utils
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any, Protocol, TypeVar

import httpx

from idms.errors import ConfigError, RetryableTargetError, TerminalTargetError
from idms.targets.imis import wire
from idms.targets.imis.throttle import AdaptiveLimit

T = TypeVar("T")
R = TypeVar("R")
Params = Mapping[str, Any] | Sequence[tuple[str, Any]] | None

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
PAGE_LIMIT = wire.MAX_LIMIT
MAX_RETRY_AFTER = 60.0
# Failures after which a POST may have been carried out: never retried for POST.
_MAYBE_SENT = (httpx.ReadTimeout, httpx.WriteTimeout, httpx.ReadError, httpx.RemoteProtocolError)


def imis_base_url(target: str) -> str:
    """``imis+https://host/Prefix/`` -> ``https://host/Prefix`` (plain http(s) URLs pass)."""
    url = target.strip()
    if url.startswith("imis+"):
        url = url[len("imis+") :]
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"An iMIS target looks like imis+https://HOST/[PREFIX], not '{target}'.")
    parsed = httpx.URL(url)
    if not parsed.host:
        raise ConfigError(f"The iMIS target '{target}' names no host.")
    return url.rstrip("/")


class ImisRefused(TerminalTargetError):
    """iMIS answered a request with a status the caller has to read (400, 404, 409 ...)."""

    def __init__(self, method: str, path: str, status: int, body: Any) -> None:
        self.method = method
        self.path = path
        self.status = status
        self.body = body
        super().__init__(f"iMIS answered {status} to {method} {path}: {_summary(body)}")

    @property
    def validation_errors(self) -> list[tuple[str, str | None, str | None]]:
        return wire.validation_errors(self.body)


def _summary(body: Any) -> str:
    if isinstance(body, Mapping):
        errors = wire.validation_errors(body)
        if errors:
            return "; ".join(message for message, _, _ in errors)
        for key in ("Message", "error_description", "error"):
            if body.get(key):
                return str(body[key])
    text = str(body or "").strip()
    return text[:200] if text else "(no message)"


class Pacer(Protocol):
    """What a client asks before each call: a permit, waited for if need be."""

    def acquire(self) -> None: ...


class TokenBucket:
    """``rate`` permits per second for every thread together, bursts of up to ``burst``."""

    def __init__(self, rate: float, burst: float | None = None) -> None:
        if rate <= 0:
            raise ConfigError(f"The rate limit must be positive, not {rate}.")
        self.rate = rate
        self.capacity = max(1.0, burst if burst is not None else 1.0)
        self._tokens = self.capacity
        self._stamp = time.monotonic()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        """Take a permit, waiting for it if the bucket is empty (waiters queue up fairly)."""
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            self._tokens -= 1.0  # reserve now; a negative balance is the queue ahead of us
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if wait > 0:
            time.sleep(wait)


class _Password:
    """Holds the password; prints as stars."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "'********'"

    __str__ = __repr__


class ImisClient:
    """A thread-safe client for the iMIS REST API at ``base_url`` (see the module docstring)."""

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        *,
        concurrency: int = 8,
        rate_limit: float | None = None,
        timeout: float = 30,
        retries: int = 5,
        backoff: float = 0.1,
        max_backoff: float = 10.0,
        max_retry_after: float = MAX_RETRY_AFTER,
        transport: httpx.BaseTransport | None = None,
        pacer: Pacer | None = None,
    ) -> None:
        if concurrency < 1:
            raise ConfigError(f"Concurrency must be at least 1, not {concurrency}.")
        self.base_url = imis_base_url(base_url)
        self.username = username
        self._password = _Password(password)
        self.concurrency = concurrency
        self.retries = max(0, retries)
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_retry_after = max_retry_after
        self._bucket: Pacer | None = pacer
        if pacer is None and rate_limit:
            self._bucket = TokenBucket(rate_limit, burst=concurrency)
        self.limit = AdaptiveLimit(concurrency)
        self._token: str | None = None
        self._token_lock = threading.Lock()
        self._stats_lock = threading.Lock()
        self.calls = 0  # HTTP requests sent, retries and token requests included
        self.retried = 0
        self.authentications = 0
        self._root = self.base_url + "/"
        self._http = httpx.Client(
            base_url=self._root,
            timeout=timeout,
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
            headers={"Accept": "application/json"},
            transport=transport,
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return (
            f"ImisClient({self.base_url!r}, user={self.username!r}, concurrency={self.concurrency})"
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ImisClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- the verbs ---------------------------------------------------------------------------

    def get(self, path: str, params: Params = None) -> Any:
        return self.request("GET", path, params=params)

    def post(self, path: str, body: Any = None) -> Any:
        return self.request("POST", path, json_body=body)

    def put(self, path: str, body: Any = None) -> Any:
        return self.request("PUT", path, json_body=body)

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)

    def paged(self, path: str, params: Params = None, *, limit: int = PAGE_LIMIT) -> Iterator[Any]:
        """Every item of a paged list, page after page (``offset=NextOffset`` while HasNext)."""
        base = _param_list(params)
        offset = 0
        while True:
            page = self.get(path, [*base, ("limit", limit), ("offset", offset)])
            if not isinstance(page, Mapping):
                raise TerminalTargetError(f"iMIS answered GET {path} with no paged result.")
            items, has_next, next_offset, _ = wire.page_items(page)
            yield from items
            if not has_next or not items or next_offset <= offset:
                return
            offset = next_offset

    def map_concurrent(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """``fn`` over ``items`` on up to ``concurrency`` threads; results in the items' order.

        The first exception (in the items' order) is raised once every call has finished.
        """
        work = list(items)
        if len(work) <= 1 or self.concurrency == 1:
            return [fn(item) for item in work]
        with ThreadPoolExecutor(
            max_workers=min(self.concurrency, len(work)), thread_name_prefix="imis"
        ) as pool:
            futures = [pool.submit(fn, item) for item in work]
            # Woken once, when all are done: waiting on each in turn woke this thread for every
            # call answered in order (measured, 7 % of the client's CPU in a batch of updates).
            wait(futures)
            return [f.result() for f in futures]

    # ---- one request, with token, limits and retries ------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Params = None,
        json_body: Any = None,
    ) -> Any:
        """Send one call under ``{base}/api``-relative ``path``; the decoded JSON (None if empty).

        ``path`` is relative to the base URL (``api/Party`` or ``/api/Party``).
        """
        url = path.lstrip("/")
        content = None if json_body is None else wire.dumps(json_body)
        headers = {"Content-Type": "application/json"} if content is not None else {}
        token = self._current_token()
        reauthenticated = False
        attempt = 0
        while True:
            try:
                response = self._send(method, url, params, content, headers, token)
            except httpx.TransportError as exc:
                if attempt >= self.retries or (method == "POST" and isinstance(exc, _MAYBE_SENT)):
                    raise self._transport_error(method, url, exc, attempt) from None
                self._wait(attempt, None)
                attempt += 1
                continue
            status = response.status_code
            if status == 401 and not reauthenticated:
                token = self._renew_token(token)
                reauthenticated = True
                continue
            if status in RETRY_STATUSES and attempt < self.retries:
                self._wait(attempt, response.headers.get("Retry-After"))
                attempt += 1
                continue
            return self._result(method, url, response, attempt)

    def _send(
        self,
        method: str,
        url: str,
        params: Params,
        content: str | None,
        headers: dict[str, str],
        token: str,
    ) -> httpx.Response:
        if self._bucket is not None:
            self._bucket.acquire()
        with self.limit.slot() as epoch:
            self._count()
            response = self._http.request(
                method,
                self._root + url,  # absolute: httpx parses it once, not again to merge it
                params=_param_list(params) or None,
                content=content,
                headers={**headers, "Authorization": f"Bearer {token}"},
            )
        self._pace(response, epoch)
        return response

    def _pace(self, response: httpx.Response, epoch: int) -> None:
        """Fewer calls in flight after a 429, more again after answers without one."""
        if response.status_code == 429:
            self.limit.throttled(epoch)
        else:
            self.limit.answered()

    def _count(self, *, retry: bool = False) -> None:
        with self._stats_lock:
            if retry:
                self.retried += 1
            else:
                self.calls += 1

    def _wait(self, attempt: int, retry_after: str | None) -> None:
        self._count(retry=True)
        delay = _retry_after_seconds(retry_after)
        if delay is not None:
            delay = min(delay, self.max_retry_after)
        else:
            ceiling = min(self.max_backoff, self.backoff * (2**attempt))
            delay = random.uniform(ceiling / 2, ceiling)  # nosec B311 # jitter, not a secret
        time.sleep(delay)

    def _result(self, method: str, url: str, response: httpx.Response, attempt: int) -> Any:
        status = response.status_code
        body = _decode(response)
        if 200 <= status < 300:
            return body
        where = f"{method} /{url}"
        if status == 401:
            raise TerminalTargetError(
                f"iMIS refused the account '{self.username}' for {where} even with a new token "
                "(401): check that the account may use the REST API."
            )
        if status == 403:
            raise TerminalTargetError(
                f"iMIS does not allow the account '{self.username}' to {where} (403)."
            )
        if status in RETRY_STATUSES:
            tries = attempt + 1
            raise RetryableTargetError(
                f"iMIS answered {status} to {where} {tries} time{'s' if tries > 1 else ''}: "
                f"{_summary(body)}"
            )
        raise ImisRefused(method, "/" + url, status, body)

    def _transport_error(
        self, method: str, url: str, exc: httpx.TransportError, attempt: int
    ) -> RetryableTargetError:
        kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "failed"
        tries = attempt + 1
        return RetryableTargetError(
            f"{method} {self.base_url}/{url} {kind} ({type(exc).__name__}) after {tries} "
            f"attempt{'s' if tries > 1 else ''}."
        )

    # ---- the token -----------------------------------------------------------------------------

    def _current_token(self) -> str:
        token = self._token
        if token is not None:
            return token
        return self._renew_token(None)

    def _renew_token(self, stale: str | None) -> str:
        """A new token, unless another thread already replaced ``stale`` with one."""
        with self._token_lock:
            if self._token is not None and self._token != stale:
                return self._token
            self._token = self._fetch_token()
            return self._token

    def _fetch_token(self) -> str:
        form = {
            "grant_type": "password",
            "username": self.username,
            "password": self._password.reveal(),
        }
        attempt = 0
        while True:
            try:
                if self._bucket is not None:
                    self._bucket.acquire()
                with self.limit.slot() as epoch:
                    self._count()
                    response = self._http.post("token", data=form)
                self._pace(response, epoch)
            except httpx.TransportError as exc:
                if attempt >= self.retries:
                    raise self._transport_error("POST", "token", exc, attempt) from None
                self._wait(attempt, None)
                attempt += 1
                continue
            if response.status_code in RETRY_STATUSES and attempt < self.retries:
                self._wait(attempt, response.headers.get("Retry-After"))
                attempt += 1
                continue
            break
        body = _decode(response)
        if response.status_code == 200 and isinstance(body, Mapping) and body.get("access_token"):
            with self._stats_lock:
                self.authentications += 1
            return str(body["access_token"])
        reason = _summary(body)
        if response.status_code in RETRY_STATUSES:
            raise RetryableTargetError(
                f"iMIS could not issue a token ({response.status_code}): {reason}"
            )
        raise TerminalTargetError(
            f"iMIS refused the login of '{self.username}' at {self.base_url}/token "
            f"({response.status_code}): {reason}"
        )


def _param_list(params: Params) -> list[tuple[str, Any]]:
    if params is None:
        return []
    if isinstance(params, Mapping):
        return list(params.items())
    return list(params)


def _decode(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return response.text


def _retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds to wait (delta-seconds or an HTTP date); else None."""
    if not value:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - time.time()
    return max(seconds, 0.0)
