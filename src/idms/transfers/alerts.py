"""A transfer's e-mail alert (iDMS's "E-mail Alert Settings"): after a run, to the transfer's
recipients, on failure only or always, through the workspace's SMTP server (``IDMS_SMTP_URL``,
:mod:`idms.notify.email`, the one SMTP client of the suite).

The message says which transfer, how it ended, how many rows were fetched, changed and sent,
each step's outcome and the failing step's message: all of it read from the run's record, whose
messages and outputs are masked, so no credential can be in it. Sending is best effort: an
alert that cannot be sent is recorded with the run (and logged), and never changes its status.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from idms.config import Settings
from idms.errors import ConfigError
from idms.notify.email import SmtpServer, default_sender, describe_smtp_error, send_message

log = logging.getLogger("idms.transfers")


def wanted(when: str, status: str) -> bool:
    """Whether a run that ended ``status`` is alerted under ``when`` (failure | always)."""
    return when == "always" or status != "succeeded"


def build_alert(
    sender: str,
    recipients: Sequence[str],
    *,
    transfer: str,
    run_id: str,
    status: str,
    message: str | None,
    history: Mapping[str, Any],
) -> EmailMessage:
    """The alert about run ``run_id`` of ``transfer`` (``history``: :func:`run_history`)."""
    outcome = "succeeded" if status == "succeeded" else status
    email = EmailMessage()
    email["Subject"] = f"[idms] Transfer '{transfer}' {outcome}".replace("\n", " ")
    email["From"] = sender
    email["To"] = ", ".join(recipients)
    email["Date"] = formatdate(localtime=False, usegmt=True)
    email["Message-ID"] = f"<idms-{run_id}-alert@{sender.rpartition('@')[2] or 'idms.invalid'}>"
    email["Auto-Submitted"] = "auto-generated"
    email["X-Idms-Run"] = run_id
    lines = [
        f"Transfer: {transfer}",
        f"Run: {run_id}",
        f"Status: {status}",
    ]
    if message:
        lines.append(f"Message: {message}")
    lines.append("")
    for label, key in (
        ("Rows fetched", "rows_fetched"),
        ("Rows new or changed", "rows_changed"),
        ("Rows sent", "rows_sent"),
    ):
        if history.get(key) is not None:
            lines.append(f"{label}: {history[key]}")
    if history.get("file_name"):
        lines.append(f"File: {history['file_name']} ({history.get('file_bytes') or 0} bytes)")
    steps = history.get("steps") or []
    if steps:
        lines += ["", "Steps:"]
        for step in steps:
            why = f": {step['message']}" if step.get("message") else ""
            lines.append(f"  {step['order']} {step['name']} ({step['type']}) {step['status']}{why}")
    if status != "succeeded":
        lines += [
            "",
            "The rows of a failed run are sent again by the next run (its delta hashes were not "
            "kept). 'idms transfer runs' shows every run; 'idms transfer run' runs it now.",
        ]
    email.set_content("\n".join(lines) + "\n")
    return email


def send_alert(settings: Settings, recipients: Sequence[str], **facts: Any) -> tuple[bool, str]:
    """Send the alert; (sent, what happened, in words for the run's record)."""
    if not settings.smtp_url:
        return False, "No alert sent: IDMS_SMTP_URL (the SMTP server) is not set."
    try:
        server = SmtpServer.parse(settings.smtp_url)
    except ConfigError as exc:
        return False, f"No alert sent: {exc.message}"
    sender = settings.notify_from or default_sender()
    email = build_alert(sender, recipients, **facts)
    try:
        send_message(server, email)
    except (smtplib.SMTPException, OSError) as exc:
        why = describe_smtp_error(exc)
        log.warning("run %s: the transfer alert was not sent: %s", facts.get("run_id"), why)
        return False, f"The alert could not be sent through {server.label}: {why}."
    return True, f"Alert e-mailed to {len(recipients)} recipient(s) through {server.label}."
