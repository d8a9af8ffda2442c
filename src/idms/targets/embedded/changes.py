"""What change notification a write to the embedded store makes, as iMIS makes it.

iMIS delivers a change notification through Azure Event Grid for every create, update and
delete of an entity; the embedded store does the same for every write committed through it (an
import, a workflow, the sandbox's REST API), so the whole loop (change in "iMIS" → ``idms
serve`` → a workflow run) is rehearsed locally. This module says which event a write is; the
delivery (a background sender, retries) is ``notify.py``'s.

One event in the Event Grid schema per changed entity: ``eventType`` ``Entity.Action``
(``Party.Created``/``Updated``/``Deleted``, ``Activity.…``), the entity's id in ``data.Id`` and
in the subject (``Party/ID``). The entity is the one iMIS's REST API names
(:func:`~idms.targets.imis.entities.spec_for`: Contact is Party, LookupTable GenTable,
UserCredentials User), except that an address is part of its party, as in iMIS (which has no
Address entity): a change to an address is its party's ``Party.Updated``.

The events of one transaction are gathered (:class:`Written`) and handed on only once it is
committed: a dry run, a plan (a rehearsal) or a write rolled back notifies nothing. Within a
transaction an entity is notified once (a party created with its address is one
``Party.Created``), a deletion outweighing a creation, a creation an update.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from idms.sources.model import SourceDef
from idms.targets.base import ApplyResult, Record
from idms.targets.imis.entities import spec_for

TOPIC = "/idms/store"
VALIDATION_EVENT = "Microsoft.EventGrid.SubscriptionValidationEvent"
CREATED, UPDATED, DELETED = "Created", "Updated", "Deleted"
# Sources iMIS notifies as a change of their party (what they are part of).
PARTY_PARTS = frozenset({"Address"})
_WEIGHT = {UPDATED: 0, CREATED: 1, DELETED: 2}


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def event(entity: str, entity_id: str, action: str) -> dict[str, Any]:
    """One Event Grid event of a change to ``entity`` ``entity_id``."""
    return {
        "id": str(uuid.uuid4()),
        "topic": TOPIC,
        "subject": f"{entity}/{entity_id}",
        "eventType": f"{entity}.{action}",
        "eventTime": _now(),
        "data": {"EntityTypeName": entity, "Id": entity_id, "Action": action},
        "dataVersion": "1.0",
        "metadataVersion": "1",
    }


def validation_event(code: str) -> dict[str, Any]:
    """The subscription-validation event iMIS's "Verify and Save" has Event Grid send."""
    return {
        "id": str(uuid.uuid4()),
        "topic": TOPIC,
        "subject": "",
        "eventType": VALIDATION_EVENT,
        "eventTime": _now(),
        "data": {"validationCode": code, "validationUrl": None},
        "dataVersion": "2",
        "metadataVersion": "1",
    }


def change_of(
    source: SourceDef, result: ApplyResult, entity: str | None = None
) -> tuple[str, str, str] | None:
    """(entity, id, action) of one written change, or None (refused, or nothing to name);
    ``entity`` is the source's (:func:`entity_of`), when the caller knows it already."""
    if not result.ok or (result.before is None and result.after is None):
        return None
    record: Record = result.after if result.after is not None else result.before or {}
    if source.name in PARTY_PARTS:
        party = record.get("ImisId")
        return None if party in (None, "") else ("Party", str(party), UPDATED)
    action = CREATED if result.before is None else DELETED if result.after is None else UPDATED
    entity = entity or entity_of(source)
    if entity == "Party":
        ident = record.get("ImisId")
        return None if ident in (None, "") else (entity, str(ident), action)
    parts = [record.get(name) for name in source.identity]
    if not parts or any(p in (None, "") for p in parts):
        return None
    texts = [str(p) for p in parts]
    return entity, texts[0] if len(texts) == 1 else "~" + "|".join(texts), action


def entity_of(source: SourceDef) -> str:
    """The entity iMIS notifies a change of ``source`` as (an address: its party)."""
    return "Party" if source.name in PARTY_PARTS else spec_for(source).entity


class Written:
    """The changes of one transaction, to be notified once it is committed."""

    def __init__(self) -> None:
        self._changes: dict[tuple[str, str], str] = {}  # insertion order: first change first

    def add(self, source: SourceDef, results: Sequence[ApplyResult]) -> None:
        entity = entity_of(source)
        for result in results:
            change = change_of(source, result, entity)
            if change is None:
                continue
            entity, ident, action = change
            known = self._changes.get((entity, ident))
            if known is None or _WEIGHT[action] > _WEIGHT[known]:
                self._changes[(entity, ident)] = action

    def __bool__(self) -> bool:
        return bool(self._changes)

    def events(self) -> list[dict[str, Any]]:
        return [event(entity, ident, action) for (entity, ident), action in self._changes.items()]
