"""A dry run over REST: iMIS has none, so a plan judges each change here, before any write.

The checks are the shared ones (``idms.sources.rules`` and ``idms.sources.checks``), the same the
embedded store makes when it writes, and so the same the sandbox answers with; what they ask of
the store (lookup codes, contacts, taken usernames) is read over REST, once per plan
(:class:`Planned` keeps it, with what the plan's earlier changes would have written).

What a client cannot read before the write (a source's rules in ``CHECKED_ONLY_ON_WRITE``, a
lookup table iMIS does not list under GenTable, the password policy) is said on the row as a
note, never silently planned as fine.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from idms.sources.model import SourceDef
from idms.targets.base import Record
from idms.targets.imis.client import ImisRefused
from idms.targets.imis.reads import match_key
from idms.values.folding import fold

# How a record iMIS would number shows its identity in a plan (iMIS gives the number on write).
NEW_ID = "(new {n})"

Match = Callable[[str, Sequence[str], Sequence[Mapping[str, Any]]], list[list[Record]]]


def identity_key(source: SourceDef, record: Mapping[str, Any]) -> tuple[Any, ...]:
    return tuple(match_key(record.get(k)) for k in source.identity)


class Planned:
    """What one plan over REST has read and would have written, shared by its batches.

    ``records`` holds, per source and by folded identity, each record as the plan left it (None:
    deleted); ``match`` and later changes see them, as a run sees what it wrote. Lookup tables
    and contacts read are kept for the whole plan.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.records: dict[str, dict[tuple[Any, ...], Record | None]] = {}
        self.codes: dict[str, dict[str, str]] = {}
        self.contacts: dict[str, Record | None] = {}
        self._numbers = 0

    def new_id(self) -> str:
        with self.lock:
            self._numbers += 1
            return NEW_ID.format(n=self._numbers)

    def keep(self, source: SourceDef, before: Record | None, after: Record | None) -> None:
        with self.lock:
            held = self.records.setdefault(source.name, {})
            if before is not None:
                held[identity_key(source, before)] = None
            if after is not None:
                held[identity_key(source, after)] = after

    def find(self, source: SourceDef, identity: Mapping[str, Any]) -> tuple[bool, Record | None]:
        """(known, record): whether the plan wrote the record ``identity`` names, and what."""
        held = self.records.get(source.name, {})
        key = identity_key(source, identity)
        return (key in held, held.get(key))

    def merged(
        self, source: SourceDef, names: Sequence[str], keys: tuple[Any, ...], found: list[Record]
    ) -> list[Record]:
        """``found`` (what iMIS holds that matches ``keys``) as the plan would have left it."""
        held = self.records.get(source.name)
        if not held:
            return found

        def matches(record: Record) -> bool:
            return tuple(match_key(record.get(n)) for n in names) == keys

        out: list[Record] = []
        seen = set()
        for record in found:
            key = identity_key(source, record)
            seen.add(key)
            if key in held:
                planned = held[key]
                if planned is None or not matches(planned):
                    continue
                record = planned
            out.append(record)
        out.extend(r for k, r in held.items() if k not in seen and r is not None and matches(r))
        return out


class Judge:
    """The store look-ups (``idms.sources.checks.StoreLookups``) of one change, over REST, and
    the notes on what could not be checked."""

    def __init__(
        self,
        planned: Planned,
        codes: Callable[[str], dict[str, str]],
        contact: Callable[[str], Record | None],
        match: Match,
    ) -> None:
        self.planned = planned
        self._codes = codes
        self._contact = contact
        self._match = match
        self.notes: list[str] = []

    def canonical_code(self, table: str, value: str) -> str | None:
        key = table.upper()
        codes = self.planned.codes.get(key)
        if codes is None:
            try:
                codes = {fold(c): c for c in self._codes(table)}
            except ImisRefused:  # an iMIS that does not list this table
                codes = {}
            self.planned.codes[key] = codes
        if not codes:
            self.notes.append(
                f"'{value}' is checked against iMIS's {table} table only when the run writes "
                "(iMIS does not list that table's codes)."
            )
            return value.strip()
        return codes.get(fold(value.strip()))

    def contact(self, imis_id: str) -> Record | None:
        key = match_key(imis_id)
        held = self.planned.records.get("Contact", {})
        if (key,) in held:
            return held[(key,)]
        if key not in self.planned.contacts:
            self.planned.contacts[key] = self._contact(imis_id.strip())
        return self.planned.contacts[key]

    def exists(self, source: str, field: str, value: str) -> bool:
        """Whether a record of ``source`` has ``field`` = ``value`` (the plan's own included)."""
        found = self._match(source, [field], [{field: value}])[0]
        return bool(found)

    def note(self) -> str | None:
        if not self.notes:
            return None
        return "Planned, but not fully checked: " + " ".join(dict.fromkeys(self.notes))
