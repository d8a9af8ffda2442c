"""iMIS change notifications (Azure Event Grid) that start workflows.

iMIS delivers its change notifications through Azure Event Grid: a POST whose body is an array
of events in the Event Grid schema (``id``, ``eventType``, ``subject``, ``eventTime``, ``data``,
``dataVersion``, ``metadataVersion``, ``topic``). Before the first one, iMIS's "Verify and Save"
has Event Grid send a subscription-validation event (``eventType``
``Microsoft.EventGrid.SubscriptionValidationEvent``, header ``aeg-event-type:
SubscriptionValidation``) whose ``data.validationCode`` the endpoint answers with
``{"validationResponse": CODE}``.

An event type is ``Entity.Action`` (``Party.Updated``, ``Activity.Created``); a workflow's
``event_types`` match it exactly or by entity (``Activity.*``), without case; an empty list
matches every event. Every active change-notification workflow that matches an event is
started with the event as its input (and, with ``include_full_record``, the entity's record
from the workspace's target under ``record``). Event Grid delivers at least once: an event
delivered again (the same ``id``) gets the run its first delivery started, not a second one.

The entity's id is read from the event's data (``Id``, ``EntityId``, ``PartyId``, ``Key``,
the first that is there) or else from the last segment of its subject (``Party/23185``).

The endpoint's URL (``/hooks/imis/{token}``) is one per workspace: :class:`ChangeUrl` keeps its
token sealed in the suite database (found by its SHA-256, as a webhook's).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from idms.db import writer
from idms.errors import Conflict, InvalidInputError, printable
from idms.state.models import Meta
from idms.workflows.deliveries import start_once
from idms.workflows.model import ChangeNotificationTrigger, WorkflowState

if TYPE_CHECKING:
    from idms.runs.record import RunInfo
    from idms.workspace import Workspace

log = logging.getLogger("idms.workflows")

VALIDATION_EVENT = "Microsoft.EventGrid.SubscriptionValidationEvent"
VALIDATION_HEADER = "aeg-event-type"
VALIDATION_HEADER_VALUE = "SubscriptionValidation"
ID_MEMBERS = ("Id", "EntityId", "PartyId", "Key", "id")
# Contacts are notified as Party whichever REST entity changed them (Person, Organization).
PARTY_ENTITIES = frozenset({"party", "person", "organization", "contact", "cscontact"})

_SEALED_KEY = "change_url_sealed"
_HASH_KEY = "change_url_hash"


@dataclass(frozen=True)
class ChangeEvent:
    """One Event Grid event as iMIS sends it."""

    id: str
    event_type: str
    subject: str
    event_time: str
    data: Any
    raw: dict[str, Any]

    @property
    def entity(self) -> str:
        return self.event_type.partition(".")[0]

    @property
    def action(self) -> str:
        return self.event_type.partition(".")[2]

    def entity_id(self) -> str | None:
        """The changed entity's id: from the data, or the subject's last segment."""
        if isinstance(self.data, Mapping):
            for name in ID_MEMBERS:
                value = self.data.get(name)
                if value not in (None, ""):
                    return str(value)
        last = self.subject.rstrip("/").rpartition("/")[2]
        return last or None


def parse_events(body: Any) -> list[ChangeEvent]:
    """The events of a notification's body (an array of events; a single event is taken too),
    or :class:`InvalidInputError` naming what is wrong and where."""
    items = body if isinstance(body, list) else [body]
    events: list[ChangeEvent] = []
    problems: list[str] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            problems.append(f"[{index}]: an event is an object (id, eventType, subject, data)")
            continue
        event_type = item.get("eventType")
        if not isinstance(event_type, str) or not event_type.strip():
            problems.append(f"[{index}].eventType: missing (an event type is Entity.Action)")
            continue
        events.append(
            ChangeEvent(
                id=str(item.get("id") or ""),
                event_type=event_type.strip(),
                subject=str(item.get("subject") or ""),
                event_time=str(item.get("eventTime") or ""),
                data=item.get("data"),
                raw=item,
            )
        )
    if problems:
        listed = "; ".join(printable(p) for p in problems)
        raise InvalidInputError(
            f"The change notification is not in the Event Grid schema: {listed}"
        )
    return events


def validation_code(events: Sequence[ChangeEvent], headers: Mapping[str, str]) -> str | None:
    """The code to answer when the notification is Event Grid's subscription validation
    (iMIS's "Verify and Save"); None for a notification of changes."""
    for event in events:
        if event.event_type == VALIDATION_EVENT:
            data = event.data if isinstance(event.data, Mapping) else {}
            code = data.get("validationCode")
            if code:
                return str(code)
    header = {k.lower(): v for k, v in headers.items()}.get(VALIDATION_HEADER, "")
    if header.strip().lower() == VALIDATION_HEADER_VALUE.lower():
        for event in events:
            data = event.data if isinstance(event.data, Mapping) else {}
            if data.get("validationCode"):
                return str(data["validationCode"])
    return None


def matches(event_types: Iterable[str], event_type: str) -> bool:
    """Whether a workflow listening to ``event_types`` takes an event of ``event_type``
    (``Party.Updated``; ``Activity.*`` for every action on an entity; none listed: all)."""
    wanted = list(event_types)
    if not wanted:
        return True
    entity, _, action = event_type.casefold().partition(".")
    for pattern in wanted:
        p_entity, _, p_action = pattern.casefold().partition(".")
        if p_entity == entity and (p_action == "*" or p_action == action):
            return True
    return False


@dataclass
class Delivery:
    """What a notification did: the validation code to answer, or the runs it started."""

    validation_code: str | None = None
    runs: list[tuple[str, str]] = field(default_factory=list)  # (workflow, run id)
    events: int = 0


def deliver(
    workspace: Workspace,
    body: Any,
    headers: Mapping[str, str],
    *,
    metadata: Mapping[str, Any] | None = None,
) -> Delivery:
    """Answer a change notification: the validation handshake, or start every active
    change-notification workflow each event matches (one run per workflow and event)."""
    events = parse_events(body)
    code = validation_code(events, headers)
    if code is not None:
        return Delivery(validation_code=code)
    delivery = Delivery(events=len(events))
    listening = [
        (info, ChangeNotificationTrigger.model_validate(info.document["trigger"]))
        for info in workspace.workflows(state=WorkflowState.ACTIVE)
        if info.trigger_type == "change_notification"
    ]
    if not listening:
        return delivery
    records: dict[tuple[str, str], dict[str, Any] | None] = {}
    for event in events:
        for info, trigger in listening:
            if not matches(trigger.event_types, event.event_type):
                continue
            given: dict[str, Any] = dict(event.raw)
            if trigger.include_full_record:
                key = (event.entity.casefold(), event.entity_id() or "")
                if key not in records:
                    records[key] = full_record(workspace, event)
                given["record"] = records[key]
            run = _start(workspace, info.id, info.name, event, given, metadata)
            if run is not None:
                delivery.runs.append((info.name, run))
    return delivery


def _start(
    workspace: Workspace,
    workflow_id: str,
    name: str,
    event: ChangeEvent,
    given: dict[str, Any],
    metadata: Mapping[str, Any] | None,
) -> str | None:
    """Start ``name`` for ``event``, once per event id (Event Grid delivers at least once: a
    redelivered event gets the first run); None when the workflow was disabled meanwhile or
    a copy of the event is being handled."""

    def start() -> RunInfo:
        return workspace.start_workflow(
            name, given, trigger="change_notification", metadata=metadata
        )

    try:
        if not event.id:
            return start().id
        run, _ = start_once(workspace, workflow_id, f"event:{event.id}", start)
    except Conflict as exc:
        log.info("change notification %s: workflow %s not started: %s", event.id, name, exc)
        return None
    return run.id


def full_record(workspace: Workspace, event: ChangeEvent) -> dict[str, Any] | None:
    """The changed entity's record, read from the workspace's target by the event's entity and
    id; None when the entity is deleted, unknown here, or its id cannot be read."""
    from idms.targets.imis.entities import parse_identity_path, spec_for

    ident = event.entity_id()
    if not ident:
        return None
    wanted = event.entity.casefold()
    try:
        with workspace.target() as target:
            for source in target.sources():
                entity = spec_for(source).entity.casefold()
                if entity != wanted and not (wanted in PARTY_ENTITIES and source.name == "Contact"):
                    continue
                identity = parse_identity_path(source, ident)
                if identity is None:
                    return None
                found = target.match(source.name, list(source.identity), [identity])[0]
                if not found:
                    return None
                return {k: _jsonable(v) for k, v in found[0].items()}
    except Exception:  # the run still starts, without the record; the log says why
        log.warning("change notification %s: the full record could not be read", event.id)
        return None
    return None


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


# ---- the endpoint's URL --------------------------------------------------------------------------


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ChangeUrl:
    """The workspace's change-notification URL token (``/hooks/imis/{token}``): 192 random
    bits, kept sealed with the workspace key, found by its SHA-256."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace

    def token(self) -> str:
        """The token, made on first use."""
        with Session(self.workspace.suite) as session:
            sealed = session.get(Meta, _SEALED_KEY)
            if sealed is not None:
                return self.workspace.box.decrypt(sealed.value, name="change notification URL")
        return self.regenerate()

    def regenerate(self) -> str:
        """A new token: the old URL answers 401 from now on."""
        token = secrets.token_urlsafe(24)
        with Session(writer(self.workspace.suite)) as session, session.begin():
            for key, value in (
                (_SEALED_KEY, self.workspace.box.encrypt(token)),
                (_HASH_KEY, _hash(token)),
            ):
                row = session.get(Meta, key)
                if row is None:
                    session.add(Meta(key=key, value=value))
                else:
                    row.value = value
        return token

    def accepts(self, token: str) -> bool:
        """Whether ``token`` is the current one (compared by hash, in constant time)."""
        with Session(self.workspace.suite) as session:
            stored = session.scalar(select(Meta.value).where(Meta.key == _HASH_KEY))
        given = _hash(token)
        return stored is not None and secrets.compare_digest(stored, given)
