"""Reading over REST: records from iMIS objects, filters checked on every row, client-side order.

iMIS silently ignores a filter on a property it does not know (imis-rest-api.md §2.1), and its
SQL treats blanks and multi-select values its own way, so the target never trusts the server
with a filter: the operators that can only narrow a result the same way are sent along (fewer
rows on the wire), and every filter is checked again here, on each row, with the embedded
store's semantics (text without case; a blank is null or empty; multi-select fields ask whether
one code is held).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import cmp_to_key
from typing import Any

from idms.errors import CoercionError, FilterError
from idms.sources.filters import Filter, Operator
from idms.sources.model import FieldDef, SourceDef
from idms.targets.base import Record
from idms.targets.imis import entities, registrations, wire
from idms.targets.imis.entities import EntitySpec
from idms.values.coerce import coerce
from idms.values.folding import fold, fold_value, id_order
from idms.values.types import FieldType

Check = Callable[[Record], bool]


def accept_all(record: Record) -> bool:
    """The check of a read without filters."""
    return True


# Operators that narrow the same way in iMIS's SQL as in idms (blanks never pass them), so
# sending them to the server loses no row that the check here would keep.
SERVER_SAFE = frozenset(
    {
        Operator.EQ,
        Operator.IN,
        Operator.GT,
        Operator.GE,
        Operator.LT,
        Operator.LE,
        Operator.BETWEEN,
        Operator.CONTAINS,
        Operator.STARTS_WITH,
        Operator.ENDS_WITH,
        Operator.IS_TRUE,
        Operator.NOT_EMPTY,
    }
)


# ---- records from objects ----------------------------------------------------------------------


def record_of(spec: EntitySpec, source: SourceDef, obj: Mapping[str, Any]) -> Record:
    """A stored object (PersonData, GenericEntityData or UserData) as a record."""
    if spec.style == "party":
        return entities.record_from_party(obj, source)
    if spec.style == "user" or "Properties" not in obj:
        return record_from_plain(spec, source, obj)
    return entities.record_from_entity(spec, source, obj)


def records_of(spec: EntitySpec, source: SourceDef, obj: Mapping[str, Any]) -> list[Record]:
    """The records one listed object holds: one, or one per function of a registration."""
    if not registrations.is_registration(obj):
        return [record_of(spec, source, obj)]
    return [
        {
            f.name: entities.typed(f.type, raw.get(f.name), f.label)
            for f in source.fields
            if not f.write_only and not f.secret
        }
        for raw in registrations.records_from_registration(obj)
    ]


def record_from_plain(spec: EntitySpec, source: SourceDef, obj: Mapping[str, Any]) -> Record:
    """A flat data contract (``UserData``: ``UserId``, ``UserName`` ...) as a record."""
    record: Record = {}
    for f in source.fields:
        if f.write_only or f.secret:
            continue
        value = wire.unbox(wire.find(obj, spec.wire_name(f.name)))
        record[f.name] = entities.typed(f.type, value, f.label)
    return record


# ---- filters -----------------------------------------------------------------------------------


def readable(source: SourceDef, name: str, *, verb: str = "filtered on") -> FieldDef:
    fdef = source.field(name)
    if fdef.secret:
        raise FilterError(f"{fdef.name} cannot be {verb}: it is never read back.")
    if fdef.write_only:
        raise FilterError(f"{fdef.name} is write-only and cannot be {verb}.")
    return fdef


def filter_value(fdef: FieldDef, value: Any) -> Any:
    """A filter value read as the field's type (multi-select fields filter on one code)."""
    ftype = FieldType.STRING if fdef.type is FieldType.MULTISELECT else fdef.type
    if ftype is FieldType.EMAIL:
        ftype = FieldType.STRING  # a partial e-mail is a fine filter value
    try:
        return coerce(value, ftype, field=fdef.label)
    except CoercionError as exc:
        raise FilterError(f"Filter on {fdef.name}: {exc.message}") from None


