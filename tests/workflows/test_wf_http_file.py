"""HTTP Request sending a whole export (``body_file``) to a real HTTP server on loopback: the
file is streamed from the disk with its length (not chunked), larger than what a step may hold
in memory, and sent whole again when the server answers 503 then accepts."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from wf_io_support import context, run_action, workspace

from idms.workflows.actions._files import MAX_FILE_BYTES
from idms.workflows.actions.base import ActionContext


class Received:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.busy = 0  # answer 503 this many times first


@pytest.fixture
def server() -> Iterator[tuple[str, Received]]:
    received = Received()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_PUT(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            digest, left = hashlib.sha256(), length
            while left:
                chunk = self.rfile.read(min(left, 1 << 20))
                if not chunk:
                    break
                digest.update(chunk)
                left -= len(chunk)
            received.requests.append(
                {
                    "length": length,
                    "read": length - left,
                    "sha256": digest.hexdigest(),
                    "chunked": self.headers.get("transfer-encoding"),
                    "type": self.headers.get("content-type"),
                }
            )
            status = 503 if received.busy else 201
            received.busy = max(0, received.busy - 1)
            self.send_response(status)
            if status == 503:
                self.send_header("Retry-After", "0")
            self.send_header("Content-Length", "0")
            self.end_headers()

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", received
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[ActionContext]:
    with workspace(tmp_path) as services:
        yield context(services, tmp_path, step_id="send", run_id="run-9")


def test_a_file_larger_than_an_attachment_is_streamed_whole_and_again_after_a_503(
    server: tuple[str, Received], ctx: ActionContext
) -> None:
    url, received = server
    path = ctx.files / "members.ndjson"
    line = b'{"ID":"101","Name":"Ann Ames","Email":"ann@example.org"}\n'
    with path.open("wb") as out:
        for _ in range(MAX_FILE_BYTES // len(line) + 1000):
            out.write(line)
    size = path.stat().st_size
    assert size > MAX_FILE_BYTES
    expected = hashlib.sha256(path.read_bytes()).hexdigest()
    received.busy = 1
    result = run_action(
        "http_request",
        {"method": "PUT", "url": f"{url}/import", "body_file": "members.ndjson", "retries": 1},
        ctx,
    )
    assert result.output["status"] == 201
    assert [(r["length"], r["read"], r["sha256"]) for r in received.requests] == [
        (size, size, expected),
        (size, size, expected),
    ]
    assert received.requests[0]["chunked"] is None
    assert received.requests[0]["type"] == "application/x-ndjson"
