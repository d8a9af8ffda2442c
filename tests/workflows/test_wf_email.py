"""Send E-mail through a real SMTP server (aiosmtpd on loopback) with the workspace's SMTP
settings: recipients (Bcc only in the envelope), text and HTML, attachments given as text, as a
Convert step's output and as a file of the run, and failures in words."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword
from wf_io_support import Services, context, run_action, workspace

from idms.workflows.actions.base import ActionContext, StepFailed

USER, PASSWORD = "mailer", "Sm7p-secret!"


class Mailbox:
    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            USER.encode(),
            PASSWORD.encode(),
        )
        return AuthResult(success=ok, handled=False)

    def message(self, index: int = 0) -> EmailMessage:
        raw = bytes(self.envelopes[index].original_content or b"")
        parsed = message_from_bytes(raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


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
        auth_require_tls=False,  # loopback only
    )
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


@pytest.fixture
def services(smtp: tuple[Mailbox, int], tmp_path: Path) -> Iterator[Services]:
    port = smtp[1]
    with workspace(
        tmp_path,
        smtp_url=f"smtp://{USER}:{PASSWORD.replace('!', '%21')}@127.0.0.1:{port}",
        notify_from="idms@example.org",
    ) as found:
        yield found


@pytest.fixture
def ctx(services: Services, tmp_path: Path) -> ActionContext:
    return context(services, tmp_path, step_id="mail", run_id="run-7")


def test_a_mail_with_text_html_and_three_kinds_of_attachment_reaches_every_recipient(
    smtp: tuple[Mailbox, int], services: Services, ctx: ActionContext, tmp_path: Path
) -> None:
    mailbox = smtp[0]
    converted = run_action(  # an earlier step of the same run
        "convert",
        {"input": [{"id": "1", "name": "Zoë"}], "file_name": "changed.csv"},
        context(services, tmp_path, step_id="csv", run_id="run-7"),
    )
    (ctx.files / "report.txt").write_text("made earlier", encoding="utf-8")
    result = run_action(
        "send_email",
        {
            "to": "board@example.org, chair@example.org",
            "cc": ["office@example.org"],
            "bcc": "auditor@example.org",
            "subject": "2 members changed",
            "body": "The list is attached.",
            "html": "<p>The list is <b>attached</b>.</p>",
            "attachments": [
                {"content": converted.output},
                {"name": "notes.txt", "content": "plain note"},
                {"file": "report.txt", "name": "report-copy.txt"},
            ],
        },
        ctx,
    )
    (envelope,) = mailbox.envelopes
    assert envelope.mail_from == "idms@example.org"
    assert sorted(envelope.rcpt_tos) == sorted(
        ["board@example.org", "chair@example.org", "office@example.org", "auditor@example.org"]
    )
    message = mailbox.message()
    assert message["Subject"] == "2 members changed"
    assert message["To"] == "board@example.org, chair@example.org"
    assert message["Cc"] == "office@example.org"
    assert message["Bcc"] is None  # hidden recipients are in the envelope only
    assert message["Message-ID"] == "<idms-run-7-mail@example.org>"
    body = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert body is not None
    assert body.get_content().strip() == "The list is attached."
    assert html is not None
    assert "<b>attached</b>" in html.get_content()
    attached = {part.get_filename(): part for part in message.iter_attachments()}
    assert set(attached) == {"changed.csv", "notes.txt", "report-copy.txt"}
    assert attached["changed.csv"].get_content_type() == "text/csv"
    csv_bytes = attached["changed.csv"].get_payload(decode=True)
    assert isinstance(csv_bytes, bytes)
    assert csv_bytes == (ctx.files / "changed.csv").read_bytes()
    assert csv_bytes.decode("utf-8-sig") == "id,name\r\n1,Zoë\r\n"
    assert attached["notes.txt"].get_content() == "plain note"
    assert attached["report-copy.txt"].get_content() == "made earlier"
    assert result.output["recipients"] == 4
    assert [a["name"] for a in result.output["attachments"]] == [
        "changed.csv",
        "notes.txt",
        "report-copy.txt",
    ]
    assert PASSWORD not in str(result.output)
    assert PASSWORD not in (result.message or "")


def test_nothing_outside_the_run_can_be_attached(
    smtp: tuple[Mailbox, int], ctx: ActionContext, tmp_path: Path
) -> None:
    (tmp_path / "outside.txt").write_text("private", encoding="utf-8")
    for reference in ("../../../../outside.txt", str(tmp_path / "outside.txt")):
        with pytest.raises(StepFailed, match="not a plain file name"):
            run_action(
                "send_email",
                {
                    "to": "a@example.org",
                    "subject": "s",
                    "body": "b",
                    "attachments": [{"file": reference}],
                },
                ctx,
            )
    forged = {"file_name": "missing.csv", "path": str(tmp_path / "outside.txt")}
    with pytest.raises(StepFailed, match=r"This run has no file named 'missing\.csv'"):
        run_action(
            "send_email",
            {
                "to": "a@example.org",
                "subject": "s",
                "body": "b",
                "attachments": [{"content": forged}],
            },
            ctx,
        )
    assert smtp[0].envelopes == []


def test_bad_addresses_fail_before_anything_is_sent(
    smtp: tuple[Mailbox, int], ctx: ActionContext
) -> None:
    with pytest.raises(StepFailed, match="Not an e-mail address: 'not-an-address'") as failed:
        run_action(
            "send_email",
            {"to": ["ok@example.org", "not-an-address"], "subject": "s", "body": "b"},
            ctx,
        )
    assert not failed.value.retryable
    assert smtp[0].envelopes == []


def test_a_refused_account_fails_in_words_without_the_password(
    smtp: tuple[Mailbox, int], tmp_path: Path
) -> None:
    with workspace(
        tmp_path, smtp_url=f"smtp://{USER}:wrong-secret@127.0.0.1:{smtp[1]}"
    ) as services:
        ctx = context(services, tmp_path)
        with pytest.raises(StepFailed, match="the server refused the account") as failed:
            run_action("send_email", {"to": "a@example.org", "subject": "s", "body": "b"}, ctx)
    assert "wrong-secret" not in failed.value.message
    assert f"127.0.0.1:{smtp[1]}" in failed.value.message
    assert not failed.value.retryable


def test_no_smtp_server_set_fails_naming_the_setting(tmp_path: Path) -> None:
    with workspace(tmp_path) as services, pytest.raises(StepFailed, match="set IDMS_SMTP_URL"):
        run_action(
            "send_email",
            {"to": "a@example.org", "subject": "s", "body": "b"},
            context(services, tmp_path),
        )


def test_a_server_that_does_not_answer_is_a_failure_worth_retrying(tmp_path: Path) -> None:
    with (
        workspace(tmp_path, smtp_url=f"smtp://127.0.0.1:{free_port()}") as services,
        pytest.raises(StepFailed, match=r"could not be sent through 127\.0\.0\.1") as failed,
    ):
        run_action(
            "send_email",
            {"to": "a@example.org", "subject": "s", "body": "b"},
            context(services, tmp_path),
        )
    assert failed.value.retryable
