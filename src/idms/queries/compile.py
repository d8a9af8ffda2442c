"""A saved query checked against a target's sources, ready to run.

:func:`compile_query` resolves every column, relation, filter and ordering to a source field and
reports every problem at once (unknown fields with the closest name, operators iMIS does not
have, values that are not of the field's type, fields that are never read back).

:meth:`CompiledQuery.bind` then turns the filters into concrete
:class:`~idms.sources.filters.Filter` objects for one run's parameters: a missing required prompt is
refused, a missing optional one drops its filter (as IQA does), and a value written as a Liquid
template (``"{{ today | date: '%Y' }}-01-01"``) is rendered with ``now``, ``today`` and
``params``.

Prompts are numbered in document order: the query's ``filters`` first, then each relation's. That
is the order of the ``parameter=`` values of ``/api/iqa`` and ``/api/query``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from idms.errors import CoercionError, IdmsError, UnknownFieldError, did_you_mean, suggest
from idms.queries.model import FilterSpec, QueryInvalid, RelationSpec, SavedQuery
from idms.sources.filters import Filter, Operator, parse_operator
from idms.sources.model import FieldDef, SourceDef, fold
from idms.values.coerce import coerce, is_blank
from idms.values.liquid import TemplateError, render_template
from idms.values.types import FieldType


@dataclass(frozen=True)
class QueryColumn:
    """One column of the result: its alias, and the field it shows (of a relation, or the query's
    own source when ``relation`` is None)."""

    alias: str
    relation: str | None
    field: FieldDef

    @property
    def path(self) -> str:
        return f"{self.relation}.{self.field.name}" if self.relation else self.field.name


@dataclass(frozen=True)
class QueryFilter:
    """One filter as written, resolved to its field."""

    where: str  # "filters[1]" or "related.Registered.filters[0]", for messages
    relation: str | None
    field: FieldDef
    op: Operator
    value: Any
    prompt: str | None
    required: bool

    def describe(self) -> str:
        name = f"{self.relation}.{self.field.name}" if self.relation else self.field.name
        return f"{name} {self.op.value}"


@dataclass(frozen=True)
class QueryRelation:
    """A related source joined on ``on`` (query field, related field) pairs."""

    name: str
    source: SourceDef
    on: tuple[tuple[FieldDef, FieldDef], ...]
    filters: tuple[QueryFilter, ...]
    required: bool


@dataclass(frozen=True)
class QueryOrder:
    relation: str | None
    field: FieldDef
    descending: bool


@dataclass
class BoundFilters:
    """A query's filters for one run: the WHERE filters, and each relation's join conditions."""

    where: list[tuple[str | None, Filter]] = field(default_factory=list)
    on: dict[str, list[Filter]] = field(default_factory=dict)


@dataclass(frozen=True)
class CompiledQuery:
    """A query resolved against the sources; ``source`` is None for an IQA known only by path."""

    query: SavedQuery
    source: SourceDef | None
    columns: tuple[QueryColumn, ...]
    relations: Mapping[str, QueryRelation]
    filters: tuple[QueryFilter, ...]
    order: tuple[QueryOrder, ...]
    prompts: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.query.name

    @property
    def aliases(self) -> tuple[str, ...]:
        return tuple(c.alias for c in self.columns)

    @property
    def iqa_path(self) -> str:
        return self.query.iqa_path

    def all_filters(self) -> list[QueryFilter]:
        out = list(self.filters)
        for relation in self.relations.values():
            out.extend(relation.filters)
        return out

    def check_params(self, params: Mapping[str, Any]) -> None:
        """Refuse parameters the query has no prompt for (a misspelt name would be ignored)."""
        if self.source is None and not self.prompts:
            return  # an IQA known only by path: its parameters go in the order given
        unknown = [name for name in params if name not in self.prompts]
        if unknown:
            known = ", ".join(self.prompts) or "(none)"
            problems = []
            for name in unknown:
                close = suggest(name, list(self.prompts))
                hint = f" Did you mean '{close}'?" if close else ""
                problems.append(
                    f"'{name}' is not a prompt of this query.{hint} Its prompts: {known}"
                )
            raise QueryInvalid(problems, name=self.name)

    def bind(self, params: Mapping[str, Any], *, now: datetime | None = None) -> BoundFilters:
        """The concrete filters for ``params`` (prompt name -> value)."""
        self.check_params(params)
        moment = now or datetime.now(UTC).replace(tzinfo=None, microsecond=0)
        scope = {"now": moment, "today": moment.date(), "params": dict(params)}
        bound = BoundFilters()
        problems: list[str] = []
        unprompted: list[str] = []  # the required prompts given no value
        for qf in self.all_filters():
            value = qf.value
            if qf.prompt is not None:
                given = params.get(qf.prompt)
                if not _blank(given):
                    value = given
            if qf.op.takes_value and _blank(value):
                if qf.prompt is None:
                    problems.append(f"{qf.where}: {qf.describe()} needs a value")
                elif qf.required:
                    problems.append(
                        f"the prompt '{qf.prompt}' is required ({qf.where}: {qf.describe()}): "
                        "give it a value"
                    )
                    unprompted.append(qf.prompt)
                continue  # an optional prompt left blank: the filter does not apply
            try:
                flt = Filter(qf.field.name, qf.op, _typed(qf, _render(value, scope)))
            except (IdmsError, TemplateError) as exc:
                problems.append(f"{qf.where}: {exc.message}")
                continue
            if qf.relation is not None and qf.where.startswith("related."):
                bound.on.setdefault(qf.relation, []).append(flt)
            else:
                bound.where.append((qf.relation, flt))
        if problems:
            raise QueryInvalid(
                problems,
                name=self.name,
                hint=(
                    "Give "
                    + " ".join(f"--param {p}=VALUE" for p in dict.fromkeys(unprompted))
                    + "."
                )
                if unprompted
                else None,
            )
        return bound

    def parameter_values(self, params: Mapping[str, Any]) -> list[str]:
        """The ``parameter=`` values of ``/api/iqa``, in prompt order; blank for one not given."""
        self.check_params(params)
        if self.source is None and not self.prompts:
            return [_wire_text(v) for v in params.values()]
        return [_wire_text(params.get(name)) for name in self.prompts]


def compile_query(query: SavedQuery, sources: Sequence[SourceDef]) -> CompiledQuery:
    """Resolve ``query`` against ``sources``; QueryInvalid lists every problem."""
    if query.from_ is None:
        return CompiledQuery(query, None, (), {}, (), (), tuple(query.prompts))
    return _Compiler(query, sources).compile()


class _Compiler:
    def __init__(self, query: SavedQuery, sources: Sequence[SourceDef]) -> None:
        self.query = query
        self.sources = list(sources)
        self.problems: list[str] = []
        self.relations: dict[str, QueryRelation] = {}
        self.source: SourceDef | None = None

    def compile(self) -> CompiledQuery:
        q = self.query
        assert q.from_ is not None
        self.source = self._source(q.from_, "from")
        if self.source is None:
            raise QueryInvalid(self.problems, name=q.name)
        for name, spec in q.related.items():
            self._relation(name, spec)
        columns = []
        seen: dict[str, str] = {}
        for alias, path in q.columns.items():
            if not alias.strip():
                self.problems.append(f"columns: a column needs an alias (for {path!r})")
                continue
            if fold(alias) in seen:
                self.problems.append(
                    f"columns.{alias}: the alias repeats '{seen[fold(alias)]}' (aliases must "
                    "differ, not only in case)"
                )
                continue
            seen[fold(alias)] = alias
            found = self._field(path, f"columns.{alias}", verb="shown")
            if found is not None:
                columns.append(QueryColumn(alias, *found))
        filters = [self._filter(spec, f"filters[{i}]", None) for i, spec in enumerate(q.filters)]
        order = [self._order(entry, i, columns) for i, entry in enumerate(q.order_by)]
        if self.problems:
            raise QueryInvalid(self.problems, name=q.name)
        kept = tuple(f for f in filters if f is not None)
        prompts: list[str] = []
        for qf in [*kept, *(f for r in self.relations.values() for f in r.filters)]:
            if qf.prompt is not None and qf.prompt not in prompts:
                prompts.append(qf.prompt)
        return CompiledQuery(
            query=q,
            source=self.source,
            columns=tuple(columns),
            relations=dict(self.relations),
            filters=kept,
            order=tuple(o for o in order if o is not None),
            prompts=tuple(prompts),
        )

    # ---- pieces --------------------------------------------------------------------------------

    def _source(self, name: str, where: str) -> SourceDef | None:
        wanted = fold(name)
        for s in self.sources:
            if fold(s.name) == wanted or fold(s.label) == wanted:
                return s
        names = [s.name for s in self.sources]
        close = suggest(name, names)
        hint = f" Did you mean '{close}'?" if close else ""
        self.problems.append(f"{where}: no source '{name}' on this target.{hint}")
        return None

    def _relation(self, name: str, spec: RelationSpec) -> QueryRelation | None:
        where = f"related.{name}"
        assert self.source is not None
        if "." in name or not name.strip():
            self.problems.append(f"{where}: a relation's name cannot be blank or contain '.'")
            return None
        related = self._source(spec.source, f"{where}.source")
        if related is None:
            return None
        pairs: list[tuple[FieldDef, FieldDef]] = []
        if spec.on is None:
            mine, theirs = self.source.find_field("ImisId"), related.find_field("ImisId")
            if mine is None or theirs is None:
                lacking = self.source.name if mine is None else related.name
                self.problems.append(
                    f"{where}: {lacking} has no iMIS ID to relate on; say how with "
                    "'on: {QUERY_FIELD: RELATED_FIELD}'"
                )
                return None
            pairs.append((mine, theirs))
        else:
            for left, right in spec.on.items():
                mine = self._plain_field(self.source, left, f"{where}.on")
                theirs = self._plain_field(related, right, f"{where}.on.{left}")
                if mine is not None and theirs is not None:
                    pairs.append((mine, theirs))
        relation = QueryRelation(name, related, tuple(pairs), (), spec.required)
        self.relations[name] = relation  # before its filters: they refer to it
        filters = [
            self._filter(f, f"{where}.filters[{i}]", name, own=True)
            for i, f in enumerate(spec.filters)
        ]
        relation = QueryRelation(
            name, related, tuple(pairs), tuple(f for f in filters if f is not None), spec.required
        )
        self.relations[name] = relation
        return relation

    def _plain_field(self, source: SourceDef, name: str, where: str) -> FieldDef | None:
        found = self._resolve(source, name, where)
        return None if found is None else self._readable(found, where, "related on")

    def _resolve(
        self, source: SourceDef, reference: str, where: str, prefix: str = ""
    ) -> FieldDef | None:
        """``source.resolve``, its refusal kept as a problem (a relation's fields suggested
        with ``prefix``: ``Registered.EventCode``)."""
        try:
            return source.resolve(reference)
        except UnknownFieldError as exc:
            hint = did_you_mean(exc.suggestions, prefix=prefix)
            self.problems.append(f"{where}: {source.name} has no field '{reference}'.{hint}")
            return None

    def _field(self, path: str, where: str, *, verb: str) -> tuple[str | None, FieldDef] | None:
        """``Field`` of the query's source, or ``Relation.Field`` / ``Source.Field``."""
        assert self.source is not None
        own = self.source.find_field(path)
        if own is not None or "." not in path:
            own = own or self._resolve(self.source, path, where)
            if own is None:
                return None
            checked = self._readable(own, where, verb)
            return (None, checked) if checked is not None else None
        prefix, _, name = path.partition(".")
        relation = self._implicit_relation(prefix.strip(), where)
        if relation is None:
            return None
        found = self._resolve(relation.source, name.strip(), where, prefix=f"{relation.name}.")
        if found is None:
            return None
        checked = self._readable(found, where, verb)
        return (relation.name, checked) if checked is not None else None

    def _implicit_relation(self, prefix: str, where: str) -> QueryRelation | None:
        for name, relation in self.relations.items():
            if fold(name) == fold(prefix):
                return relation
        if fold(prefix) in {fold(n) for n in self.query.related}:
            return None  # declared, but it had a problem of its own (already reported)
        for s in self.sources:
            if fold(s.name) == fold(prefix) or fold(s.label) == fold(prefix):
                if s.name in self.relations:
                    return self.relations[s.name]
                return self._relation(s.name, RelationSpec(source=s.name))
        choices = list(self.query.related) + [s.name for s in self.sources]
        close = suggest(prefix, choices)
        hint = f" Did you mean '{close}'?" if close else ""
        self.problems.append(f"{where}: '{prefix}' is neither a source nor a relation.{hint}")
        return None

    def _readable(self, fdef: FieldDef, where: str, verb: str) -> FieldDef | None:
        if fdef.secret:
            self.problems.append(f"{where}: {fdef.name} is secret and can never be {verb}")
            return None
        if fdef.write_only:
            self.problems.append(
                f"{where}: {fdef.name} is written by jobs but never read back, so it cannot be "
                f"{verb}"
            )
            return None
        return fdef

    def _filter(
        self, spec: FilterSpec, where: str, relation: str | None, *, own: bool = False
    ) -> QueryFilter | None:
        if own:
            assert relation is not None
            fdef = self._plain_field(self.relations[relation].source, spec.field, f"{where}.field")
            found: tuple[str | None, FieldDef] | None = (relation, fdef) if fdef else None
        else:
            found = self._field(spec.field, f"{where}.field", verb="filtered on")
        try:
            op = parse_operator(spec.op)
        except IdmsError as exc:
            self.problems.append(f"{where}.op: {exc.message}")
            return None
        if found is None:
            return None
        rel, fdef = found
        if op in (Operator.IS_TRUE, Operator.IS_FALSE) and fdef.type is not FieldType.BOOLEAN:
            self.problems.append(
                f"{where}.op: '{op.value}' applies to Yes/No fields; {fdef.name} is not one"
            )
            return None
        qf = QueryFilter(where, rel, fdef, op, spec.value, spec.prompt, spec.required)
        if not op.takes_value and spec.prompt is not None:
            self.problems.append(f"{where}: '{op.value}' takes no value, so it cannot be a prompt")
            return None
        if op.takes_value and _blank(spec.value) and spec.prompt is None:
            self.problems.append(f"{where}: {qf.describe()} needs a value (or a prompt)")
            return None
        if not _blank(spec.value) and not _is_template(spec.value):
            try:
                _typed(qf, spec.value)
            except IdmsError as exc:
                self.problems.append(f"{where}.value: {exc.message}")
                return None
        return qf

    def _order(self, entry: str, index: int, columns: list[QueryColumn]) -> QueryOrder | None:
        text = entry.strip()
        descending = text.startswith("-")
        text = text.lstrip("-").strip()
        for column in columns:
            if column.alias == text:
                return QueryOrder(column.relation, column.field, descending)
        for column in columns:
            if fold(column.alias) == fold(text):
                return QueryOrder(column.relation, column.field, descending)
        found = self._field(text, f"order_by[{index}]", verb="ordered by")
        if found is None:
            return None
        return QueryOrder(found[0], found[1], descending)


