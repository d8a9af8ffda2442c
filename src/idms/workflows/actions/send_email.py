"""Send E-mail (iDMS "Send E-mail"): a message to people, with files of the run attached,
through the workspace's SMTP server (``IDMS_SMTP_URL``, the one run notifications use).

The sending is :mod:`idms.notify.email`'s (one SMTP client in the suite). An attachment is text
given in the step, a file an earlier Convert step wrote (its output, ``{{ steps.csv }}``), or a
file of the run named by its name; nothing outside the run's own folder can be attached. The
message's ``Message-ID`` is the step's idempotency key, the same when the step is tried again.
"""

from __future__ import annotations

import mimetypes
import smtplib
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from idms.errors import ConfigError, printable
from idms.notify.email import SmtpServer, default_sender, describe_smtp_error, send_message
from idms.workflows.actions._files import run_file, safe_file_name
from idms.workflows.actions.base import ActionContext, ActionSpec, StepFailed, StepResult

MAX_RECIPIENTS = 100


class Attachment(BaseModel):
    """A file to attach: ``content`` (text, or a Convert step's output) or ``file`` (the name
    of a file of this run)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(
        default=None,
        description="The attachment's file name (default: the Convert output's file name).",
    )
    content: str | dict[str, Any] | None = Field(
        default=None,
        description="Text to attach as it is, or a Convert step's output (`{{ steps.csv }}`).",
    )
    file: str | None = Field(default=None, description="The name of a file of this run.")

    @model_validator(mode="after")
    def _one(self) -> Attachment:
        if (self.content is None) == (self.file is None):
            raise ValueError("give an attachment either content or file")
        if isinstance(self.content, str) and not self.name:
            raise ValueError("an attachment given as text needs a name (e.g. notes.txt)")
        return self


def _addresses(value: Any) -> Any:
    """One address, several separated by commas or semicolons, or a list."""
    if isinstance(value, str):
        return [a.strip() for a in value.replace(";", ",").split(",") if a.strip()]
    return value


class SendEmailParams(BaseModel):
    """A step's ``with:`` for ``send_email``."""

    model_config = ConfigDict(extra="forbid")

    to: list[str] = Field(
        min_length=1, description="Recipients: a list, or addresses separated by commas."
    )
    cc: list[str] = Field(default_factory=list, description="Copy recipients.")
    bcc: list[str] = Field(default_factory=list, description="Hidden copy recipients.")
    subject: str = Field(min_length=1, max_length=998, description="The subject (templated).")
    body: str = Field(description="The message as plain text (templated).")
    html: str | None = Field(
        default=None, description="The message as HTML too, for mail programs that show it."
    )
    sender: str | None = Field(
        default=None,
        description="The From address; default IDMS_NOTIFY_FROM, else idms@ this host.",
    )
    reply_to: str | None = Field(default=None, description="Where replies should go.")
    attachments: list[Attachment] = Field(default_factory=list, description="Files to attach.")

    @field_validator("to", "cc", "bcc", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        return _addresses(value)


def _checked(addresses: list[str]) -> list[str]:
    bad = []
    for address in addresses:
        try:
            validate_email(address, check_deliverability=False)
        except EmailNotValidError:
            bad.append(printable(address))
    if bad:
        raise StepFailed(
            f"Not an e-mail address: {', '.join(repr(b) for b in bad)}.", retryable=False
        )
    return addresses


def _attach(
    message: EmailMessage, attachment: Attachment, context: ActionContext
) -> dict[str, Any]:
    if isinstance(attachment.content, str):
        name = safe_file_name(attachment.name or "")
        data = attachment.content.encode("utf-8")
    else:
        reference = attachment.content if attachment.content is not None else attachment.file
        assert reference is not None
        found, data = run_file(reference, context)
        name = safe_file_name(attachment.name or found)
    kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
    maintype, subtype = kind.split("/", 1)
    message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return {"name": name, "size": len(data)}


def run(params: SendEmailParams, data: dict[str, Any], context: ActionContext) -> StepResult:
    settings = context.services.settings
    if not settings.smtp_url:
        raise StepFailed(
            "No SMTP server is set for this workspace: set IDMS_SMTP_URL (e.g. "
            "smtp+starttls://USER:PASSWORD@mail.example.org:587) to send e-mail.",
            retryable=False,
        )
    try:
        server = SmtpServer.parse(settings.smtp_url)
    except ConfigError as exc:
        raise StepFailed(exc.message, retryable=False) from None
    to, cc, bcc = _checked(params.to), _checked(params.cc), _checked(params.bcc)
    recipients = [*to, *cc, *bcc]
    if len(recipients) > MAX_RECIPIENTS:
        raise StepFailed(
            f"{len(recipients)} recipients: at most {MAX_RECIPIENTS} per message.",
            retryable=False,
        )
    # A sender given here is checked; the workspace's (IDMS_NOTIFY_FROM, else idms@ this host,
    # whose name may have no dot) is the one run notifications already use.
    sender = (
        _checked([params.sender])[0] if params.sender else settings.notify_from or default_sender()
    )
    message = EmailMessage()
    message["Subject"] = params.subject.replace("\r", " ").replace("\n", " ")
    message["From"] = sender
    message["To"] = ", ".join(to)
    if cc:
        message["Cc"] = ", ".join(cc)
    if bcc:
        # smtplib sends to these and takes the header off the copy it transmits.
        message["Bcc"] = ", ".join(bcc)
    if params.reply_to:
        message["Reply-To"] = _checked([params.reply_to])[0]
    message["Date"] = formatdate(localtime=False, usegmt=True)
    domain = sender.rpartition("@")[2] or "idms.invalid"
    message_id = f"<{context.idempotency_key()}@{domain}>"
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"
    message["X-Idms-Run"] = context.run_id
    message.set_content(params.body)
    if params.html is not None:
        message.add_alternative(params.html, subtype="html")
    attached = [_attach(message, a, context) for a in params.attachments]
    try:
        send_message(server, message)
    except (smtplib.SMTPException, OSError) as exc:
        refused = isinstance(exc, smtplib.SMTPAuthenticationError | smtplib.SMTPRecipientsRefused)
        raise StepFailed(
            f"The e-mail could not be sent through {server.label}: {describe_smtp_error(exc)}.",
            retryable=not refused,
        ) from None
    return StepResult(
        output={
            "message_id": message_id,
            "recipients": len(recipients),
            "attachments": attached,
        },
        message=f"e-mailed to {len(recipients)} recipient(s) through {server.label}",
    )


ACTION = ActionSpec(
    name="send_email",
    label="Send E-mail",
    summary="Send an e-mail (text, HTML, files of the run attached) through the SMTP server",
    params=SendEmailParams,
    run=run,
    example="""\
- id: mail
  action: send_email
  with:
    to: membership@example.org
    subject: "{{ steps.changed | size }} members changed"
    body: "The list is attached."
    attachments:
      - content: "{{ steps.csv }}"
""",
)
