"""The generic source adapter: one source over one or more store tables.

Reads stream with filters; ``match`` is one set-based query per chunk of criteria; ``apply`` plans
a whole batch in memory (before-images fetched at once, defaults, counters, lookups, the source's
rules), then hands the planned writes to ``execution.py``. Source-specific rules live in
subclasses, through the ``check_*`` and ``writes_*`` hooks.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Executable,
    Select,
    Table,
    and_,
    bindparam,
    func,
    literal,
    or_,
    select,
)

from idms.errors import FilterError
from idms.sources.filters import Filter
from idms.sources.model import DefaultRule, FieldDef, SourceDef
from idms.targets.base import ApplyOptions, ApplyResult, Change, ChangeKind, Record, RowError
from idms.targets.embedded.adapters.execution import (
    PlannedChange,
    Write,
    execute_segment,
    segments,
)
from idms.targets.embedded.filters import filter_clause
from idms.targets.embedded.keys import new_guid
from idms.targets.embedded.lookups import LookupCache
from idms.targets.embedded.schema import snake
from idms.values.types import FieldType

MATCH_CHUNK = 500


@dataclass
class StorePolicy:
    """The store's own settings that rules need (from Settings)."""

    platform: str = "ems"
    lockout_threshold: int = 5
    password_min_length: int = 6
    default_address_purpose: str = "Address"


@dataclass
class ApplyContext:
    """Everything one batch's rules may consult."""

    conn: Connection
    options: ApplyOptions
    policy: StorePolicy
    lookups: LookupCache
    now: datetime
    today: date
    claims: dict[str, set[Any]] = field(default_factory=dict)
    # Contacts referenced by the batch, by folded iMIS ID: ImisId, IsOrganization, Email,
    # FirstName, LastName.
    contacts: dict[str, Record] = field(default_factory=dict)

    def claim(self, name: str, value: Any) -> bool:
        """Reserve ``value`` in namespace ``name`` for this batch; False if already reserved."""
        taken = self.claims.setdefault(name, set())
        if value in taken:
            return False
        taken.add(value)
        return True

    def release(self, name: str, value: Any) -> None:
        self.claims.get(name, set()).discard(value)


def spellings(values: Any) -> list[str]:
    """The spellings a folded ID or code is stored in: as typed, upper, lower, title case.

    IDs and codes are compared with ``col IN (spellings)`` so the column's own index serves the
    look-up (``lower(col)`` would scan the table); the exact, case-free comparison is then made
    in Python. IDs and codes are stored in one case (``AB100``, ``GLD``, ``Address``), so every
    stored spelling of a value is among these.
    """
    out: set[str] = set()
    for v in values:
        text = str(v).strip()
        out.update((text, text.lower(), text.upper(), text.title(), text.capitalize()))
    return sorted(out)


def is_key_like(fdef: FieldDef) -> bool:
    """IDs and codes: matched through their spellings so that indexes serve the look-up."""
    return fdef.type in (FieldType.CODE, FieldType.GUID) or fdef.name.endswith("Id")


def fold_text(value: Any) -> Any:
    """The form text takes for case-insensitive comparison (as SQL ``lower`` does)."""
    return value.strip().lower() if isinstance(value, str) else value


