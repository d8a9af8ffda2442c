"""Addresses: one per purpose per contact; one preferred address of each kind per contact."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import bindparam

from idms.targets.base import Record
from idms.targets.embedded.adapters.base import (
    ApplyContext,
    SourceAdapter,
    fold_text,
)
from idms.targets.embedded.adapters.execution import PlannedChange, Write
from idms.targets.embedded.schema import addresses

PREFERRED = ("IsPreferredMailing", "IsPreferredBilling", "IsPreferredShipping")


class AddressAdapter(SourceAdapter):
    def plan_insert(self, ctx: ApplyContext, change: Any) -> Record:
        record = super().plan_insert(ctx, change)
        for flag in PREFERRED:
            record[flag] = bool(record.get(flag))
        return record

    def check_update(
        self, ctx: ApplyContext, before: Record, after: Record, values: Mapping[str, Any]
    ) -> None:
        for flag in PREFERRED:
            after[flag] = bool(after.get(flag))

    def finish_batch(self, ctx: ApplyContext, planned: Sequence[PlannedChange]) -> None:
        """Within one batch too, the last address to take a preferred flag keeps it.

        The clearing updates of a batch all run before its writes, so an earlier change of the
        batch that set the same flag for the same contact is planned again without it.
        """
        holders: dict[tuple[Any, str], list[PlannedChange]] = {}
        for plan in planned:
            after = plan.after
            if after is None:
                continue
            for flag in PREFERRED:
                if not after.get(flag):
                    continue
                key = (fold_text(after["ImisId"]), flag)
                if (plan.before or {}).get(flag):
                    holders.setdefault(key, []).append(plan)
                    continue
                purpose = fold_text(after["AddressPurpose"])
                for earlier in holders.get(key, []):
                    if earlier.after and fold_text(earlier.after["AddressPurpose"]) != purpose:
                        earlier.after[flag] = False
                        earlier.writes = self._writes(ctx, earlier.before, earlier.after)
                holders[key] = [plan]

    def _writes(self, ctx: ApplyContext, before: Record | None, after: Record) -> list[Write]:
        if before is None:
            return self.writes_insert(ctx, after)
        return self.writes_update(ctx, before, after)

    def _clear_other_preferred(self, after: Record, before: Record | None) -> list[Write]:
        writes = []
        for flag in PREFERRED:
            if after.get(flag) and not (before or {}).get(flag):
                column = addresses.c[_column(flag)]
                stmt = (
                    addresses.update()
                    .where(
                        addresses.c.imis_id == bindparam("who"),
                        addresses.c.address_purpose != bindparam("purpose"),
                    )
                    .values({column.name: False})
                )
                params = {"who": after["ImisId"], "purpose": after["AddressPurpose"]}
                writes.append(Write(0, ("clear", flag), stmt, params))
        return writes

    def writes_insert(self, ctx: ApplyContext, after: Record) -> list[Write]:
        return [
            *self._clear_other_preferred(after, None),
            self.insert_write(addresses, after, phase=1),
        ]

    def writes_update(self, ctx: ApplyContext, before: Record, after: Record) -> list[Write]:
        return self._clear_other_preferred(after, before) + self.update_writes(
            addresses, before, after, phase=1
        )


def _column(flag: str) -> str:
    return {
        "IsPreferredMailing": "is_preferred_mailing",
        "IsPreferredBilling": "is_preferred_billing",
        "IsPreferredShipping": "is_preferred_shipping",
    }[flag]