# ---- values ------------------------------------------------------------------------------------


def _blank(value: Any) -> bool:
    if isinstance(value, list | tuple):
        return len(value) == 0
    return is_blank(value)


def _is_template(value: Any) -> bool:
    if isinstance(value, list | tuple):
        return any(_is_template(v) for v in value)
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def _render(value: Any, scope: dict[str, Any]) -> Any:
    if isinstance(value, list | tuple):
        return [_render(v, scope) for v in value]
    if _is_template(value):
        return render_template(value, **scope).strip()
    return value


def _typed(qf: QueryFilter, value: Any) -> Any:
    """A filter value read as the field's type: a list for ``in``, a pair for ``between``."""
    if qf.op is Operator.IN:
        items = _as_list(value)
        if not items:
            raise QueryInvalid([f"'in' on {qf.field.name} needs at least one value"])
        return tuple(_one(qf.field, v) for v in items)
    if qf.op is Operator.BETWEEN:
        items = _as_list(value)
        if len(items) != 2:
            raise CoercionError(
                f"'between' on {qf.field.name} takes two values, LOW|HIGH (or a list of two)"
            )
        return (_one(qf.field, items[0]), _one(qf.field, items[1]))
    if not qf.op.takes_value:
        return None
    return _one(qf.field, value)


def _one(fdef: FieldDef, value: Any) -> Any:
    ftype = fdef.type
    if ftype in (FieldType.MULTISELECT, FieldType.EMAIL):
        ftype = FieldType.STRING  # one code of a multi-select; a partial e-mail
    try:
        return coerce(value, ftype, field=fdef.name)
    except CoercionError as exc:
        raise CoercionError(exc.message) from None


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, str):
        sep = "|" if "|" in value else ","
        return [v.strip() for v in value.split(sep) if v.strip()]
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def _wire_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "|".join(_wire_text(v) for v in value)
    return str(value)
