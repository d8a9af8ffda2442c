"""Records a batch's match read, carried to its apply in the same exclusive scope.

A run matches and applies each batch inside one :meth:`EmbeddedTarget.exclusive` scope: one
write transaction, holding the lock that orders the writers of the source; on SQLite that is the
store file's write lock, which no other writer of any source gets until the scope ends. What
``match`` read there is then what the store still holds when ``apply`` plans the batch, so
planning takes its before-images from here instead of reading every matched record a second
time (the same ``base_select``, the same ``to_record``: the same record). Whatever is not
carried (a plan's dry run, undo, a resumed batch, a record nobody matched, any scope on
PostgreSQL) is fetched as before. A :meth:`EmbeddedTarget.together` block (the sandbox's
request: a PUT reads the contact, then writes it) carries what it matched the same way.

Anything written in the scope may change a carried record (a contact's address is part of its
record), so the first write takes them all: they serve one apply, never a later one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from idms.targets.base import Record

Identity = tuple[Any, ...]


class Carried:
    """Matched records by source and folded identity, until the scope's next write."""

    def __init__(self) -> None:
        self._by_source: dict[str, dict[Identity, Record]] = {}

    def remember(
        self,
        source: str,
        found: Iterable[Iterable[Record]],
        identity_of: Callable[[Mapping[str, Any]], Identity],
    ) -> None:
        """Keep the records a ``match`` of ``source`` returned (one list per criterion)."""
        kept = self._by_source.setdefault(source, {})
        for records in found:
            for record in records:
                kept[identity_of(record)] = record

    def take(self, source: str) -> dict[Identity, Record]:
        """The records carried for ``source``'s apply; none is carried any further."""
        kept = self._by_source.pop(source, {})
        self._by_source.clear()
        return kept

    def clear(self) -> None:
        self._by_source.clear()