class SourceAdapter:
    """A source stored in ``table`` (its main table), one column per stored field."""

    # Fields holding iMIS IDs that must name existing contacts.
    contact_refs: tuple[str, ...] = ()

    def __init__(self, source: SourceDef, table: Table, policy: StorePolicy) -> None:
        self.source = source
        self.table = table
        self.policy = policy
        self.fields: dict[str, FieldDef] = {f.name: f for f in source.fields}
        self.columns: dict[str, ColumnElement[Any]] = self.read_columns()
        self._table_columns: dict[str, dict[str, str]] = {}
        self._match_statements: dict[tuple[str, ...], Select[Any]] = {}
        # The rules' field lists, worked out once rather than per row.
        self._required = [f for f in source.fields if f.required_on_insert]
        with_default = [f for f in source.fields if f.default is not None]
        self._fixed_defaults = [f for f in with_default if f.default and f.default.kind != "field"]
        self._copied_defaults = [f for f in with_default if f.default and f.default.kind == "field"]
        self._templates: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
        self._statements: dict[tuple[Any, ...], Executable] = {}
        self._record_shape: tuple[list[str], list[str], list[str]] | None = None
        self._plain_writable = frozenset(
            f.name for f in source.fields if f.unsupported is None and not f.read_only
        )
        self._lookup_names = frozenset(f.name for f in source.fields if f.lookup is not None)

    # ---- columns and records -------------------------------------------------------------------

    def read_columns(self) -> dict[str, ColumnElement[Any]]:
        """Canonical field -> SQL expression, for every field a record shows."""
        cols: dict[str, ColumnElement[Any]] = {}
        for f in self.source.fields:
            name = snake(f.name)
            if not f.write_only and not f.secret and name in self.table.c:
                cols[f.name] = self.table.c[name]
        return cols

    def build_select(self) -> Select[Any]:
        """The SELECT of every readable field, labelled by canonical name (subclasses join)."""
        return select(*[col.label(name) for name, col in self.columns.items()])

    def base_select(self) -> Select[Any]:
        """``build_select``, built once: statements are immutable and cost ~0.2 ms to build."""
        built: Select[Any] | None = getattr(self, "_select", None)
        if built is None:
            built = self._select = self.build_select()
        return built

    def to_record(self, row: Mapping[Any, Any]) -> Record:
        shape = self._record_shape
        if shape is None:
            types = {name: self.fields[name].type for name in self.columns}
            shape = self._record_shape = (
                list(self.columns),
                [n for n, t in types.items() if t is FieldType.BOOLEAN],
                [n for n, t in types.items() if t is FieldType.MULTISELECT],
            )
        names, flags, multi = shape
        record: Record = {name: row[name] for name in names}
        for name in flags:
            value = record[name]
            if value is not None:
                record[name] = bool(value)
        for name in multi:
            value = record[name]
            record[name] = tuple(v for v in value.split(",") if v) if value else None
        return record

    def identity_of(self, record: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(fold_text(record.get(k)) for k in self.source.identity)

    def identity_clause(self, identities: Sequence[tuple[Any, ...]]) -> ColumnElement[bool]:
        parts = []
        for i, name in enumerate(self.source.identity):
            values = {ident[i] for ident in identities}
            parts.append(self.in_clause(name, values))
        return and_(*parts)

    def in_clause(self, name: str, values: set[Any]) -> ColumnElement[bool]:
        """``field IN values``, text compared without case, using an index where one serves."""
        col = self.columns[name]
        fdef = self.fields[name]
        if not fdef.type.is_text:
            return col.in_(sorted(values, key=repr))
        if is_key_like(fdef):
            return col.in_(spellings(values))
        return func.lower(col).in_(sorted(str(v).lower() for v in values))

    # ---- read ----------------------------------------------------------------------------------

    def read(
        self,
        conn: Connection,
        filters: Sequence[Filter],
        order_by: Sequence[str],
        limit: int | None,
    ) -> Iterator[Record]:
        stmt = self.base_select()
        for flt in filters:
            stmt = stmt.where(filter_clause(self.source, self.columns, flt))
        order: list[ColumnElement[Any]] = []
        for name in order_by:
            descending = name.startswith("-")
            fdef = self.source.field(name.lstrip("-"))
            col = self.columns.get(fdef.name)
            if col is None:
                raise FilterError(f"Cannot order by {fdef.name}: it is not readable.")
            # Sorted as iMIS's SQL Server collation sorts, on every backend: text without case,
            # blanks before any value.
            key = func.lower(col) if fdef.type.is_text else col
            order.append(key.desc().nulls_last() if descending else key.asc().nulls_first())
        order.extend(self.columns[k].asc() for k in self.source.identity)
        stmt = stmt.order_by(*order)
        if limit is not None:
            stmt = stmt.limit(limit)
        result = conn.execution_options(yield_per=1000).execute(stmt)
        for row in result.mappings():
            yield self.to_record(row)

    def fetch(
        self, conn: Connection, identities: Sequence[tuple[Any, ...]]
    ) -> dict[tuple[Any, ...], Record]:
        """Current records by identity (folded), in as few queries as the chunks allow."""
        found: dict[tuple[Any, ...], Record] = {}
        unique = list(dict.fromkeys(identities))
        for start in range(0, len(unique), MATCH_CHUNK):
            chunk = unique[start : start + MATCH_CHUNK]
            stmt = self.base_select().where(self.identity_clause(chunk))
            for row in conn.execute(stmt).mappings():
                record = self.to_record(row)
                found[self.identity_of(record)] = record
        return found

    # ---- match ---------------------------------------------------------------------------------

    def match(
        self, conn: Connection, fields: Sequence[str], criteria: Sequence[Mapping[str, Any]]
    ) -> list[list[Record]]:
        names = [self.source.field(f).name for f in fields]
        for name in names:
            if name not in self.columns:
                raise FilterError(f"{name} cannot be matched on: it is never read back.")
        keyed = {f: self.source.field(f).name for c in criteria[:1] for f in c}
        rows = [
            {keyed.get(k) or self.source.field(k).name: v for k, v in c.items()} for c in criteria
        ]
        wanted = [tuple(self._match_key(name, c.get(name)) for name in names) for c in rows]
        found: dict[tuple[Any, ...], list[Record]] = {}
        unique = list(dict.fromkeys(wanted))
        for start in range(0, len(unique), MATCH_CHUNK):
            chunk = unique[start : start + MATCH_CHUNK]
            if any(v is None for key in chunk for v in key):
                parts = [self._match_part(i, name, chunk) for i, name in enumerate(names)]
                stmt = self.base_select().where(*parts).order_by(*self._identity_order())
                params: dict[str, Any] = {}
            else:  # the usual case: one statement per field list, built once
                stmt = self._match_statement(tuple(names))
                params = {
                    f"m{i}": self._in_values(name, {key[i] for key in chunk})
                    for i, name in enumerate(names)
                }
            chunk_keys = set(chunk)
            for row in conn.execute(stmt, params).mappings():
                record = self.to_record(row)
                key = tuple(self._match_key(name, record.get(name)) for name in names)
                if key in chunk_keys:
                    found.setdefault(key, []).append(record)
        return [list(found.get(key, [])) for key in wanted]

    def _identity_order(self) -> list[ColumnElement[Any]]:
        return [self.columns[k].asc() for k in self.source.identity]

    def _match_statement(self, names: tuple[str, ...]) -> Select[Any]:
        """``field IN (:m0) AND ...`` with expanding parameters, cached per field list."""
        cached = self._match_statements.get(names)
        if cached is None:
            parts = []
            for i, name in enumerate(names):
                col, fdef = self.columns[name], self.fields[name]
                param: Any = bindparam(f"m{i}", expanding=True)
                folded = fdef.type.is_text and not is_key_like(fdef)
                parts.append(func.lower(col).in_(param) if folded else col.in_(param))
            cached = self.base_select().where(*parts).order_by(*self._identity_order())
            self._match_statements[names] = cached
        return cached

    def _in_values(self, name: str, values: set[Any]) -> list[Any]:
        """The values ``in_clause`` would compare for ``name``, as a parameter list."""
        fdef = self.fields[name]
        if not fdef.type.is_text:
            return sorted(values, key=repr)
        if is_key_like(fdef):
            return spellings(values)
        return sorted(str(v).lower() for v in values)

    def _match_key(self, name: str, value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, tuple):
            return tuple(fold_text(v) for v in value)
        return fold_text(value)

    def _match_part(self, i: int, name: str, chunk: list[tuple[Any, ...]]) -> ColumnElement[bool]:
        col = self.columns[name]
        values = {key[i] for key in chunk}
        text = self.fields[name].type.is_text
        blank = None in values
        values.discard(None)
        options: list[ColumnElement[bool]] = []
        if values:
            options.append(self.in_clause(name, values))
        if blank:
            options.append(col.is_(None))
            if text:
                options.append(col == literal(""))
        return or_(*options) if len(options) > 1 else options[0]

    # ---- apply ---------------------------------------------------------------------------------

    def apply(self, ctx: ApplyContext, changes: Sequence[Change]) -> list[ApplyResult]:
        results: list[ApplyResult] = [ApplyResult(ref=c.ref, ok=False) for c in changes]
        wanted = [
            self.identity_of(c.identity or {}) for c in changes if c.kind is not ChangeKind.INSERT
        ]
        current: dict[tuple[Any, ...], Record | None] = dict(self.fetch(ctx.conn, wanted))
        self.load_contacts(ctx, changes)
        self.prepare_batch(ctx, changes)
        planned: list[PlannedChange] = []
        for i, change in enumerate(changes):
            try:
                plan = self._plan(ctx, i, change, current)
            except RowRejected as exc:
                results[i].error = exc.error
                continue
            planned.append(plan)
            if plan.identity is not None and plan.before is not None:
                current[plan.identity] = None
            if plan.after is not None:
                current[self.identity_of(plan.after)] = plan.after
            results[i] = ApplyResult(change.ref, True, plan.before, plan.after)
        self.finish_batch(ctx, planned)
        for segment in segments(planned):
            failed = execute_segment(ctx.conn, segment)
            for index, error in failed.items():
                results[index] = ApplyResult(changes[index].ref, False, error=error)
        return results

    def _plan(
        self,
        ctx: ApplyContext,
        index: int,
        change: Change,
        current: dict[tuple[Any, ...], Record | None],
    ) -> PlannedChange:
        if change.kind is ChangeKind.INSERT:
            after = self.plan_insert(ctx, change)
            return PlannedChange(index, change, None, None, after, self.writes_insert(ctx, after))
        identity = self.identity_of(change.identity or {})
        before = current.get(identity)
        if before is None:
            raise RowRejected(
                "not_found",
                f"No {self.source.label} record with {self._describe_identity(change.identity)}"
                " (it may have been deleted since it was matched).",
            )
        if change.kind is ChangeKind.DELETE:
            self.check_delete(ctx, before)
            return PlannedChange(
                index, change, identity, before, None, self.writes_delete(ctx, before)
            )
        after = self.plan_update(ctx, before, change)
        return PlannedChange(
            index, change, identity, before, after, self.writes_update(ctx, before, after)
        )

    def _describe_identity(self, identity: Mapping[str, Any] | None) -> str:
        identity = identity or {}
        return ", ".join(f"{k} {identity.get(k)!s}" for k in self.source.identity)

    # ---- planning hooks ------------------------------------------------------------------------

    def load_contacts(self, ctx: ApplyContext, changes: Sequence[Change]) -> None:
        """Read, in one query, the contacts this batch's reference fields name."""
        ids = {
            str(c.values[name]).strip()
            for c in changes
            for name in self.contact_refs
            if c.values.get(name) not in (None, "")
        }
        ids -= set(ctx.contacts)
        if ids:
            ctx.contacts.update(load_contacts(ctx.conn, ids))

    def check_contact_refs(self, ctx: ApplyContext, record: Record, names: Any) -> None:
        """Each reference in ``names`` must be a contact's iMIS ID (compared without case); it
        is kept in the contact's own spelling, as lookup codes are."""
        for name in self.contact_refs:
            value = record.get(name)
            if name not in names or value in (None, ""):
                continue
            contact = ctx.contacts.get(fold_text(value))
            if contact is None:
                raise RowRejected(
                    "contact_not_found",
                    f"{self.fields[name].label} {value}: no contact has this iMIS ID.",
                    name,
                )
            record[name] = contact["ImisId"]

    def prepare_batch(self, ctx: ApplyContext, changes: Sequence[Change]) -> None:
        """Set-based look-ups the rules need for the whole batch (taken IDs, parents...)."""

    def finish_batch(self, ctx: ApplyContext, planned: Sequence[PlannedChange]) -> None:
        """Batch-wide bookkeeping after planning (counters raised past supplied IDs...)."""

    def plan_insert(self, ctx: ApplyContext, change: Change) -> Record:
        values = self.writable_values(change.values, inserting=True)
        record: Record = dict.fromkeys(self.columns)
        record.update(values)
        self.apply_defaults(ctx, record, values)
        self.check_required(record)
        self.check_contact_refs(ctx, record, record.keys())
        self.check_lookups(ctx, record, values)
        self.check_insert(ctx, record)
        return record

    def plan_update(self, ctx: ApplyContext, before: Record, change: Change) -> Record:
        values = self.writable_values(change.values, inserting=False)
        for name in self.source.identity:
            if name in values and fold_text(values[name]) != fold_text(before.get(name)):
                raise RowRejected(
                    "key_changed",
                    f"{self.fields[name].label} identifies the record and cannot be changed.",
                    name,
                )
        after = dict(before)
        for name, value in values.items():
            if name in change.append and isinstance(value, tuple):
                value = tuple(dict.fromkeys((before.get(name) or ()) + value))
            after[name] = value
        self.check_contact_refs(ctx, after, values.keys())
        self.check_lookups(ctx, after, values)
        self.check_update(ctx, before, after, values)
        return after

    def writable_values(self, values: Mapping[str, Any], *, inserting: bool) -> dict[str, Any]:
        if values.keys() <= self._plain_writable:  # the usual case, decided at C speed
            return dict(values)
        out: dict[str, Any] = {}
        fields = self.fields
        for name, value in values.items():
            fdef = fields.get(name) or self.source.field(name)
            if fdef.unsupported is None and not fdef.read_only:
                out[fdef.name] = value
                continue
            if fdef.unsupported:
                raise RowRejected(
                    "unsupported_field", f"{fdef.label} is {fdef.unsupported}.", fdef.name
                )
            if fdef.read_only and value is not None:
                raise RowRejected(
                    "read_only_field",
                    f"{fdef.label} is set by iMIS and cannot be written.",
                    fdef.name,
                )
            if not fdef.read_only:
                out[fdef.name] = value
        return out

    def apply_defaults(self, ctx: ApplyContext, record: Record, values: Mapping[str, Any]) -> None:
        # Fixed defaults first, then those copied from other fields (GiftDate = TransactionDate).
        for fdef in (*self._fixed_defaults, *self._copied_defaults):
            if fdef.default is None or record.get(fdef.name) is not None:
                continue
            value = self.default_value(ctx, fdef.default, record)
            if value is not None:
                record[fdef.name] = value

    def default_value(self, ctx: ApplyContext, rule: DefaultRule, record: Record) -> Any:
        if rule.kind == "today":
            return ctx.today
        if rule.kind == "constant":
            return rule.value
        if rule.kind == "field":
            return record.get(rule.value)
        if rule.kind == "guid":
            return new_guid()
        return None  # counters are assigned by the subclass that owns them

    def check_required(self, record: Record) -> None:
        for fdef in self._required:
            if record.get(fdef.name) in (None, ""):
                raise RowRejected(
                    "required", f"{fdef.label} is required for a new record.", fdef.name
                )

    def check_lookups(self, ctx: ApplyContext, record: Record, values: Mapping[str, Any]) -> None:
        if ctx.options.skip_validation:
            return
        lookups = self._lookup_names
        for name in values:
            value = record.get(name)
            if name not in lookups or value is None:
                continue
            fdef = self.fields[name]
            assert fdef.lookup is not None
            if isinstance(value, tuple):
                fixed = []
                for item in value:
                    code = ctx.lookups.canonical(fdef.lookup, item)
                    if code is None:
                        raise self.bad_code(fdef, item)
                    fixed.append(code)
                record[name] = tuple(dict.fromkeys(fixed))
            else:
                code = ctx.lookups.canonical(fdef.lookup, str(value))
                if code is None:
                    raise self.bad_code(fdef, value)
                record[name] = code

    @staticmethod
    def bad_code(fdef: FieldDef, value: Any) -> RowRejected:
        return RowRejected(
            "invalid_code",
            f"{fdef.label} '{value}' is not a code in the {fdef.lookup} lookup table.",
            fdef.name,
        )

    def check_insert(self, ctx: ApplyContext, record: Record) -> None:
        """Source rules for a new record; raise RowRejected to refuse it."""

    def check_update(
        self, ctx: ApplyContext, before: Record, after: Record, values: Mapping[str, Any]
    ) -> None:
        """Source rules for a change; raise RowRejected to refuse it."""

    def check_delete(self, ctx: ApplyContext, before: Record) -> None:
        """Source rules for a delete; raise RowRejected to refuse it."""

    # ---- writes --------------------------------------------------------------------------------

    def table_columns(self, table: Table) -> dict[str, str]:
        """Field -> column of ``table`` for this source's fields stored there (cached)."""
        cached = self._table_columns.get(table.name)
        if cached is None:
            cached = {f.name: snake(f.name) for f in self.source.fields if snake(f.name) in table.c}
            self._table_columns[table.name] = cached
        return cached

    def row_values(self, record: Mapping[str, Any], table: Table) -> dict[str, Any]:
        """A record's values for ``table``'s columns (multi-select joined with commas)."""
        pairs = self.table_columns(table).items()
        return {
            col: ",".join(v) if type(v := record[name]) is tuple else v
            for name, col in pairs
            if name in record
        }

    def writes_insert(self, ctx: ApplyContext, after: Record) -> list[Write]:
        return [self.insert_write(self.table, after, phase=0)]

    def insert_write(
        self, table: Table, record: Record, *, phase: int, extra: Mapping[str, Any] | None = None
    ) -> Write:
        """An insert of every column of ``table`` (one shape for the whole batch)."""
        template, defaults = self._insert_template(table)
        row = dict(template)
        row.update(self.row_values(record, table))
        for col, value in defaults.items():
            if col in row and row[col] is None:
                row[col] = value
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
            if kind == "insert":
                cached = table.insert()
            else:
                where = and_(
                    *[
                        table.c[k] == bindparam(f"key_{k}")
                        for k in (keys if keys is not None else self.key_columns(table))
                    ]
                )
                if kind == "update":
                    cached = table.update().where(where).values({k: bindparam(k) for k in columns})
                else:
                    cached = table.delete().where(where)
            self._statements[key] = cached
        return cached

    def _insert_template(self, table: Table) -> tuple[dict[str, Any], dict[str, Any]]:
        """Every column of ``table`` with its default (the autoincrement key left out)."""
        cached = self._templates.get(table.name)
        if cached is None:
            defaults = {
                c.name: c.default.arg  # type: ignore[attr-defined]
                for c in table.c
                if c.default is not None
            }
            skip = table.c[0].name if table.c[0].autoincrement is True else None
            template = {c.name: defaults.get(c.name) for c in table.c if c.name != skip}
            cached = self._templates[table.name] = (template, defaults)
        return cached

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
        old = self.row_values(before, table)
        new = self.row_values(after, table)
        changed = {k: v for k, v in new.items() if old.get(k) != v}
        if not changed:
            return []
        changed.update(extra or {})
        columns = tuple(sorted(changed))
        stmt = self.statement("update", table, columns)
        params = dict(changed)
        params.update({f"key_{k}": old[k] for k in self.key_columns(table)})
        return [Write(phase, ("update", table.name, columns), stmt, params)]

    def key_columns(self, table: Table) -> list[str]:
        """The columns that address one row: the source identity where the table holds it."""
        identity = [snake(k) for k in self.source.identity]
        if all(c in table.c for c in identity):
            return identity
        return [c.name for c in table.primary_key.columns]

    def writes_delete(self, ctx: ApplyContext, before: Record) -> list[Write]:
        return [self.delete_write(self.table, before, phase=0)]

    def delete_write(self, table: Table, before: Record, *, phase: int) -> Write:
        keys = self.key_columns(table)
        old = self.row_values(before, table)
        stmt = self.statement("delete", table)
        return Write(phase, ("delete", table.name), stmt, {f"key_{k}": old[k] for k in keys})


class RowRejected(Exception):
    """Raised by planning hooks to refuse one change with a row error."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.error = RowError(code, message, field)


def load_contacts(conn: Connection, ids: set[str]) -> dict[str, Record]:
    """Contacts by folded iMIS ID, for reference checks and the records that show contact
    fields (ImisId, IsOrganization, Email, FirstName, LastName)."""
    from idms.targets.embedded.schema import contacts

    found: dict[str, Record] = {}
    wanted = sorted(ids)
    c = contacts.c
    for start in range(0, len(wanted), MATCH_CHUNK):
        chunk = wanted[start : start + MATCH_CHUNK]
        stmt = select(c.imis_id, c.is_organization, c.email, c.first_name, c.last_name).where(
            c.imis_id.in_(spellings(chunk))
        )
        for imis_id, is_org, email, first_name, last_name in conn.execute(stmt):
            found[imis_id.lower()] = {
                "ImisId": imis_id,
                "IsOrganization": bool(is_org),
                "Email": email,
                "FirstName": first_name,
                "LastName": last_name,
            }
    return found
