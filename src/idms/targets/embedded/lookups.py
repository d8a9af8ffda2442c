"""Lookup-code validation: the codes a code field may hold, read once per batch.

Codes compare without case (as iMIS's collation does); a valid value is written with the
lookup's own spelling, so ``gld`` is stored as ``GLD``.
"""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, func, select

from idms.targets.embedded.schema import (
    event_functions,
    events,
    gift_items,
    groups,
    lookup_codes,
    payment_methods,
)
from idms.values.folding import fold


def load_codes(conn: Connection, table: str) -> dict[str, str]:
    """code -> description for a lookup table, general or entity-backed."""
    name = table.upper()
    if name == "EVENT":
        rows = conn.execute(select(events.c.event_code, events.c.event_name))
    elif name == "FUNCTION":
        rows = conn.execute(
            select(event_functions.c.function_code, event_functions.c.function_name).distinct()
        )
    elif name == "GROUP":
        rows = conn.execute(select(groups.c.group_name, groups.c.description))
    elif name == "GIFT_ITEM":
        rows = conn.execute(select(gift_items.c.gift_item_id, gift_items.c.name))
    elif name == "PAYMENT_METHOD":
        rows = conn.execute(select(payment_methods.c.payment_method_id, payment_methods.c.name))
    else:
        rows = conn.execute(_CODES_OF_TABLE, {"table": name})
    return {str(code): str(desc or "") for code, desc in rows}


# Table names compare without case, as iMIS's collation does ("prefix" is PREFIX). Built once:
# a write that checks a code reads its table, and building the statement cost more than that.
_CODES_OF_TABLE = select(lookup_codes.c.code, lookup_codes.c.description).where(
    func.upper(lookup_codes.c.table_name) == bindparam("table")
)


_UNKNOWN = object()


class LookupCache:
    """Codes per lookup table, loaded on first use within one batch."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._tables: dict[str, dict[str, str]] = {}
        # Answers given, by (table, value): a batch's rows mostly hold the same few codes.
        self._answers: dict[tuple[str, str], str | None] = {}

    def canonical(self, table: str, value: str) -> str | None:
        """The stored spelling of ``value`` in ``table``, or None when it is not a valid code."""
        key = (table, value)
        answer = self._answers.get(key, _UNKNOWN)
        if answer is _UNKNOWN:
            answer = self._answers[key] = self._folded(table).get(fold(value.strip()))
        return answer  # type: ignore[return-value]

    def _folded(self, table: str) -> dict[str, str]:
        key = table.upper()
        if key not in self._tables:
            codes = load_codes(self._conn, key)
            self._tables[key] = {fold(c): c for c in codes}
        return self._tables[key]

    def forget(self, table: str) -> None:
        self._tables.pop(table.upper(), None)
        self._answers.clear()
