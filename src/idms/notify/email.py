"""E-mails through an SMTP server named by a URL (``IDMS_SMTP_URL``): run notifications, and a
workflow's Send E-mail steps (:mod:`idms.workflows.actions.send_email`), which reuse
:class:`SmtpServer`, :func:`send_message` and :func:`describe_smtp_error`.

``smtp://[USER:PASSWORD@]HOST[:PORT]`` (port 25, no encryption), ``smtp+starttls://…`` (port
587, STARTTLS required) or ``smtps://…`` (port 465, TLS from the start). The user name and
password may be percent-encoded (``%40`` for ``@``). Neither is ever logged: messages name the
server as ``HOST:PORT`` only.
"""

from __future__ import annotations

import logging
import smtplib
import socket
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import TYPE_CHECKING, Literal
from urllib.parse import unquote, urlsplit

from idms.errors import ConfigError

if TYPE_CHECKING:
    from idms.config import Settings
    from idms.notify.message import RunNotice

log = logging.getLogger("idms.notify")

Security = Literal["none", "starttls", "tls"]
SCHEMES: dict[str, tuple[Security, int]] = {
    "smtp": ("none", 25),
    "smtp+starttls": ("starttls", 587),
    "smtps": ("tls", 465),
}
TIMEOUT = 30.0


@dataclass(frozen=True)
class SmtpServer:
    """Where and how to send: host, port, encryption, and the account (if any)."""

    host: str
    port: int
    security: Security
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def label(self) -> str:
        """The server as messages name it: never the account."""
        return f"{self.host}:{self.port}"

    @classmethod
    def parse(cls, url: str) -> SmtpServer:
        """Read ``IDMS_SMTP_URL``; a ConfigError (that does not repeat the password) if wrong."""
        scheme = url.split("://", 1)[0].lower() if "://" in url else ""
        if scheme not in SCHEMES:
            raise ConfigError(
                "IDMS_SMTP_URL must start with smtp://, smtp+starttls:// or smtps:// "
                "(e.g. smtp+starttls://USER:PASSWORD@mail.example.org:587)."
            )
        security, default_port = SCHEMES[scheme]
        try:
            parts = urlsplit(url)
            port = parts.port or default_port
        except ValueError:
            raise ConfigError("IDMS_SMTP_URL has an invalid port.") from None
        if not parts.hostname:
            raise ConfigError("IDMS_SMTP_URL names no host (smtp://HOST:PORT).")
        username = unquote(parts.username) if parts.username else None
        password = unquote(parts.password) if parts.password is not None else None
        return cls(parts.hostname, port, security, username, password)


def build_email(sender: str, recipients: tuple[str, ...], notice: RunNotice) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = notice.subject()
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
    message["X-Idms-Run"] = notice.info.id
    message.set_content(notice.body())
    return message


def default_sender() -> str:
    return f"idms@{socket.gethostname()}"


def send_notice_email(settings: Settings, notice: RunNotice) -> bool:
    """Mail ``notice`` to ``IDMS_NOTIFY_EMAIL``; False (and a warning logged) if it could not."""
    if not settings.smtp_url:
        log.warning(
            "run %s: IDMS_NOTIFY_EMAIL is set but IDMS_SMTP_URL is not: no e-mail sent",
            notice.info.id,
        )
        return False
    try:
        server = SmtpServer.parse(settings.smtp_url)
    except ConfigError as exc:
        log.warning("run %s: no e-mail sent: %s", notice.info.id, exc.message)
        return False
    sender = settings.notify_from or default_sender()
    message = build_email(sender, settings.notify_email, notice)
    try:
        send_message(server, message)
    except (smtplib.SMTPException, OSError) as exc:
        log.warning(
            "run %s: the notification e-mail could not be sent through %s: %s",
            notice.info.id,
            server.label,
            describe_smtp_error(exc),
        )
        return False
    log.info(
        "run %s: notification e-mailed to %d recipient(s) through %s",
        notice.info.id,
        len(settings.notify_email),
        server.label,
    )
    return True


def send_message(server: SmtpServer, message: EmailMessage) -> None:
    """Deliver ``message`` through ``server``; smtplib's and socket errors are raised."""
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if server.security == "tls":
        client = smtplib.SMTP_SSL(server.host, server.port, timeout=TIMEOUT, context=context)
    else:
        client = smtplib.SMTP(server.host, server.port, timeout=TIMEOUT)
    with client:
        client.ehlo()
        if server.security == "starttls":
            client.starttls(context=context)
            client.ehlo()
        if server.username is not None:
            client.login(server.username, server.password or "")
        client.send_message(message)


def describe_smtp_error(exc: BaseException) -> str:
    """An SMTP failure in words that never carry the account: the class and the server's code."""
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return f"the server refused the account (SMTP {exc.smtp_code})"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return f"the server refused the recipients ({', '.join(sorted(exc.recipients))})"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{type(exc).__name__} (SMTP {exc.smtp_code})"
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return f"the server does not support what was asked ({exc})"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed ({exc.reason or type(exc).__name__})"
    if isinstance(exc, OSError):
        return f"{type(exc).__name__}: {exc.strerror or exc}"
    return type(exc).__name__