def compile_filter(source: SourceDef, flt: Filter) -> Check:
    """``flt`` as a test of one record; FilterError now if it can never be applied."""
    fdef = readable(source, flt.field)
    name, op, text = fdef.name, flt.op, fdef.type.is_text

    def blank(record: Record) -> bool:
        value = record.get(name)
        return value is None or (text and _as_text(value) == "")

    if op is Operator.IS_EMPTY:
        return blank
    if op is Operator.NOT_EMPTY:
        return lambda r: not blank(r)
    if op in (Operator.IS_TRUE, Operator.IS_FALSE):
        if fdef.type is not FieldType.BOOLEAN:
            raise FilterError(f"'{op.value}' applies to Yes/No fields; {name} is not one.")
        if op is Operator.IS_TRUE:
            return lambda r: r.get(name) is True
        return lambda r: r.get(name) is not True
    if fdef.type is FieldType.MULTISELECT and op in (Operator.EQ, Operator.NE, Operator.IN):
        return _membership(fdef, flt)
    if op is Operator.IN:
        wanted = [filter_value(fdef, v) for v in _as_list(flt.value)]
        keys = {_key(v, text) for v in wanted if v is not None}
        return lambda r: r.get(name) is not None and _key(r[name], text) in keys
    if op is Operator.BETWEEN:
        pair = _as_list(flt.value)
        if len(pair) != 2:
            raise FilterError(f"'between' on {name} takes two values, LOW|HIGH.")
        low, high = (_key(filter_value(fdef, v), text) for v in pair)
        return lambda r: r.get(name) is not None and _between(_key(r[name], text), low, high)
    value = filter_value(fdef, flt.value)
    if value is None:
        if op is Operator.EQ:
            return blank
        if op is Operator.NE:
            return lambda r: not blank(r)
        raise FilterError(f"Filter on {name} with '{op.value}' needs a value.")
    if op in (Operator.CONTAINS, Operator.NOT_CONTAIN, Operator.STARTS_WITH, Operator.ENDS_WITH):
        part = fold(str(value))
        tests: dict[Operator, Callable[[str], bool]] = {
            Operator.CONTAINS: lambda s: part in s,
            Operator.NOT_CONTAIN: lambda s: part in s,
            Operator.STARTS_WITH: lambda s: s.startswith(part),
            Operator.ENDS_WITH: lambda s: s.endswith(part),
        }
        test = tests[op]
        if op is Operator.NOT_CONTAIN:
            return lambda r: r.get(name) is None or not test(fold(_as_text(r[name])))
        return lambda r: r.get(name) is not None and test(fold(_as_text(r[name])))
    operand = _key(value, text)
    if op is Operator.NE:
        return lambda r: r.get(name) is None or _compare(_key(r[name], text), operand) != 0
    wanted_sign: dict[Operator, Callable[[int], bool]] = {
        Operator.EQ: lambda c: c == 0,
        Operator.GT: lambda c: c > 0,
        Operator.GE: lambda c: c >= 0,
        Operator.LT: lambda c: c < 0,
        Operator.LE: lambda c: c <= 0,
    }
    sign = wanted_sign[op]
    return lambda r: r.get(name) is not None and sign(_compare(_key(r[name], text), operand))


def _membership(fdef: FieldDef, flt: Filter) -> Check:
    raw = _as_list(flt.value) if flt.op is Operator.IN else [flt.value]
    codes = {fold_value(str(v)) for v in raw if v is not None and str(v).strip()}
    if not codes:
        raise FilterError(f"Filter on {fdef.name} with '{flt.op.value}' needs a value.")
    name = fdef.name

    def held(record: Record) -> bool:
        value = record.get(name)
        if value is None:
            return False
        items = value if isinstance(value, tuple | list) else str(value).split(",")
        return any(fold_value(str(item)) in codes for item in items)

    if flt.op is Operator.NE:
        return lambda r: r.get(name) is None or not held(r)
    return held


