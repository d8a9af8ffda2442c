"""Relationships between contacts, with the reciprocal record kept in step on the target.

As in iMIS, the relationship shows on the target's record only when Reciprocal Type is given:
then a mirror record (target -> contact, with the types swapped) is written, updated and deleted
with it.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, tuple_

from idms.targets.base import Change, Record
from idms.targets.embedded.adapters.base import ApplyContext, RowRejected, SourceAdapter, Write
from idms.targets.embedded.schema import relationships


def _mirror(record: Record) -> Record:
    return {
        **record,
        "ImisId": record["TargetImisId"],
        "TargetImisId": record["ImisId"],
        "RelationshipType": record["ReciprocalType"],
        "ReciprocalType": record["RelationshipType"],
    }


class RelationshipAdapter(SourceAdapter):
    contact_refs = ("ImisId", "TargetImisId")

    def prepare_batch(self, ctx: ApplyContext, changes: Sequence[Change]) -> None:
        self._mirrors: set[tuple[str, str, str]] = set()
        keys = set()
        for c in changes:
            v = {**(c.identity or {}), **c.values}
            if v.get("ReciprocalType") and v.get("TargetImisId"):
                keys.add((str(v["TargetImisId"]), str(v["ReciprocalType"]), str(v.get("ImisId"))))
        if keys:
            r = relationships.c
            stmt = select(r.imis_id, r.relationship_type, r.target_imis_id).where(
                tuple_(r.imis_id, r.relationship_type, r.target_imis_id).in_(sorted(keys))
            )
            self._mirrors = {tuple(row) for row in ctx.conn.execute(stmt)}

    def check_insert(self, ctx: ApplyContext, record: Record) -> None:
        if str(record["ImisId"]).casefold() == str(record["TargetImisId"]).casefold():
            raise RowRejected(
                "self_relationship", "A contact cannot be related to itself.", "TargetImisId"
            )

    def _mirror_key(self, record: Record) -> tuple[str, str, str]:
        return (str(record["TargetImisId"]), str(record["ReciprocalType"]), str(record["ImisId"]))

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
