"""HTTP Request (iDMS "HTTP Request"): one request, or one per batch of rows, to any HTTP API;
the answer (status, headers, body) goes onto the pipeline.

As iDMS: any method, headers, a body (a JSON value, text, or a file an earlier Convert step
wrote), fail on an empty body, on 4xx and on 5xx (the last two by default), and batching of a
tabular array (1,010 rows in batches of 100: 11 requests, each with its chunk as a JSON array)
or of a row set (:mod:`~idms.workflows.actions.rowsets`), read a batch at a time.
Beyond iDMS:

* credentials come from the workspace's stored secrets (``idms secrets set NAME``), named in
  ``auth``; their values never appear in the workflow, in the step's stored output (an answer
  that echoes one has it masked) or in a message;
* a request that gets 429 or 5xx, or no answer at all, is tried again (``retries`` times),
  waiting as long as the server's ``Retry-After`` says or else a doubling backoff, bounded;
* every request carries an ``Idempotency-Key`` that stays the same across these retries, the
  step's retries and the run's resumes (one per batch), so a receiver that honours it acts once;
* the answer is read up to 10 MiB, and the whole exchange bounded by ``timeout_seconds``;
* a file of the run (``body_file``: a whole export) is streamed from the disk, read again for
  each try, so its size is not bounded by memory.
"""

from __future__ import annotations

import base64
import email.utils
import http
import itertools
import json
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from idms.errors import IdmsError, printable
from idms.state.constants import MASK
from idms.workflows.actions._files import run_file_path
from idms.workflows.actions.base import ActionContext, ActionSpec, StepFailed, StepResult
from idms.workflows.actions.rowsets import is_row_set, iter_rows