def compile_filters(source: SourceDef, filters: Sequence[Filter]) -> Check:
    checks = [compile_filter(source, f) for f in filters]
    return lambda record: all(check(record) for check in checks)


def server_params(
    spec: EntitySpec, source: SourceDef, filters: Sequence[Filter]
) -> list[tuple[str, str]]:
    """The filters worth sending as ``Prop=op:value`` (all are checked again on the rows)."""
    params: list[tuple[str, str]] = []
    for flt in filters:
        fdef = source.field(flt.field)
        if flt.op not in SERVER_SAFE or fdef.type is FieldType.MULTISELECT:
            continue
        if flt.op is Operator.EQ and filter_value(fdef, flt.value) is None:
            continue  # "equals blank" is isEmpty, whose null handling iMIS may not share
        if flt.op in (Operator.IN, Operator.BETWEEN):
            values = tuple(filter_value(fdef, v) for v in _as_list(flt.value))
            if any(v is None for v in values):
                continue
            typed_filter = Filter(fdef.name, flt.op, values)
        elif flt.op.takes_value:
            typed_filter = Filter(fdef.name, flt.op, filter_value(fdef, flt.value))
        else:
            typed_filter = Filter(fdef.name, flt.op)
        _, value = wire.filter_param(typed_filter)
        params.append((spec.wire_name(fdef.name), value))
    return params


# ---- comparing values --------------------------------------------------------------------------


def _as_text(value: Any) -> str:
    if isinstance(value, tuple | list):
        return ",".join(str(v) for v in value)
    return str(value)


def _key(value: Any, text: bool) -> Any:
    return fold(_as_text(value)) if text else value


def _compare(a: Any, b: Any) -> int:
    try:
        return -1 if a < b else (1 if a > b else 0)
    except TypeError:
        sa, sb = str(a), str(b)
        return -1 if sa < sb else (1 if sa > sb else 0)


def _between(value: Any, low: Any, high: Any) -> bool:
    if low is None or high is None:
        return False
    return _compare(value, low) >= 0 and _compare(value, high) <= 0


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, str):
        sep = "|" if "|" in value else ","
        return [v.strip() for v in value.split(sep)]
    if isinstance(value, Sequence):
        return list(value)
    raise FilterError(f"Expected a list of values, not {value!r}.")


# ---- order -------------------------------------------------------------------------------------


def order_key(source: SourceDef, order_by: Sequence[str]) -> Callable[[Record], Any]:
    """A sort key with the embedded store's order: text without case, blanks first ascending
    and last descending, then the identity ascending."""
    terms: list[tuple[str, bool, Callable[[Any], Any]]] = []
    for name in order_by:
        descending = name.startswith("-")
        fdef = readable(source, name.lstrip("-"), verb="ordered by")
        terms.append((fdef.name, descending, _sort_key(fdef)))
    terms.extend((k, False, _sort_key(source.field(k))) for k in source.identity)

    def compare(a: Record, b: Record) -> int:
        for name, descending, key in terms:
            va, vb = a.get(name), b.get(name)
            if va is None and vb is None:
                continue
            if va is None or vb is None:
                result = -1 if va is None else 1  # blanks first ascending ...
            else:
                result = _compare(key(va), key(vb))
            if result:
                return -result if descending else result  # ... and so last descending
        return 0

    return cmp_to_key(compare)


def _sort_key(fdef: FieldDef) -> Callable[[Any], Any]:
    """How values of ``fdef`` sort: iMIS IDs as numbers, text without case, others as they are."""
    if fdef.is_imis_id:
        return id_order
    text = fdef.type.is_text
    return lambda value: _key(value, text)


# ---- match keys --------------------------------------------------------------------------------


def match_key(value: Any) -> Any:
    """How match compares: text without case or surrounding spaces; blank is None."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, tuple | list):
        return tuple(fold_value(v) for v in value)
    return fold_value(value)
