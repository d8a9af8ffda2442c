"""User-defined panels: single-instance (one row per contact), multi-instance, standalone."""

from __future__ import annotations

from sqlalchemy import Table

from idms.sources.model import SourceDef
from idms.sources.rules import RowRefused
from idms.targets.base import Change, Record
from idms.targets.embedded import counters
from idms.targets.embedded.adapters.base import (
    ApplyContext,
    SourceAdapter,
    StorePolicy,
)
from idms.targets.embedded.adapters.numbered import NumberedAdapter


def panel_adapter(source: SourceDef, table: Table, policy: StorePolicy) -> SourceAdapter:
    if source.panel_kind == "single":
        return SinglePanelAdapter(source, table, policy)
    return NumberedAdapter(
        source,
        table,
        policy,
        number_field="Ordinal",
        counter=counters.panel_counter(source.name),
    )


class SinglePanelAdapter(SourceAdapter):
    def prepare_batch(self, ctx: ApplyContext, changes: list[Change]) -> None:  # type: ignore[override]
        ids = [str(c.values["ImisId"]).strip().lower() for c in changes if c.values.get("ImisId")]
        having = self.fetch(ctx.conn, [(i,) for i in ids])
        ctx.claims.setdefault("panel_rows", set()).update(str(k[0]) for k in having)

    def plan_insert(self, ctx: ApplyContext, change: Change) -> Record:
        record = super().plan_insert(ctx, change)
        if not ctx.claim("panel_rows", str(record["ImisId"]).lower()):
            raise RowRefused(
                "panel_row_exists",
                f"Contact {record['ImisId']} already has a {self.source.name} row (a "
                "single-instance panel holds one per contact): use update.",
                "ImisId",
            )
        return record
