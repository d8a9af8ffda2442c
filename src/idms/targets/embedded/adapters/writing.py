"""The writes a planned change makes: INSERT, UPDATE and DELETE statements of the source's tables,
built once per shape and run together (``execution.py``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Column, Executable, Table

from idms.bulk import key_match, keyed_update, rows_insert
from idms.sources.model import SourceDef
from idms.targets.base import Record
from idms.targets.embedded.adapters.context import ApplyContext, StorePolicy
from idms.targets.embedded.adapters.execution import Write
from idms.targets.embedded.adapters.reading import Reading
from idms.targets.embedded.schema import snake


class Writing(Reading):
    """Turns planned records into statement executions (``Write``), with statements cached."""

    def __init__(self, source: SourceDef, table: Table, policy: StorePolicy) -> None:
        super().__init__(source, table, policy)
        self._table_columns: dict[str, dict[str, str]] = {}
        self._fields: dict[str, _Fields] = {}
        self._key_columns: dict[str, list[str]] = {}
        self._insert_plans: dict[str, list[tuple[str, Any, Any]]] = {}
        self._statements: dict[tuple[Any, ...], Executable] = {}

    def table_columns(self, table: Table) -> dict[str, str]:
        """Field -> column of ``table`` for this source's fields stored there (cached)."""
        cached = self._table_columns.get(table.name)
        if cached is None:
            cached = {f.name: snake(f.name) for f in self.source.fields if snake(f.name) in table.c}
            self._table_columns[table.name] = cached
        return cached

    def _table_fields(self, table: Table) -> _Fields:
        cached = self._fields.get(table.name)
        if cached is None:
            cached = self._fields[table.name] = _Fields(self.table_columns(table))
        return cached

    def writes_insert(self, ctx: ApplyContext, after: Record) -> list[Write]:
        return [self.insert_write(self.table, after, phase=0)]

    def insert_write(
        self, table: Table, record: Record, *, phase: int, extra: Mapping[str, Any] | None = None
    ) -> Write:
        """An insert of every column of ``table`` (one shape for the whole batch): the
        record's value of the column's field (multi-select joined with commas), else the
        column's default."""
        get = record.get
        row = {
            col: default if (v := get(name)) is None else (",".join(v) if type(v) is tuple else v)
            for col, name, default in self._insert_plan(table)
        }
        if extra:
            row.update(extra)
        return Write(phase, ("insert", table.name), self.statement("insert", table), row)

    def statement(
        self,
        kind: str,
        table: Table,
        columns: tuple[str, ...] = (),
        keys: tuple[str, ...] | None = None,
    ) -> Executable:
        """The INSERT, UPDATE (of ``columns``) or DELETE of one ``table`` row, addressed by
        ``keys`` (bound as ``key_<column>``; by default its :meth:`key_columns`), built once:
        SQLAlchemy statements are immutable and cost more to build than to run."""
        key = (kind, table.name, columns, keys)
        cached = self._statements.get(key)
        if cached is None:
            keys = keys if keys is not None else tuple(self.key_columns(table))
            if kind == "insert":
                cached = rows_insert(table)
            elif kind == "update":
                cached = keyed_update(table, columns, keys)
            else:
                cached = table.delete().where(key_match(table, keys))
            self._statements[key] = cached
        return cached

    def _insert_plan(self, table: Table) -> list[tuple[str, Any, Any]]:
        """Each column an insert writes: (column, the field stored there or None, default).
        Every column of ``table`` but its autoincrement key, which is written only when a
        field is stored there (a SEQN the store numbers itself)."""
        plan = self._insert_plans.get(table.name)
        if plan is None:
            field_of = self._table_fields(table).by_column
            skip = table.c[0].name if table.c[0].autoincrement is True else None
            plan = [
                (c.name, field_of.get(c.name), _default(c))
                for c in table.c
                if c.name != skip or c.name in field_of
            ]
            self._insert_plans[table.name] = plan
        return plan

    def writes_update(self, ctx: ApplyContext, before: Record, after: Record) -> list[Write]:
        return self.update_writes(self.table, before, after, phase=0)

    def update_writes(
        self,
        table: Table,
        before: Record,
        after: Record,
        *,
        phase: int,
        extra: Mapping[str, Any] | None = None,
    ) -> list[Write]:
        changed: dict[str, Any] = {}
        for name, col in self._table_fields(table).pairs:
            if name not in after:
                continue
            new = after[name]
            old = before.get(name)
            if type(new) is tuple:
                new = ",".join(new)
            if type(old) is tuple:
                old = ",".join(old)
            if old != new:
                changed[col] = new
        if not changed:
            return []
        changed.update(extra or {})
        columns = tuple(sorted(changed))
        stmt = self.statement("update", table, columns)
        params = dict(changed)
        params.update(self._old_keys(table, before))
        return [Write(phase, ("update", table.name, columns), stmt, params)]

    def _old_keys(self, table: Table, before: Record) -> dict[str, Any]:
        """``key_<column>``: the values that address ``before``'s row of ``table``."""
        by_column = self._table_fields(table).by_column
        out = {}
        for k in self.key_columns(table):
            value = before[by_column[k]]
            out[f"key_{k}"] = ",".join(value) if type(value) is tuple else value
        return out

    def key_columns(self, table: Table) -> list[str]:
        """The columns that address one row: the source identity where the table holds it."""
        cached = self._key_columns.get(table.name)
        if cached is None:
            identity = [snake(k) for k in self.source.identity]
            if all(c in table.c for c in identity):
                cached = identity
            else:
                cached = [c.name for c in table.primary_key.columns]
            self._key_columns[table.name] = cached
        return cached

    def writes_delete(self, ctx: ApplyContext, before: Record) -> list[Write]:
        return [self.delete_write(self.table, before, phase=0)]

    def delete_write(self, table: Table, before: Record, *, phase: int) -> Write:
        stmt = self.statement("delete", table)
        return Write(phase, ("delete", table.name), stmt, self._old_keys(table, before))


def _default(column: Column[Any]) -> Any:
    """The column's fixed default (None without one)."""
    return column.default.arg if column.default is not None else None  # type: ignore[attr-defined]


class _Fields:
    """A table's columns for a source's fields: (field, column) pairs, and field by column."""

    def __init__(self, columns: Mapping[str, str]) -> None:
        self.pairs = tuple(columns.items())
        self.by_column = {col: name for name, col in columns.items()}
