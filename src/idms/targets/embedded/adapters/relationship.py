"""Relationships between contacts, with the reciprocal record kept in step on the target.

As in iMIS, the relationship shows on the target's record only when Reciprocal Type is given:
then a mirror record (target -> contact, with the types swapped) is written, updated and deleted
with it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select

from idms.targets.base import Change, ChangeKind, Record
from idms.targets.embedded.adapters.base import (
    ApplyContext,
    SourceAdapter,
    spellings,
)
from idms.targets.embedded.adapters.execution import Write
from idms.targets.embedded.schema import relationships


def _folded(key: Sequence[Any]) -> tuple[str, str, str]:
    """A relationship's (ImisId, RelationshipType, TargetImisId), compared without case."""
    first, kind, second = (str(v).strip().lower() for v in key)
    return (first, kind, second)


def _mirror(record: Record) -> Record:
    return {
        **record,
        "ImisId": record["TargetImisId"],
        "TargetImisId": record["ImisId"],
        "RelationshipType": record["ReciprocalType"],
        "ReciprocalType": record["RelationshipType"],
    }


class RelationshipAdapter(SourceAdapter):
    def prepare_batch(self, ctx: ApplyContext, changes: Sequence[Change]) -> None:
        """The mirror records that exist already, for every relationship the batch touches.

        An insert names its types in its values; an update or a delete addresses the stored
        record by identity alone, so its types come from the stored record (and the update).
        """
        addressed = [c for c in changes if c.kind is not ChangeKind.INSERT]
        stored = self.fetch(ctx.conn, [self.identity_of(c.identity or {}) for c in addressed])
        records: list[Mapping[str, Any]] = []
        for c in changes:
            if c.kind is ChangeKind.INSERT:
                records.append(c.values)
                continue
            before = stored.get(self.identity_of(c.identity or {}))
            if before is not None:
                records += [before, {**before, **c.values}]
        keys = {
            self._mirror_key(v)
            for v in records
            if v.get("ReciprocalType") and v.get("TargetImisId") and v.get("ImisId")
        }
        self._mirrors: set[tuple[str, str, str]] = set()
        if keys:
            r = relationships.c
            stmt = select(r.imis_id, r.relationship_type, r.target_imis_id).where(
                r.imis_id.in_(spellings(k[0] for k in keys))
            )
            self._mirrors = {_folded(row) for row in ctx.conn.execute(stmt)} & keys

    def _mirror_key(self, record: Mapping[str, Any]) -> tuple[str, str, str]:
        """The folded identity of the record that mirrors ``record``."""
        return _folded((record["TargetImisId"], record["ReciprocalType"], record["ImisId"]))

    def writes_insert(self, ctx: ApplyContext, after: Record) -> list[Write]:
        writes = [self.insert_write(relationships, after, phase=0)]
        if after.get("ReciprocalType") and self._mirror_key(after) not in self._mirrors:
            writes.append(self.insert_write(relationships, _mirror(after), phase=1))
            self._mirrors.add(self._mirror_key(after))
        return writes

    def writes_update(self, ctx: ApplyContext, before: Record, after: Record) -> list[Write]:
        writes = self.update_writes(relationships, before, after, phase=0)
        if before.get("ReciprocalType") and self._mirror_key(before) in self._mirrors:
            if after.get("ReciprocalType"):
                writes += self.update_writes(
                    relationships, _mirror(before), _mirror(after), phase=1
                )
            else:
                writes.append(self.delete_write(relationships, _mirror(before), phase=1))
        elif after.get("ReciprocalType") and self._mirror_key(after) not in self._mirrors:
            writes.append(self.insert_write(relationships, _mirror(after), phase=1))
        return writes

    def writes_delete(self, ctx: ApplyContext, before: Record) -> list[Write]:
        writes = [self.delete_write(relationships, before, phase=0)]
        if before.get("ReciprocalType") and self._mirror_key(before) in self._mirrors:
            writes.append(self.delete_write(relationships, _mirror(before), phase=1))
        return writes
