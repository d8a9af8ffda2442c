"""Communication preferences: one Yes/No field per preference defined in the store.

Stored as one row per contact and preference; a contact "has" preferences once any is stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Boolean, ColumnElement, Select, case, cast, func, select

from idms.sources.model import SourceDef
from idms.sources.rules import RowRefused
from idms.targets.base import Change, Record
from idms.targets.embedded.adapters.base import (
    ApplyContext,
    SourceAdapter,
    StorePolicy,
)
from idms.targets.embedded.adapters.execution import Write
from idms.targets.embedded.schema import communication_preference_values as values_table


class PreferencesAdapter(SourceAdapter):
    def __init__(self, source: SourceDef, policy: StorePolicy) -> None:
        self.codes = [f.name for f in source.fields if f.name != "ImisId"]
        # max() over 1/0 gives one column per preference: 1 opted in, 0 out, NULL never said;
        # cast back to Yes/No so that filters treat it as one (PostgreSQL insists).
        flag = case((values_table.c.opted_in, 1), else_=0)
        pivot = [
            cast(func.max(case((values_table.c.code == code, flag))), Boolean).label(code)
            for code in self.codes
        ]
        self.pivot = (
            select(values_table.c.imis_id.label("ImisId"), *pivot)
            .group_by(values_table.c.imis_id)
            .subquery("preferences")
        )
        super().__init__(source, values_table, policy)

    def read_columns(self) -> dict[str, ColumnElement[Any]]:
        return {name: self.pivot.c[name] for name in ["ImisId", *self.codes]}

    def build_select(self) -> Select[Any]:
        return select(*[col.label(name) for name, col in self.columns.items()])

    def plan_insert(self, ctx: ApplyContext, change: Change) -> Record:
        record = super().plan_insert(ctx, change)
        if not ctx.claim("has_preferences", str(record["ImisId"]).casefold()):
            raise RowRefused(
                "preferences_exist",
                f"Contact {record['ImisId']} already has communication preferences: use update "
                "or insert-update.",
                "ImisId",
            )
        return record

    def prepare_batch(self, ctx: ApplyContext, changes: Any) -> None:
        ids = [str(c.values.get("ImisId")) for c in changes if c.values.get("ImisId")]
        having = self.fetch(ctx.conn, [(i.strip().lower(),) for i in ids])
        ctx.claims.setdefault("has_preferences", set()).update(str(k[0]) for k in having)

    def check_update(
        self, ctx: ApplyContext, before: Record, after: Record, values: Mapping[str, Any]
    ) -> None:
        """Nothing beyond the field types: every preference is a plain opt-in."""

    def _rows(self, imis_id: str, record: Record) -> dict[str, Any]:
        return {code: record.get(code) for code in self.codes}

    def writes_insert(self, ctx: ApplyContext, after: Record) -> list[Write]:
        return [
            Write(
                0,
                ("insert", "prefs"),
                values_table.insert(),
                {"imis_id": after["ImisId"], "code": code, "opted_in": bool(value)},
            )
            for code, value in self._rows(after["ImisId"], after).items()
            if value is not None
        ]

    def writes_update(self, ctx: ApplyContext, before: Record, after: Record) -> list[Write]:
        writes = []
        for code in self.codes:
            old, new = before.get(code), after.get(code)
            if old == new:
                continue
            key = {"imis_id": before["ImisId"], "code": code}
            if new is None:
                stmt = values_table.delete().where(
                    values_table.c.imis_id == key["imis_id"], values_table.c.code == code
                )
                writes.append(Write(0, ("pref-delete", id(stmt)), stmt, {}))
            elif old is None:
                writes.append(
                    Write(
                        0,
                        ("insert", "prefs"),
                        values_table.insert(),
                        {**key, "opted_in": bool(new)},
                    )
                )
            else:
                change = (
                    values_table.update()
                    .where(values_table.c.imis_id == key["imis_id"], values_table.c.code == code)
                    .values(opted_in=bool(new))
                )
                writes.append(Write(0, ("pref-update", id(change)), change, {}))
        return writes

    def writes_delete(self, ctx: ApplyContext, before: Record) -> list[Write]:
        stmt = values_table.delete().where(values_table.c.imis_id == before["ImisId"])
        return [Write(0, ("pref-delete-all", id(stmt)), stmt, {})]
