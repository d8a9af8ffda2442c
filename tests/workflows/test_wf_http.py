"""HTTP Request against a real HTTP server on loopback: what it sends (method, headers,
credentials from the secret store, body, batches, the Idempotency-Key) and what it makes of the
answers (JSON, text, 4xx, 5xx, 429 with Retry-After, nothing at all, too much)."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from wf_io_support import Services, context, run_action, workspace

from idms.workflows.actions.base import ActionContext, StepFailed

TOKEN = "tok-3f9a7c1e-secret"
API_KEY = "key-5b2d-secret"
PASSWORD = "pa:ss-w0rd-secret"


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


@dataclass
class Server:
    url: str
    seen: list[Seen] = field(default_factory=list)
    # path -> statuses to answer in turn (then 200); Retry-After sent with each 429
    script: dict[str, list[int]] = field(default_factory=dict)

    def on(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]


@pytest.fixture
def server() -> Iterator[Server]:
    state = Server(url="")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _answer(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length) if length else b""
            seen = Seen(
                self.command,
                parts.path,
                parse_qs(parts.query),
                {k.lower(): v for k, v in self.headers.items()},
                body,
            )
            state.seen.append(seen)
            scripted = state.script.get(parts.path)
            status = scripted.pop(0) if scripted else 200
            if parts.path == "/empty":
                self.send_response(204)
                self.end_headers()
                return
            if parts.path == "/text":
                payload, kind = b"plain words", "text/plain; charset=utf-8"
            elif parts.path == "/big":
                payload, kind = b"x" * (11 * 1024 * 1024), "text/plain"
            else:
                payload = json.dumps(
                    {
                        "method": self.command,
                        "received": len(body),
                        "authorization": self.headers.get("authorization"),
                        "api_key": self.headers.get("x-api-key"),
                    }
                ).encode()
                kind = "application/json"
            self.send_response(status)
            if status == 429:
                self.send_header("Retry-After", "1")
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("X-Server", "test")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _answer

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    with workspace(tmp_path) as found:
        found.secrets.set("board-token", TOKEN)
        found.secrets.set("board-key", API_KEY)
        found.secrets.set("board-password", PASSWORD)
        yield found


@pytest.fixture
def ctx(services: Services, tmp_path: Path) -> ActionContext:
    return context(services, tmp_path, step_id="upload", run_id="run-42")


def test_a_post_sends_method_query_headers_bearer_token_json_body_and_idempotency_key(
    server: Server, ctx: ActionContext
) -> None:
    result = run_action(
        "http_request",
        {
            "method": "post",
            "url": f"{server.url}/members",
            "query": {"page": 2, "active": True},
            "headers": {"X-Trace": "abc"},
            "body": {"id": "101", "name": "Zoë"},
            "auth": {"bearer_secret": "board-token"},
        },
        ctx,
    )
    (seen,) = server.seen
    assert (seen.method, seen.path) == ("POST", "/members")
    assert seen.query == {"page": ["2"], "active": ["true"]}
    assert seen.headers["authorization"] == f"Bearer {TOKEN}"
    assert seen.headers["x-trace"] == "abc"
    assert seen.headers["content-type"] == "application/json"
    assert seen.headers["idempotency-key"] == "idms-run-42-upload"
    assert json.loads(seen.body) == {"id": "101", "name": "Zoë"}
    output = result.output
    assert output["status"] == 200
    assert output["headers"]["x-server"] == "test"
    # The body is parsed JSON; the server echoed the token, which the stored output masks.
    assert output["body"]["method"] == "POST"
    assert output["body"]["authorization"] == "Bearer ********"
    assert TOKEN not in json.dumps(output)


def test_api_key_and_basic_auth_come_from_the_secret_store(
    server: Server, ctx: ActionContext
) -> None:
    run_action(
        "http_request",
        {
            "url": f"{server.url}/a",
            "auth": {"api_key_secret": "board-key", "header": "X-Api-Key"},
        },
        ctx,
    )
    run_action(
        "http_request",
        {
            "method": "DELETE",
            "url": f"{server.url}/b",
            "auth": {"basic_username": "ada", "basic_password_secret": "board-password"},
        },
        ctx,
    )
    assert server.on("/a")[0].headers["x-api-key"] == API_KEY
    basic = server.on("/b")[0].headers["authorization"]
    assert basic.startswith("Basic ")
    assert base64.b64decode(basic[6:]).decode() == f"ada:{PASSWORD}"
    assert server.on("/b")[0].method == "DELETE"


def test_a_secret_that_is_not_stored_fails_the_step_naming_it(
    server: Server, ctx: ActionContext
) -> None:
    with pytest.raises(StepFailed, match="'no-such' that auth names cannot be read") as failed:
        run_action("http_request", {"url": server.url, "auth": {"bearer_secret": "no-such"}}, ctx)
    assert not failed.value.retryable
    assert server.seen == []


def test_1010_rows_in_batches_of_100_are_11_requests_each_a_json_array_with_its_own_key(
    server: Server, ctx: ActionContext
) -> None:
    rows = [{"id": i, "email": f"m{i}@example.org"} for i in range(1010)]
    started = time.monotonic()
    result = run_action(
        "http_request",
        {
            "method": "POST",
            "url": f"{server.url}/batch",
            "batch": {"items": rows, "size": 100, "delay_seconds": 0.05},
        },
        ctx,
    )
    elapsed = time.monotonic() - started
    seen = server.on("/batch")
    assert len(seen) == 11
    chunks = [json.loads(s.body) for s in seen]
    assert [len(c) for c in chunks] == [100] * 10 + [10]
    assert [row for chunk in chunks for row in chunk] == rows
    assert [s.headers["idempotency-key"] for s in seen] == [
        f"idms-run-42-upload-{i}" for i in range(11)
    ]
    assert elapsed >= 10 * 0.05  # the delay between requests, not after the last
    assert [a["status"] for a in result.output] == [200] * 11
    assert result.message == "1,010 rows sent in 11 requests"


def test_429_with_retry_after_is_waited_out_then_sent_again_with_the_same_key(
    server: Server, ctx: ActionContext
) -> None:
    server.script["/busy"] = [429]
    started = time.monotonic()
    result = run_action(
        "http_request", {"method": "POST", "url": f"{server.url}/busy", "body": [1, 2]}, ctx
    )
    waited = time.monotonic() - started
    seen = server.on("/busy")
    assert len(seen) == 2
    assert waited >= 1.0  # Retry-After: 1
    assert seen[0].headers["idempotency-key"] == seen[1].headers["idempotency-key"]
    assert seen[0].body == seen[1].body == b"[1,2]"
    assert result.output["status"] == 200


def test_the_key_stays_the_same_when_the_step_is_tried_again_or_the_run_resumes(
    server: Server, services: Services, tmp_path: Path
) -> None:
    for attempt in (1, 2, 1):  # the first try, the step's retry, the resumed run's try
        again = context(services, tmp_path, step_id="upload", run_id="run-42", attempt=attempt)
        run_action("http_request", {"method": "PUT", "url": f"{server.url}/k"}, again)
    other = context(services, tmp_path, step_id="upload", run_id="run-43")
    run_action("http_request", {"method": "PUT", "url": f"{server.url}/k"}, other)
    keys = [s.headers["idempotency-key"] for s in server.on("/k")]
    assert keys[:3] == ["idms-run-42-upload"] * 3
    assert keys[3] == "idms-run-43-upload"


def test_500_fails_the_step_after_the_retries_with_the_answer_kept(
    server: Server, ctx: ActionContext
) -> None:
    server.script["/down"] = [500, 500, 500]
    with pytest.raises(StepFailed) as failed:
        run_action(
            "http_request",
            {
                "url": f"{server.url}/down",
                "retries": 2,
                "backoff_seconds": 0.01,
                "auth": {"bearer_secret": "board-token"},
            },
            ctx,
        )
    assert len(server.on("/down")) == 3
    message = failed.value.message
    assert "GET 127.0.0.1" in message
    assert "500 Internal Server Error" in message
    assert failed.value.retryable  # the run's retry policy may try again later
    output = failed.value.output
    assert output["status"] == 500
    assert output["request"]["headers"]["Authorization"] == "********"
    assert TOKEN not in json.dumps(output)
    assert TOKEN not in message


def test_4xx_and_5xx_answers_are_kept_when_the_step_is_told_not_to_fail_on_them(
    server: Server, ctx: ActionContext
) -> None:
    server.script["/gone"] = [404]
    server.script["/down"] = [503]
    gone = run_action("http_request", {"url": f"{server.url}/gone", "fail_on_4xx": False}, ctx)
    down = run_action(
        "http_request",
        {"url": f"{server.url}/down", "fail_on_5xx": False, "retries": 0},
        ctx,
    )
    assert gone.output["status"] == 404
    assert down.output["status"] == 503


def test_a_4xx_fails_at_once_without_retries(server: Server, ctx: ActionContext) -> None:
    server.script["/bad"] = [422]
    with pytest.raises(StepFailed, match="was refused: 422 Unprocessable") as failed:
        run_action("http_request", {"method": "PATCH", "url": f"{server.url}/bad"}, ctx)
    assert len(server.on("/bad")) == 1
    assert not failed.value.retryable


def test_an_empty_body_fails_only_when_asked(server: Server, ctx: ActionContext) -> None:
    kept = run_action("http_request", {"url": f"{server.url}/empty"}, ctx)
    assert kept.output["status"] == 204
    assert kept.output["body"] is None
    with pytest.raises(StepFailed, match="answered 204 with an empty body"):
        run_action("http_request", {"url": f"{server.url}/empty", "fail_on_empty_body": True}, ctx)


def test_text_answers_stay_text_and_head_reads_no_body(server: Server, ctx: ActionContext) -> None:
    text = run_action("http_request", {"url": f"{server.url}/text"}, ctx)
    assert text.output["body"] == "plain words"
    head = run_action("http_request", {"method": "HEAD", "url": f"{server.url}/text"}, ctx)
    assert head.output["status"] == 200
    assert head.output["body"] is None


def test_an_answer_over_10_mib_is_refused(server: Server, ctx: ActionContext) -> None:
    with pytest.raises(StepFailed, match="larger than 10 MiB"):
        run_action("http_request", {"url": f"{server.url}/big"}, ctx)


def test_no_answer_at_all_is_retried_then_fails_in_words(ctx: ActionContext) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the block ends: nothing listens there
    with pytest.raises(StepFailed, match=r"got no answer .*2 time") as failed:
        run_action(
            "http_request",
            {"url": f"http://127.0.0.1:{port}/x", "retries": 1, "backoff_seconds": 0},
            ctx,
        )
    assert failed.value.retryable


def test_a_file_written_by_convert_is_uploaded_and_nothing_outside_the_run_is(
    server: Server, ctx: ActionContext
) -> None:
    converted = run_action(
        "convert",
        {"input": [{"id": 1, "note": "=cmd"}], "file_name": "members.csv"},
        ctx,
    )
    run_action(
        "http_request",
        {"method": "POST", "url": f"{server.url}/upload", "body_file": converted.output},
        ctx,
    )
    (seen,) = server.on("/upload")
    assert seen.headers["content-type"] == "text/csv; charset=utf-8"
    assert seen.body.decode("utf-8-sig") == "id,note\r\n1,'=cmd\r\n"
    for outside in ("../../secret.key", "/etc/passwd", {"file_name": "../x.csv"}):
        with pytest.raises(StepFailed, match="not a plain file name"):
            run_action(
                "http_request",
                {"method": "POST", "url": f"{server.url}/upload", "body_file": outside},
                ctx,
            )
    with pytest.raises(StepFailed, match=r"This run has no file named 'other\.csv'"):
        run_action(
            "http_request",
            {"method": "POST", "url": f"{server.url}/upload", "body_file": "other.csv"},
            ctx,
        )
    assert len(server.on("/upload")) == 1


def test_parameters_are_checked_before_anything_is_sent() -> None:
    from pydantic import ValidationError

    from idms.workflows.actions import actions

    model = actions()["http_request"].params
    for wrong, where in [
        ({"url": "ftp://x.org/"}, "url"),
        ({"url": "http://x.org", "method": "TRACE"}, "method"),
        ({"url": "http://x.org", "timeout_seconds": 901}, "timeout_seconds"),
        ({"url": "http://x.org", "body": "a", "batch": {"items": []}}, "one of body"),
        ({"url": "http://x.org", "auth": {"bearer": "t"}}, "auth"),
        ({"url": "http://x.org", "surprise": 1}, "surprise"),
    ]:
        with pytest.raises(ValidationError, match=where):
            model.model_validate(wrong)
