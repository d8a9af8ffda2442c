"""Who hears of every run that ends, in a process that runs things: the schedule that started
it (failures counted, auto-disable) and the notifications (e-mails, webhooks). The code that
runs things only announces (:func:`idms.runs.events.run_finished`); this wires the listeners."""

from __future__ import annotations


def subscribe_defaults() -> None:
    """Subscribe the schedules' and the notifications' listeners (idempotent)."""
    from idms.notify import subscribe as subscribe_notifications
    from idms.schedules.outcomes import subscribe as subscribe_schedules

    subscribe_schedules()
    subscribe_notifications()
