""" "A run has finished": the one event others subscribe to.

Whoever ends a run in the background (an executor, the scheduler failing a run it could not
start, ``idms runs resume``) calls :func:`run_finished`; schedules (counting failures) and
notifications (e-mails, webhooks) subscribe with :func:`on_run_finished` instead of being
imported by the code that runs things. Each listener is independent: one failing never stops
the others, nor fails the run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger("idms.runs")

# A listener gets the workspace context the run ended in (an ``idms.execution`` context) and the
# run's ID. It is typed loosely here: this module sits below the code that defines the context.
Listener = Callable[[Any, str], None]

_listeners: dict[str, Listener] = {}


def on_run_finished(name: str, listener: Listener) -> None:
    """Subscribe ``listener`` under ``name`` (subscribing a name again replaces it)."""
    _listeners[name] = listener


def run_finished(context: Any, run_id: str) -> None:
    """Tell every listener that ``run_id`` has ended (any terminal status)."""
    for name, listener in list(_listeners.items()):
        try:
            listener(context, run_id)
        except Exception:
            log.exception("after run %s: %s failed", run_id, name)