MAX_RESPONSE_BYTES = 10 * 1024 * 1024
FILE_CHUNK = 256 * 1024  # a body_file is sent in pieces of this size
MAX_RETRY_WAIT = 300.0  # seconds: the longest a Retry-After is honoured (or a backoff grows)
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
FILE_TYPES = {
    ".csv": "text/csv; charset=utf-8",
    ".tsv": "text/tab-separated-values; charset=utf-8",
    ".json": "application/json",
    ".ndjson": "application/x-ndjson",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BearerAuth(Strict):
    """``Authorization: Bearer <the secret's value>``."""

    bearer_secret: str = Field(min_length=1, description="The stored secret holding the token.")


class ApiKeyAuth(Strict):
    """The secret's value in a header of its own (``X-Api-Key: …``)."""

    api_key_secret: str = Field(min_length=1, description="The stored secret holding the key.")
    header: str = Field(default="X-Api-Key", min_length=1, description="The header to put it in.")


class BasicAuth(Strict):
    """HTTP Basic: a user name and the password from a stored secret."""

    basic_username: str = Field(min_length=1, description="The user name (not secret).")
    basic_password_secret: str = Field(
        min_length=1, description="The stored secret holding the password."
    )


class Batch(Strict):
    """One request per ``size`` rows of ``items``, each with its rows as a JSON array body."""

    items: list[Any] | dict[str, Any] = Field(
        description="The rows to send: an array, or an earlier step's row set "
        "(e.g. `{{ steps.changed }}`)."
    )
    size: int = Field(default=100, ge=1, le=100_000, description="Rows per request.")
    delay_seconds: float = Field(
        default=0, ge=0, le=3600, description="The pause between two requests."
    )


class HttpRequestParams(Strict):
    """A step's ``with:`` for ``http_request``."""

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"] = Field(
        default="GET", description="GET, POST, PUT, PATCH, DELETE or HEAD."
    )
    url: str = Field(description="The address, http:// or https:// (templated).")
    headers: dict[str, str] = Field(
        default_factory=dict,
        description="Headers to send (templated values). Put credentials in `auth`, not here.",
    )
    query: dict[str, str | int | float | bool] = Field(
        default_factory=dict, description="Query-string parameters added to the URL."
    )
    body: Any = Field(
        default=None,
        description="The body: an object or array is sent as JSON, text as it is (templated).",
    )
    body_file: str | dict[str, Any] | None = Field(
        default=None,
        description="Send a file of this run instead of `body`: a Convert step's output "
        "(`{{ steps.csv }}`) or the file's name.",
    )
    content_type: str | None = Field(
        default=None,
        description="The body's Content-Type; default application/json for a JSON value, "
        "text/plain for text, by extension for a file (text/csv…).",
    )
    auth: BearerAuth | ApiKeyAuth | BasicAuth | None = Field(
        default=None,
        description="{bearer_secret: NAME} | {api_key_secret: NAME, header: X-Api-Key} | "
        "{basic_username: USER, basic_password_secret: NAME}: values from stored secrets.",
    )
    fail_on_empty_body: bool = Field(
        default=False, description="Fail the step when the answer has no body."
    )
    fail_on_4xx: bool = Field(default=True, description="Fail the step on a 4xx answer.")
    fail_on_5xx: bool = Field(default=True, description="Fail the step on a 5xx answer.")
    batch: Batch | None = Field(
        default=None,
        description="{items, size, delay_seconds}: one request per chunk of rows, the chunk "
        "as the JSON array body (instead of `body`).",
    )
    timeout_seconds: float = Field(
        default=30, gt=0, le=900, description="The longest one request may take (at most 15 min)."
    )
    retries: int = Field(
        default=3,
        ge=0,
        le=10,
        description="How many more times to try a request answered 429 or 5xx, or not "
        "answered at all.",
    )
    backoff_seconds: float = Field(
        default=1.0,
        ge=0,
        le=60,
        description="The first wait before trying again, doubled each time (a Retry-After "
        "header wins), at most 300 s.",
    )
    idempotency_key: bool = Field(
        default=True,
        description="Send an Idempotency-Key header, the same across retries and resumes.",
    )

    @field_validator("batch")
    @classmethod
    def _rows(cls, value: Batch | None) -> Batch | None:
        if value is not None and isinstance(value.items, dict) and not is_row_set(value.items):
            raise ValueError(
                "batch.items must be an array, or an earlier step's rows (e.g. "
                "{{ steps.members }}), not an object"
            )
        return value

    @field_validator("method", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        value = value.strip()
        parts = urlsplit(value)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise ValueError("the URL must start with http:// or https:// and name a host")
        return value

    @model_validator(mode="after")
    def _one_body(self) -> HttpRequestParams:
        given = [n for n in ("body", "body_file", "batch") if getattr(self, n) is not None]
        if len(given) > 1:
            raise ValueError(f"give one of body, body_file and batch, not {' and '.join(given)}")
        return self


class _Exchange:
    """One step's requests: the client, the secrets to mask, the deadline of each request."""

    def __init__(self, params: HttpRequestParams, context: ActionContext) -> None:
        self.params = params
        self.context = context
        self.secrets: list[str] = []
        self.masked_headers: set[str] = {"authorization", "proxy-authorization", "cookie"}
        self.auth_headers = self._auth_headers()

    def _secret(self, name: str) -> str:
        try:
            value = self.context.services.secret(name)
        except IdmsError as exc:
            raise StepFailed(
                f"The stored secret {name!r} that auth names cannot be read: {exc.message}",
                retryable=False,
            ) from None
        if value:
            self.secrets.append(value)
        return value

    def _auth_headers(self) -> dict[str, str]:
        auth = self.params.auth
        if isinstance(auth, BearerAuth):
            return {"Authorization": f"Bearer {self._secret(auth.bearer_secret)}"}
        if isinstance(auth, ApiKeyAuth):
            self.masked_headers.add(auth.header.lower())
            return {auth.header: self._secret(auth.api_key_secret)}
        if isinstance(auth, BasicAuth):
            password = self._secret(auth.basic_password_secret)
            token = base64.b64encode(f"{auth.basic_username}:{password}".encode()).decode()
            self.secrets.append(token)
            return {"Authorization": f"Basic {token}"}
        return {}

    def mask(self, text: str) -> str:
        """``text`` with every secret's value (and its JSON-escaped form) masked."""
        for secret in self.secrets:
            if len(secret) >= 4:
                text = text.replace(secret, MASK)
                escaped = json.dumps(secret)[1:-1]
                if escaped != secret:
                    text = text.replace(escaped, MASK)
        return text

    def request_info(self, headers: Mapping[str, str], part: str) -> dict[str, Any]:
        """What was sent, as the run page may show it: credentials masked."""
        return {
            "method": self.params.method,
            "url": self.params.url,
            "headers": {
                k: (MASK if k.lower() in self.masked_headers else self.mask(v))
                for k, v in headers.items()
            },
            **({"batch": int(part)} if part else {}),
        }

    def send(
        self,
        client: httpx.Client,
        content: bytes | Path | None,
        content_type: str | None,
        part: str,
    ) -> dict[str, Any]:
        """Send one request (tried again on 429, 5xx and no answer); its answer."""
        params = self.params
        headers = {**params.headers}
        if content is not None and content_type is not None:
            headers.setdefault("Content-Type", content_type)
        if params.idempotency_key:
            headers["Idempotency-Key"] = self.context.idempotency_key(part)
        headers.update(self.auth_headers)
        attempts = params.retries + 1
        host = urlsplit(params.url).netloc
        for attempt in range(1, attempts + 1):
            try:
                answer = self._once(client, headers, content)
            except httpx.TransportError as exc:
                problem = f"{params.method} {host} got no answer ({self._describe(exc)})"
                if attempt == attempts:
                    raise StepFailed(
                        f"{problem}, {attempts} time(s). Check the address and that the "
                        "server is up.",
                        output={"request": self.request_info(headers, part)},
                    ) from None
                self._wait(attempt, None, problem)
                continue
            status = answer["status"]
            if status in RETRY_STATUSES and attempt < attempts:
                self._wait(
                    attempt,
                    answer.pop("_retry_after", None),
                    f"{params.method} {host} answered {status}",
                )
                continue
            answer.pop("_retry_after", None)
            self._check(answer, headers, part)
            return answer
        raise AssertionError("unreachable")  # pragma: no cover

    def _once(
        self, client: httpx.Client, headers: dict[str, str], content: bytes | Path | None
    ) -> dict[str, Any]:
        params = self.params
        deadline = time.monotonic() + params.timeout_seconds
        body: bytes | Iterator[bytes] | None = content if not isinstance(content, Path) else None
        if isinstance(content, Path):
            # Streamed from the disk, its length said (not chunked: some servers refuse that).
            headers = {**headers, "Content-Length": str(content.stat().st_size)}
            body = _file_chunks(content)
        with client.stream(
            params.method, params.url, params=params.query, headers=headers, content=body
        ) as response:
            chunks: list[bytes] = []
            size = 0
            if params.method != "HEAD":
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > MAX_RESPONSE_BYTES:
                        raise StepFailed(
                            f"The answer of {params.method} {urlsplit(params.url).netloc} is "
                            f"larger than {MAX_RESPONSE_BYTES // (1024 * 1024)} MiB: it is not "
                            "kept. Ask the server for less (paging, a filter).",
                            retryable=False,
                        )
                    if time.monotonic() > deadline:
                        raise httpx.ReadTimeout("the answer took too long", request=None)
                    chunks.append(chunk)
            raw = b"".join(chunks)
            answer_headers = {k.lower(): self.mask(v) for k, v in response.headers.items()}
            return {
                "status": response.status_code,
                "headers": answer_headers,
                "body": self._body(raw, response),
                "_retry_after": response.headers.get("retry-after"),
            }

    def _body(self, raw: bytes, response: httpx.Response) -> Any:
        if not raw:
            return None
        text = self.mask(raw.decode(response.encoding or "utf-8", errors="replace"))
        kind = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if kind == "application/json" or kind.endswith("+json") or kind == "text/json":
            try:
                return json.loads(text)
            except json.JSONDecodeError:
                return text
        return text

    def _check(self, answer: dict[str, Any], headers: Mapping[str, str], part: str) -> None:
        params = self.params
        status = answer["status"]
        where = f"{params.method} {urlsplit(params.url).netloc}{urlsplit(params.url).path}"
        which = f" (batch {int(part) + 1})" if part else ""
        problem = None
        if 400 <= status < 500 and params.fail_on_4xx:
            problem = f"{where}{which} was refused: {status} {_reason(status)}"
        elif status >= 500 and params.fail_on_5xx:
            problem = f"{where}{which} failed on the server: {status} {_reason(status)}"
        elif params.fail_on_empty_body and answer["body"] in (None, ""):
            problem = f"{where}{which} answered {status} with an empty body"
        if problem is None:
            return
        body = answer["body"]
        if body not in (None, ""):
            shown = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
            problem += f". The server said: {printable(shown[:300])}"
        raise StepFailed(
            problem,
            output={**answer, "request": self.request_info(headers, part)},
            retryable=status in RETRY_STATUSES,
        )

    def _wait(self, attempt: int, retry_after: str | None, problem: str) -> None:
        delay = _retry_after_seconds(retry_after)
        if delay is None:
            delay = self.params.backoff_seconds * 2 ** (attempt - 1)
        delay = min(delay, MAX_RETRY_WAIT)
        self.context.log(f"{problem}; trying again in {delay:g} s")
        time.sleep(delay)

    @staticmethod
    def _describe(exc: httpx.TransportError) -> str:
        if isinstance(exc, httpx.TimeoutException):
            return "it took too long"
        if isinstance(exc, httpx.ConnectError):
            return "the connection was refused or the host is unknown"
        return type(exc).__name__


def _reason(status: int) -> str:
    try:
        return str(http.HTTPStatus(status).phrase)
    except ValueError:
        return ""


def _retry_after_seconds(value: str | None) -> float | None:
    """A Retry-After header (seconds, or an HTTP date) as seconds to wait; None if absent."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as source:
        while chunk := source.read(FILE_CHUNK):
            yield chunk


def _encode(value: Any) -> tuple[bytes, str]:
    if isinstance(value, str):
        return value.encode("utf-8"), "text/plain; charset=utf-8"
    return (
        json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"),
        "application/json",
    )


def _chunks(
    items: list[Any] | dict[str, Any], size: int, context: ActionContext
) -> Iterator[list[Any]]:
    """``items`` (an array, or a row set read one row at a time) in chunks of ``size``: one
    chunk in memory at a time, whatever the number of rows."""
    values: Iterator[Any] = (
        iter_rows(items, context, what="batch.items") if is_row_set(items) else iter(items)
    )
    while chunk := list(itertools.islice(values, size)):
        yield chunk


def _send_batches(
    exchange: _Exchange,
    client: httpx.Client,
    params: HttpRequestParams,
    batch: Batch,
    context: ActionContext,
) -> StepResult:
    """One request per chunk of rows; the answers, in order."""
    answers: list[dict[str, Any]] = []
    sent = 0
    for index, chunk in enumerate(_chunks(batch.items, batch.size, context)):
        if index and batch.delay_seconds:
            time.sleep(batch.delay_seconds)
        content, kind = _encode(chunk)
        try:
            answers.append(exchange.send(client, content, params.content_type or kind, str(index)))
        except StepFailed as exc:
            exc.output = {"failed": exc.output, "answers": answers}
            raise
        sent += len(chunk)
    count = len(answers)
    return StepResult(
        output=answers,
        message=f"{sent:,} rows sent in {count} request{'s' * (count != 1)}",
    )


def _send_one(
    exchange: _Exchange, client: httpx.Client, params: HttpRequestParams, context: ActionContext
) -> StepResult:
    content: bytes | Path | None = None
    kind: str | None = None
    if params.body_file is not None:
        name, content = run_file_path(params.body_file, context)
        suffix = name[name.rfind(".") :].lower() if "." in name else ""
        kind = FILE_TYPES.get(suffix, "application/octet-stream")
    elif params.body is not None:
        content, kind = _encode(params.body)
    answer = exchange.send(client, content, params.content_type or kind, "")
    return StepResult(output=answer, message=f"answered {answer['status']}")


def run(params: HttpRequestParams, data: dict[str, Any], context: ActionContext) -> StepResult:
    exchange = _Exchange(params, context)
    timeout = httpx.Timeout(params.timeout_seconds)
    with httpx.Client(timeout=timeout, follow_redirects=False) as client:
        try:
            if params.batch is not None:
                return _send_batches(exchange, client, params, params.batch, context)
            return _send_one(exchange, client, params, context)
        except httpx.InvalidURL as exc:
            raise StepFailed(f"The URL is not valid: {exc}.", retryable=False) from None
        except (httpx.LocalProtocolError, ValueError) as exc:
            raise StepFailed(
                f"The request cannot be sent: {exchange.mask(str(exc))}. Check the headers "
                "(no line breaks) and the URL.",
                retryable=False,
            ) from None


ACTION = ActionSpec(
    name="http_request",
    label="HTTP Request",
    summary="Call an HTTP API (auth from stored secrets, batching, retries); keep its answer",
    params=HttpRequestParams,
    run=run,
    example="""\
- id: upload
  action: http_request
  with:
    method: POST
    url: https://board.example.org/api/members
    auth: {bearer_secret: board-token}
    batch: {items: "{{ steps.changed }}", size: 100, delay_seconds: 5}
    timeout_seconds: 60
""",
)
