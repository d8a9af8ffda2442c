"""Notifications when a background run ends, against real receivers on loopback: an SMTP server
(aiosmtpd) and an HTTP server that checks the Standard Webhooks signature as any receiver would.

Runs are queued and executed the way executors do (``execute_run``), so notifications go out
through ``after_run``, as they do in a worker.
"""

from __future__ import annotations

import csv
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword
from standardwebhooks import Webhook

from idms.config import Settings
from idms.errors import ConfigError
from idms.execution.execute import execute_run
from idms.jobs.enqueue import enqueue_job
from idms.jobs.model import build_job
from idms.notify.email import SmtpServer
from idms.notify.webhook import display_endpoint, retry_after, send_webhook
from idms.runs.record import RunStore
from idms.workspace import Workspace

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SMTP_USER, SMTP_PASSWORD = "notifier", "S3cret-pass!"
PEOPLE = [
    ("ada@example.org", "Ada", "Lovelace"),
    ("not-an-email", "Bad", "Row"),
    ("grace@example.org", "Grace", "Hopper"),
    ("also bad", "Worse", "Row"),
    ("alan@example.org", "Alan", "Turing"),
]


# ---- receivers ----------------------------------------------------------------------------------


class Mailbox:
    """An aiosmtpd handler that keeps what it receives, and an account to log in with."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []
        self.logins: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            SMTP_USER.encode(),
            SMTP_PASSWORD.encode(),
        )
        if ok:
            self.logins.append(SMTP_USER)
        return AuthResult(success=ok, handled=False)

    def messages(self) -> list[Message]:
        return [message_from_bytes(bytes(e.original_content or b"")) for e in self.envelopes]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=mailbox.authenticate,
        auth_require_tls=False,  # loopback only: the test sees the login go through
    )
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Receiver:
    """An HTTP endpoint answering each POST with the next scripted status (then 200)."""

    url: str
    statuses: list[int] = field(default_factory=list)
    retry_after: str | None = None
    deliveries: list[Delivery] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length)
            state.deliveries.append(
                Delivery({k.lower(): v for k, v in self.headers.items()}, body, time.monotonic())
            )
            status = state.statuses.pop(0) if state.statuses else 200
            self.send_response(status)
            if status != 200 and state.retry_after is not None:
                self.send_header("Retry-After", state.retry_after)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/idms?token=abc123"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


# ---- runs ---------------------------------------------------------------------------------------


def workspace_with(tmp_path: Path, **variables: str) -> Workspace:
    env = {"IDMS_WORKSPACE": str(tmp_path / "ws"), **variables}
    return Workspace.open(Settings.load(environ=env))


def background_run(
    workspace: Workspace, rows: list[tuple[str, str, str]], *, lose_input: bool = False
) -> str:
    """Queue an import of ``rows`` and execute it as an executor would; its run ID."""
    data = workspace.settings.workspace / "people.csv"
    with data.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["E-mail", "First", "Last"])
        writer.writerows(rows)
    job = build_job(
        {
            "name": "Webinar roster",
            "input": str(data),
            "source": "Contact",
            "action": "insert-update",
            "mappings": [
                {"field": "Email", "column": "E-mail", "match": True},
                {"field": "FirstName", "column": "First"},
                {"field": "LastName", "column": "Last"},
            ],
        }
    )
    run_id = enqueue_job(workspace, job, trigger="schedule", schedule_id="nightly-roster")
    if lose_input:  # the run's copy of its input disappears before the run starts
        ref = RunStore(workspace.suite).get(run_id).input_ref or {}
        Path(str(ref["path"])).unlink()
    execute_run(workspace, run_id)
    return run_id


# ---- e-mail -------------------------------------------------------------------------------------


def test_a_run_with_failed_rows_is_mailed(
    tmp_path: Path, smtp: tuple[Mailbox, int], caplog: pytest.LogCaptureFixture
) -> None:
    mailbox, port = smtp
    workspace = workspace_with(
        tmp_path,
        IDMS_NOTIFY_EMAIL="data@example.org; it@example.org",
        IDMS_SMTP_URL=f"smtp://{SMTP_USER}:{SMTP_PASSWORD.replace('!', '%21')}@127.0.0.1:{port}",
        IDMS_NOTIFY_FROM="idms@example.org",
    )
    caplog.set_level(logging.DEBUG)
    try:
        run_id = background_run(workspace, PEOPLE)
    finally:
        workspace.close()
    assert mailbox.logins == [SMTP_USER]
    [envelope] = mailbox.envelopes
    assert envelope.mail_from == "idms@example.org"
    assert envelope.rcpt_tos == ["data@example.org", "it@example.org"]
    [message] = mailbox.messages()
    subject = str(message["Subject"])
    assert subject == "idms run completed with errors: Webinar roster (2 of 5 rows failed)"
    assert message["X-Idms-Run"] == run_id
    assert message["Auto-Submitted"] == "auto-generated"
    body = message.get_payload(decode=True).decode()
    assert 'The run "Webinar roster" completed with errors.' in body
    assert f"Run:        {run_id}" in body
    assert "Started by: schedule nightly-roster" in body
    assert "inserted   3" in body
    assert "errors     2" in body
    assert "row 3, column E-mail:" in body
    assert "row 5, column E-mail:" in body
    assert f"idms runs errors {run_id} -o failed-{run_id}.xlsx" in body
    everything = envelope.original_content.decode() + caplog.text  # type: ignore[union-attr]
    assert SMTP_PASSWORD not in everything
    assert SMTP_PASSWORD.replace("!", "%21") not in everything
    assert f"e-mailed to 2 recipient(s) through 127.0.0.1:{port}" in caplog.text


def test_a_failed_run_is_mailed_with_the_reason(tmp_path: Path, smtp: tuple[Mailbox, int]) -> None:
    mailbox, port = smtp
    workspace = workspace_with(
        tmp_path,
        IDMS_NOTIFY_EMAIL="data@example.org",
        IDMS_SMTP_URL=f"smtp://127.0.0.1:{port}",
    )
    try:
        run_id = background_run(workspace, PEOPLE, lose_input=True)
    finally:
        workspace.close()
    [message] = mailbox.messages()
    assert message["Subject"] == "idms run failed: Webinar roster"
    assert str(message["From"]).startswith("idms@")
    body = message.get_payload(decode=True).decode()
    assert "What happened:" in body
    assert "input file" in body
    assert "is gone" in body
    assert f"idms runs show {run_id}" in body
    assert "idms runs errors" not in body  # no failed rows to fetch


def test_a_refused_login_is_logged_without_the_password(
    tmp_path: Path, smtp: tuple[Mailbox, int], caplog: pytest.LogCaptureFixture
) -> None:
    mailbox, port = smtp
    workspace = workspace_with(
        tmp_path,
        IDMS_NOTIFY_EMAIL="data@example.org",
        IDMS_SMTP_URL=f"smtp://{SMTP_USER}:wrong-Passw0rd@127.0.0.1:{port}",
    )
    try:
        with caplog.at_level(logging.WARNING, logger="idms.notify"):
            run_id = background_run(workspace, PEOPLE)
        status = RunStore(workspace.suite).get(run_id).status
    finally:
        workspace.close()
    assert status == "completed_with_errors"  # the run is what it is, mail or not
    assert mailbox.envelopes == []
    assert "refused the account (SMTP 535)" in caplog.text
    assert "wrong-Passw0rd" not in caplog.text


def test_smtp_urls() -> None:
    plain = SmtpServer.parse("smtp://mail.example.org")
    assert (plain.host, plain.port, plain.security, plain.username) == (
        "mail.example.org",
        25,
        "none",
        None,
    )
    tls = SmtpServer.parse("smtp+starttls://me%40example.org:p%40ss@mail.example.org")
    assert (tls.port, tls.security, tls.username, tls.password) == (
        587,
        "starttls",
        "me@example.org",
        "p@ss",
    )
    assert "p@ss" not in repr(tls)
    assert SmtpServer.parse("smtps://mail.example.org:2465").port == 2465
    assert SmtpServer.parse("SMTPS://mail.example.org").security == "tls"
    with pytest.raises(ConfigError, match="smtp://") as caught:
        SmtpServer.parse("http://u:topsecret@mail.example.org")
    assert "topsecret" not in caught.value.message


# ---- webhooks -----------------------------------------------------------------------------------


def test_a_failed_run_posts_a_signed_webhook(tmp_path: Path, receiver: Receiver) -> None:
    workspace = workspace_with(
        tmp_path, IDMS_NOTIFY_WEBHOOK_URL=receiver.url, IDMS_NOTIFY_WEBHOOK_SECRET=SECRET
    )
    try:
        run_id = background_run(workspace, PEOPLE, lose_input=True)
    finally:
        workspace.close()
    [delivery] = receiver.deliveries
    payload = Webhook(SECRET).verify(delivery.body, delivery.headers)
    assert payload["type"] == "run.failed"
    assert payload["timestamp"].endswith("Z")
    data = payload["data"]
    assert (data["run_id"], data["status"], data["name"]) == (run_id, "failed", "Webinar roster")
    assert (data["trigger"], data["schedule_id"]) == ("schedule", "nightly-roster")
    assert "is gone" in data["message"]
    for key in ("rows", "inserted", "updated", "unchanged", "deleted", "skipped", "errors"):
        assert data[key] == 0
    assert "error_file" in data
    assert delivery.headers["webhook-id"] == f"msg_{run_id}_failed"
    assert delivery.headers["content-type"] == "application/json"
    with pytest.raises(Exception, match="signature"):
        Webhook("whsec_" + "A" * 32).verify(delivery.body, delivery.headers)


def test_a_webhook_is_retried_with_the_same_id_until_accepted(receiver: Receiver) -> None:
    receiver.statuses = [500, 500]
    payload = {"type": "run.failed", "timestamp": "2026-01-01T00:00:00Z", "data": {"run_id": "x"}}
    assert send_webhook(receiver.url, SECRET, payload, message_id="msg_x", backoff=0.05)
    assert len(receiver.deliveries) == 3
    assert {d.headers["webhook-id"] for d in receiver.deliveries} == {"msg_x"}
    for delivery in receiver.deliveries:
        assert Webhook(SECRET).verify(delivery.body, delivery.headers) == payload
    gaps = [b.at - a.at for a, b in zip(receiver.deliveries, receiver.deliveries[1:], strict=False)]
    assert gaps[0] >= 0.05  # the waits double
    assert gaps[1] >= 0.1


def test_a_webhook_honours_retry_after(receiver: Receiver) -> None:
    receiver.statuses = [429]
    receiver.retry_after = "1"
    assert send_webhook(receiver.url, None, {"type": "t"}, message_id="m", backoff=0.01)
    first, second = receiver.deliveries
    assert second.at - first.at >= 0.95
    assert "webhook-signature" not in first.headers  # no secret, no signature
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT", default=3) == 0
    assert retry_after("3600", default=3) == 60
    assert retry_after("soon", default=3) == 3


def test_a_webhook_is_given_up_after_three_attempts(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    receiver.statuses = [503, 503, 503, 503]
    with caplog.at_level(logging.WARNING, logger="idms.notify"):
        assert not send_webhook(receiver.url, SECRET, {"type": "t"}, message_id="m", backoff=0.01)
    assert len(receiver.deliveries) == 3
    assert "given up after 3 attempts (last: HTTP 503)" in caplog.text
    assert "abc123" not in caplog.text  # the URL's query (a token) is never logged


def test_a_refused_webhook_is_not_retried(receiver: Receiver) -> None:
    receiver.statuses = [400]
    assert not send_webhook(receiver.url, SECRET, {"type": "t"}, message_id="m", backoff=0.01)
    assert len(receiver.deliveries) == 1


def test_an_unreachable_webhook_is_given_up(caplog: pytest.LogCaptureFixture) -> None:
    url = f"http://127.0.0.1:{free_port()}/hook"
    with caplog.at_level(logging.WARNING, logger="idms.notify"):
        assert not send_webhook(url, SECRET, {"type": "t"}, message_id="m", backoff=0.01)
    assert "given up after 3 attempts (last: ConnectError)" in caplog.text


def test_a_bad_secret_sends_nothing(receiver: Receiver, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="idms.notify"):
        assert not send_webhook(receiver.url, "whsec_!!!", {"type": "t"}, message_id="m")
    assert receiver.deliveries == []
    assert "not a Standard Webhooks secret" in caplog.text
    assert display_endpoint("https://u:p@hooks.example.org:8443/in?token=t") == (
        "https://hooks.example.org:8443/in"
    )


# ---- when ---------------------------------------------------------------------------------------


def test_never_sends_nothing(tmp_path: Path, smtp: tuple[Mailbox, int], receiver: Receiver) -> None:
    mailbox, port = smtp
    workspace = workspace_with(
        tmp_path,
        IDMS_NOTIFY_ON="never",
        IDMS_NOTIFY_EMAIL="data@example.org",
        IDMS_SMTP_URL=f"smtp://127.0.0.1:{port}",
        IDMS_NOTIFY_WEBHOOK_URL=receiver.url,
    )
    try:
        background_run(workspace, PEOPLE, lose_input=True)
    finally:
        workspace.close()
    assert mailbox.envelopes == []
    assert receiver.deliveries == []


@pytest.mark.parametrize(("notify_on", "sent"), [("failure", False), ("always", True)])
def test_success_is_sent_only_with_always(
    tmp_path: Path,
    smtp: tuple[Mailbox, int],
    receiver: Receiver,
    notify_on: str,
    sent: bool,
) -> None:
    mailbox, port = smtp
    workspace = workspace_with(
        tmp_path,
        IDMS_NOTIFY_ON=notify_on,
        IDMS_NOTIFY_EMAIL="data@example.org",
        IDMS_SMTP_URL=f"smtp://127.0.0.1:{port}",
        IDMS_NOTIFY_WEBHOOK_URL=receiver.url,
        IDMS_NOTIFY_WEBHOOK_SECRET=SECRET,
    )
    good = [p for p in PEOPLE if "@" in p[0]]
    try:
        run_id = background_run(workspace, good)
    finally:
        workspace.close()
    assert len(mailbox.envelopes) == len(receiver.deliveries) == (1 if sent else 0)
    if sent:
        [message] = mailbox.messages()
        assert message["Subject"] == "idms run succeeded: Webinar roster"
        payload = Webhook(SECRET).verify(
            receiver.deliveries[0].body, receiver.deliveries[0].headers
        )
        assert payload["type"] == "run.succeeded"
        assert (payload["data"]["inserted"], payload["data"]["errors"]) == (3, 0)
        assert json.loads(receiver.deliveries[0].body)["data"]["run_id"] == run_id


def test_notification_settings(tmp_path: Path) -> None:
    settings = Settings.load(
        environ={
            "IDMS_NOTIFY_ON": "Always",
            "IDMS_NOTIFY_EMAIL": " a@example.org, b@example.org ;c@example.org,",
            "IDMS_SMTP_URL": "smtp://u:pw-in-url@h",
            "IDMS_NOTIFY_WEBHOOK_URL": "https://h/?token=tok-in-url",
            "IDMS_NOTIFY_WEBHOOK_SECRET": SECRET,
        }
    )
    assert settings.notify_on == "always"
    assert settings.notify_email == ("a@example.org", "b@example.org", "c@example.org")
    shown = repr(settings)
    for secret in ("pw-in-url", "tok-in-url", SECRET):
        assert secret not in shown
    assert Settings.load(environ={}).notify_on == "failure"
    with pytest.raises(ConfigError, match="IDMS_NOTIFY_ON"):
        Settings.load(environ={"IDMS_NOTIFY_ON": "sometimes"})
