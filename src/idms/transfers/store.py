"""Transfers in the suite database (table ``transfers``): each kept as its document (JSON), by
name. Their delta hashes are kept in the one hash store (``workflow_hashes``) under the
transfer's ID; deleting a transfer deletes them. Their runs are runs of kind ``transfer``."""

from __future__ import annotations

import builtins
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update

from idms.db import writer
from idms.errors import Conflict, NotFound, suggest
from idms.secrets import SecretBox
from idms.state.models import Run, Transfer, WorkflowHash, utcnow
from idms.state.store import translate_errors
from idms.transfers.model import TransferDoc, TransferState
from idms.workflows.store import hook_hash, new_hook_token

RUN_KIND = "transfer"


@dataclass(frozen=True)
class TransferInfo:
    id: str
    name: str
    state: TransferState
    document: dict[str, Any]  # the TransferDoc as JSON
    created_at: datetime
    updated_at: datetime

    @property
    def doc(self) -> TransferDoc:
        return TransferDoc.model_validate(self.document)

    @property
    def description(self) -> str:
        return str(self.document.get("description") or "")

    def as_dict(self) -> dict[str, Any]:
        steps = self.document.get("steps") or []
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "state": self.state.value,
            "query": (self.document.get("source") or {}).get("query"),
            "delta_key": (self.document.get("delta") or {}).get("key"),
            "steps": len(steps),
            "connections": [(s.get("connection") or {}).get("type") for s in steps],
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


def document_of(doc: TransferDoc) -> dict[str, Any]:
    """The document as stored and exported (JSON; defaults written out, so what is shown is
    what runs)."""
    out: dict[str, Any] = doc.model_dump(mode="json", by_alias=True)
    return out


class TransferStore:
    """Save, read and delete transfers; find their runs."""

    def __init__(self, engine: Engine, box: SecretBox) -> None:
        self.engine = engine
        self.box = box

    def save(self, doc: TransferDoc) -> tuple[TransferInfo, bool]:
        """Create or replace the transfer named ``doc.name``; True when it is new. A replaced
        transfer keeps its ID, and so its delta hashes (and its inbound URL: an inbound transfer
        gets one when first saved as one)."""
        now = utcnow()
        text = json.dumps(document_of(doc), ensure_ascii=False)
        with translate_errors("Cannot save the transfer"), writer(self.engine).begin() as conn:
            row = conn.execute(
                select(Transfer.id, Transfer.hook_hash).where(Transfer.name == doc.name)
            ).first()
            found = None if row is None else str(row[0])
            hook: dict[str, Any] = {}
            if doc.inbound is not None and (row is None or row[1] is None):
                hook = self._hook_values(new_hook_token())
            if found is None:
                conn.execute(
                    insert(Transfer).values(
                        id=uuid.uuid4().hex,
                        name=doc.name,
                        state=doc.state.value,
                        document=text,
                        created_at=now,
                        updated_at=now,
                        **hook,
                    )
                )
            else:
                conn.execute(
                    update(Transfer)
                    .where(Transfer.id == found)
                    .values(state=doc.state.value, document=text, updated_at=now, **hook)
                )
        return self.get(doc.name), found is None

    def get(self, name: str) -> TransferInfo:
        """Transfer ``name``; NotFound (suggesting the closest name) when there is none."""
        with translate_errors("Cannot read the transfers"), self.engine.connect() as conn:
            row = conn.execute(select(Transfer).where(Transfer.name == name)).first()
            if row is None:
                names = [str(n) for n in conn.execute(select(Transfer.name)).scalars()]
        if row is None:
            close = suggest(name, names)
            hint = f" Did you mean '{close}'?" if close else ""
            raise NotFound(f"No transfer '{name}'.{hint}", hint="'idms transfer list' shows them.")
        return _info(row)

    def _hook_values(self, token: str) -> dict[str, Any]:
        return {"hook_sealed": self.box.encrypt(token), "hook_hash": hook_hash(token)}

    def hook_token(self, name: str) -> str:
        """The secret part of an inbound transfer's URL; Conflict for one that receives
        nothing."""
        info = self.get(name)
        with self.engine.connect() as conn:
            sealed = conn.execute(
                select(Transfer.hook_sealed).where(Transfer.id == info.id)
            ).scalar()
        if sealed is None or info.doc.inbound is None:
            raise Conflict(f"Transfer '{name}' receives nothing (no inbound:): it has no URL.")
        return self.box.decrypt(sealed, name=f"transfer {name}'s URL")

    def by_hook(self, token: str) -> TransferInfo | None:
        """The transfer whose inbound URL token is ``token``; None for any other token."""
        with translate_errors("Cannot read the transfers"), self.engine.connect() as conn:
            row = conn.execute(
                select(Transfer).where(Transfer.hook_hash == hook_hash(token))
            ).first()
        return None if row is None else _info(row)

    def get_by_id(self, transfer_id: str) -> TransferInfo:
        with translate_errors("Cannot read the transfers"), self.engine.connect() as conn:
            row = conn.execute(select(Transfer).where(Transfer.id == transfer_id)).first()
        if row is None:
            raise NotFound(f"The transfer of this run ({transfer_id}) was deleted.")
        return _info(row)

    def list(self) -> builtins.list[TransferInfo]:
        with translate_errors("Cannot read the transfers"), self.engine.connect() as conn:
            return [_info(r) for r in conn.execute(select(Transfer).order_by(Transfer.name))]

    def delete(self, name: str) -> TransferInfo:
        """Delete the transfer and its delta hashes (its runs stay in the history)."""
        info = self.get(name)
        with translate_errors("Cannot delete the transfer"), self.engine.begin() as conn:
            conn.execute(delete(WorkflowHash).where(WorkflowHash.workflow_id == info.id))
            conn.execute(delete(Transfer).where(Transfer.id == info.id))
        return info

    def runs_of(self, name: str | None, limit: int) -> builtins.list[str]:
        """The IDs of the latest transfer runs (of transfer ``name``), newest first."""
        stmt = (
            select(Run.id)
            .where(Run.kind == RUN_KIND)
            .order_by(Run.created_at.desc(), Run.id.desc())
            .limit(limit)
        )
        if name is not None:
            stmt = stmt.where(Run.name == name)
        with translate_errors("Cannot read the runs"), self.engine.connect() as conn:
            return [str(i) for i in conn.execute(stmt).scalars()]


def _info(row: Any) -> TransferInfo:
    return TransferInfo(
        id=row.id,
        name=row.name,
        state=TransferState(row.state),
        document=json.loads(row.document),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
