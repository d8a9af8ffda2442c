"""Sources whose records get a number from a store counter on insert (SEQN, ordinals, IDs)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Table

from idms.sources.model import SourceDef
from idms.targets.base import Change, ChangeKind, Record
from idms.targets.embedded import counters
from idms.targets.embedded.adapters.base import (
    ApplyContext,
    SourceAdapter,
    StorePolicy,
)


class NumberedAdapter(SourceAdapter):
    """Assigns ``number_field`` from counter ``counter`` to every new record of a batch."""

    def __init__(
        self,
        source: SourceDef,
        table: Table,
        policy: StorePolicy,
        *,
        number_field: str,
        counter: str,
    ) -> None:
        super().__init__(source, table, policy)
        self.number_field = number_field
        self.counter = counter
        self._numbers: list[int] = []

    def prepare_batch(self, ctx: ApplyContext, changes: Sequence[Change]) -> None:
        inserts = sum(1 for c in changes if c.kind is ChangeKind.INSERT)
        self._numbers = list(counters.allocate(ctx.conn, self.counter, inserts))
        self._numbers.reverse()

    def plan_insert(self, ctx: ApplyContext, change: Change) -> Record:
        record = super().plan_insert(ctx, change)
        record[self.number_field] = self._numbers.pop()
        return record


class ActivityAdapter(NumberedAdapter):
    """Activities: SEQN from its counter; the delete rule is the source's (sources/checks.py)."""
