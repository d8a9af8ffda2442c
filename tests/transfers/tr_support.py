"""What the transfer tests share: a workspace over the embedded demo association with a saved
query, a real HTTP receiver on loopback (recording every request, answering as scripted) and a
real SMTP server (aiosmtpd)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope

from idms.config import Settings
from idms.demo.generate import fill_demo
from idms.queries.model import build_query
from idms.sandbox.server import running_sandbox
from idms.server.app import create_server_app
from idms.state.tokens import TokenStore
from idms.targets.embedded.target import EmbeddedTarget
from idms.workspace import Workspace

TOKEN = "lms-t0ken-very-secret"
QUERY = "Members for the LMS"


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str
    seen: list[Seen] = field(default_factory=list)
    script: dict[str, list[int]] = field(default_factory=dict)  # path -> statuses in turn

    def on(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]


@contextmanager
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            state.seen.append(Seen(self.command, self.path, headers, body))
            scripted = state.script.get(self.path)
            status = scripted.pop(0) if scripted else 200
            payload = json.dumps({"ok": status < 400, "echo": headers.get("authorization")})
            data = payload.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_PUT = do_POST

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()


class Mailbox:
    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted"

    def message(self, index: int = 0) -> EmailMessage:
        raw = bytes(self.envelopes[index].original_content or b"")
        parsed = message_from_bytes(raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


def open_workspace(root: Path, **settings: Any) -> Workspace:
    """A workspace over the demo association (8 contacts), with the saved query the
    transfers read and the receiver's token stored as a secret."""
    ws = Workspace.open(Settings(workspace=root / "ws", lease_seconds=2, **settings))
    store = EmbeddedTarget.from_settings(ws.settings)
    try:
        fill_demo(store.engine, contacts=8, seed=11)
    finally:
        store.close()
    ws.queries.save(
        build_query(
            {
                "name": QUERY,
                "from": "Contact",
                "columns": {"ID": "ImisId", "Last": "LastName", "Email": "Email"},
                "filters": [{"field": "LastName", "op": "startsWith", "prompt": "last"}],
                "order_by": ["ID"],
            }
        )
    )
    from idms.secrets import SecretStore

    SecretStore(ws.suite, ws.box).set("lms-token", TOKEN)
    return ws


def change_email(ws: Workspace, imis_id: str, email: str) -> None:
    """Change one contact in the store, as iMIS would between two nightly runs."""
    store = EmbeddedTarget.from_settings(ws.settings)
    try:
        with store.engine.begin() as conn:
            conn.execute(
                sa.text("UPDATE contacts SET email = :e WHERE imis_id = :i"),
                {"e": email, "i": imis_id},
            )
    finally:
        store.close()


def transfer(url: str, **extra: Any) -> dict[str, Any]:
    """A nightly transfer of the query's rows, only those that changed, as a CSV POSTed to
    ``url`` with the bearer token from the secret store."""
    document: dict[str, Any] = {
        "name": "LMS nightly",
        "source": {"query": QUERY},
        "delta": {"key": "ID"},
        "format": {"format": "csv", "line_ending": "lf", "encoding": "utf-8"},
        "file_name": "members-{{ now | date: '%Y%m%d' }}.csv",
        "steps": [
            {
                "order": 10,
                "name": "Upload to the LMS",
                "connection": {
                    "type": "http",
                    "url": f"{url}/members",
                    "auth": {"bearer_secret": "lms-token"},
                    "retries": 0,
                },
            }
        ],
    }
    document.update(extra)
    return document


def csv_ids(body: bytes) -> list[str]:
    lines = body.decode("utf-8").strip().split("\n")
    assert lines[0] == "ID,Last,Email"
    return [line.split(",")[0] for line in lines[1:]]


@dataclass
class Served:
    workspace: Workspace
    client: httpx.Client  # with an API token


@contextmanager
def served(root: Path) -> Iterator[Served]:
    """``idms serve``'s app (uvicorn on loopback, in a thread) over the workspace in ``root``,
    without an executor: the runs it queues wait for the test to execute them."""
    workspace = Workspace.open(Settings(workspace=root / "ws", lease_seconds=2))
    try:
        _, token = TokenStore(workspace.suite).create("tests")
        app = create_server_app(workspace, None)
        with (
            running_sandbox(app) as base,
            httpx.Client(
                base_url=base, timeout=30, headers={"Authorization": f"Bearer {token}"}
            ) as client,
        ):
            yield Served(workspace, client)
    finally:
        workspace.close()
