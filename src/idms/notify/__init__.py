"""Notifications when a background run ends: an e-mail to the data managers, a signed webhook to
whatever system wants to know.

``IDMS_NOTIFY_ON`` says when: ``failure`` (the default: the run failed, or some of its rows did),
``always`` (every run that ends, successes and cancellations too) or ``never``. The e-mail goes to
``IDMS_NOTIFY_EMAIL`` through ``IDMS_SMTP_URL``; the webhook is a Standard Webhooks POST to
``IDMS_NOTIFY_WEBHOOK_URL``, signed with ``IDMS_NOTIFY_WEBHOOK_SECRET``. Sending is best effort:
a notification that cannot be sent is logged as a warning and never changes the run.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from idms.notify.message import FAILURE_STATUSES, RunNotice

if TYPE_CHECKING:
    from idms.config import Settings
    from idms.runs.context import RunContext

log = logging.getLogger("idms.notify")

__all__ = ["RunNotice", "notify_run", "should_notify", "subscribe"]


def should_notify(settings: Settings, status: str) -> bool:
    """Whether a run that ended with ``status`` is worth a notification under the settings."""
    if settings.notify_on == "never":
        return False
    if settings.notify_on == "always":
        return True
    return status in FAILURE_STATUSES


def notify_run(workspace: RunContext, run_id: str) -> None:
    """Send the notifications the settings ask for about ``run_id``, which has just ended."""
    settings = workspace.settings
    wants_mail = bool(settings.notify_email)
    wants_hook = bool(settings.notify_webhook_url)
    if settings.notify_on == "never" or not (wants_mail or wants_hook):
        return
    from idms.runs.record import RunStore

    runs = RunStore(workspace.suite)
    info = runs.get(run_id)
    if info.trigger == "cli" or not info.finished or not should_notify(settings, info.status):
        return
    notice = RunNotice.of(info, runs, workspace=str(settings.workspace))
    if wants_mail:
        from idms.notify.email import send_notice_email

        send_notice_email(settings, notice)
    if wants_hook and settings.notify_webhook_url is not None:
        from idms.notify.webhook import send_webhook

        send_webhook(
            settings.notify_webhook_url,
            settings.notify_webhook_secret,
            notice.payload(),
            message_id=notice.message_id,
        )


def subscribe() -> None:
    """Hear of every run that ends in the background (a run started on the command line is
    reported there, on the screen)."""
    from idms.runs.events import on_run_finished

    on_run_finished("notifications", notify_run)
