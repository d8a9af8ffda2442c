"""At most one run per delivery: a signed webhook's ``webhook-id``, an Event Grid event's
``id``. Senders deliver at least once (a retry after a time-out, Event Grid's redelivery); the
id is reserved in the ``hook_deliveries`` table before the run starts, so a copy, even one
arriving at the same moment, is answered with the first copy's run instead of a second run.
Ids are remembered for a day."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from idms.db import writer
from idms.errors import Conflict, IdmsError
from idms.state.models import HookDelivery, utcnow

if TYPE_CHECKING:
    from idms.runs.record import RunInfo
    from idms.workspace import Workspace

KEEP = timedelta(days=1)  # a sender retries within minutes; a signed delivery that old is stale
WAIT = 5.0  # seconds a copy waits for the first one's run
MAX_ID = 200  # the column's width


class DeliveryBusy(Conflict):
    """A copy of a delivery arrived while the first was being handled, and it did not end in
    time (or failed): the sender should send it again."""


def start_once(
    workspace: Workspace, workflow_id: str, delivery_id: str, start: Callable[[], RunInfo]
) -> tuple[RunInfo, bool]:
    """The run ``start`` starts for this delivery, and False; or, for a delivery seen before,
    the first one's run and True."""
    key = delivery_id[:MAX_ID]
    try:
        with Session(writer(workspace.suite)) as session, session.begin():
            session.execute(
                delete(HookDelivery).where(
                    HookDelivery.workflow_id == workflow_id,
                    HookDelivery.received_at < utcnow() - KEEP,
                )
            )
            session.add(HookDelivery(workflow_id=workflow_id, webhook_id=key, run_id=""))
    except IntegrityError:
        return _first(workspace, workflow_id, key), True
    try:
        run = start()
    except BaseException:
        _forget(workspace, workflow_id, key)
        raise
    with Session(writer(workspace.suite)) as session, session.begin():
        session.execute(
            update(HookDelivery)
            .where(HookDelivery.workflow_id == workflow_id, HookDelivery.webhook_id == key)
            .values(run_id=run.id)
        )
    return run, False


def _first(workspace: Workspace, workflow_id: str, key: str) -> RunInfo:
    deadline = time.monotonic() + WAIT
    while True:
        with Session(workspace.suite) as session:
            run_id = session.scalar(
                select(HookDelivery.run_id).where(
                    HookDelivery.workflow_id == workflow_id, HookDelivery.webhook_id == key
                )
            )
        if run_id:
            break
        if run_id is None or time.monotonic() > deadline:  # the first one failed, or hangs
            raise DeliveryBusy("This delivery is being handled: send it again.")
        time.sleep(0.05)
    try:
        return workspace.runs.get(run_id)
    except IdmsError:
        raise DeliveryBusy("This delivery was taken, but its run is gone.") from None


def _forget(workspace: Workspace, workflow_id: str, key: str) -> None:
    with Session(writer(workspace.suite)) as session, session.begin():
        session.execute(
            delete(HookDelivery).where(
                HookDelivery.workflow_id == workflow_id, HookDelivery.webhook_id == key
            )
        )
