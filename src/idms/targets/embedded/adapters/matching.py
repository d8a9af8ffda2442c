"""Matching: for each row's criteria, the records that match, one set-based query per chunk."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, Table, literal, or_

from idms.errors import FilterError
from idms.sources.model import SourceDef
from idms.targets.base import Record
from idms.targets.embedded.adapters.context import StorePolicy
from idms.targets.embedded.adapters.folding import (
    MATCH_CHUNK,
    among,
    fold_text,
    folded,
    is_key_like,
    spellings,
)
from idms.targets.embedded.adapters.reading import Reading


class Matching(Reading):
    """Matches rows against a source's records, text compared without case."""

    def __init__(self, source: SourceDef, table: Table, policy: StorePolicy) -> None:
        super().__init__(source, table, policy)
        self._match_statements: dict[tuple[str, tuple[str, ...]], Select[Any]] = {}

    def match(
        self, conn: Connection, fields: Sequence[str], criteria: Sequence[Mapping[str, Any]]
    ) -> list[list[Record]]:
        names = [self.source.field(f).name for f in fields]
        for name in names:
            if name not in self.columns:
                raise FilterError(f"{name} cannot be matched on: it is never read back.")
        plain = self.fields.keys()  # criteria keyed by canonical names need no renaming
        canonical: dict[str, str] = {}
        wanted = []
        for c in criteria:
            if not plain >= c.keys():
                c = {canonical.get(k) or self._canonical(canonical, k): v for k, v in c.items()}
            wanted.append(tuple([_match_key(c.get(name)) for name in names]))
        found: dict[tuple[Any, ...], list[Record]] = {}
        unique = list(dict.fromkeys(wanted))
        for start in range(0, len(unique), MATCH_CHUNK):
            chunk = unique[start : start + MATCH_CHUNK]
            if any(v is None for key in chunk for v in key):
                parts = [
                    self._match_part(i, name, chunk, conn.dialect.name)
                    for i, name in enumerate(names)
                ]
                stmt = self.key_select(conn.dialect.name, names)
                stmt = stmt.where(*parts).order_by(*self._identity_order())
                params: dict[str, Any] = {}
            else:  # the usual case: one statement per field list, built once
                stmt = self._match_statement(conn.dialect.name, tuple(names))
                params = {
                    f"m{i}": self._in_values(name, {key[i] for key in chunk})
                    for i, name in enumerate(names)
                }
            chunk_keys = set(chunk)
            for record in self.records(conn.execute(stmt, params)):
                key = tuple([_match_key(record.get(name)) for name in names])
                if key in chunk_keys:
                    found.setdefault(key, []).append(record)
        return [list(found.get(key, [])) for key in wanted]

    def _canonical(self, known: dict[str, str], reference: str) -> str:
        """The canonical name of the field ``reference`` names, remembered in ``known``."""
        name = known[reference] = self.source.field(reference).name
        return name

    def _identity_order(self) -> list[ColumnElement[Any]]:
        return [self.columns[k].asc() for k in self.source.identity]

    def _match_statement(self, dialect: str, names: tuple[str, ...]) -> Select[Any]:
        """``field IN (:m0) AND ...`` with expanding parameters, cached per field list."""
        cached = self._match_statements.get((dialect, names))
        if cached is None:
            parts = []
            for i, name in enumerate(names):
                col, fdef = self.columns[name], self.fields[name]
                text = fdef.type.is_text and not is_key_like(fdef)
                parts.append(among(folded(col) if text else col, (), dialect, f"m{i}"))
            stmt = self.key_select(dialect, names)
            cached = stmt.where(*parts).order_by(*self._identity_order())
            self._match_statements[dialect, names] = cached
        return cached

    def _in_values(self, name: str, values: set[Any]) -> list[Any]:
        """The values ``in_clause`` would compare for ``name``, as a parameter list (``values``
        are match keys, text already folded)."""
        fdef = self.fields[name]
        if not fdef.type.is_text:
            return sorted(values, key=repr)
        if is_key_like(fdef):
            return spellings(values)
        return sorted({str(v) for v in values})

    def _match_part(
        self, i: int, name: str, chunk: list[tuple[Any, ...]], dialect: str
    ) -> ColumnElement[bool]:
        col = self.columns[name]
        values = {key[i] for key in chunk}
        text = self.fields[name].type.is_text
        blank = None in values
        values.discard(None)
        options: list[ColumnElement[bool]] = []
        if values:
            options.append(self.in_clause(name, values, dialect))
        if blank:
            options.append(col.is_(None))
            if text:
                options.append(col == literal(""))
        return or_(*options) if len(options) > 1 else options[0]


def _match_key(value: Any) -> Any:
    """A value as matching compares it: text stripped and folded (blank text is None), a
    multi-select value each of its codes folded, anything else as given."""
    if isinstance(value, str):
        return fold_text(value) or None
    if isinstance(value, tuple):
        return tuple(fold_text(v) for v in value)
    return value
