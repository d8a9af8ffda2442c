"""iMIS filter operators turned into SQL, with values read as the field's type.

Text compares without case, as iMIS's SQL Server collation does, in every script: the column is
folded by the database (``idms_fold``) and the value in Python (``fold``), the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, literal, not_, or_

from idms.errors import CoercionError, FilterError
from idms.sources.filters import Filter, Operator
from idms.sources.model import FieldDef, SourceDef
from idms.targets.embedded.adapters.folding import folded
from idms.values.coerce import coerce
from idms.values.folding import fold
from idms.values.types import FieldType


def filter_value(fdef: FieldDef, value: Any) -> Any:
    """A filter value read as the field's type (multi-select fields filter on one code)."""
    ftype = FieldType.STRING if fdef.type is FieldType.MULTISELECT else fdef.type
    if ftype is FieldType.EMAIL:
        ftype = FieldType.STRING  # a partial e-mail is a fine filter value
    try:
        return coerce(value, ftype, field=fdef.label)
    except CoercionError as exc:
        raise FilterError(f"Filter on {fdef.name}: {exc.message}") from None


def filter_clause(
    source: SourceDef, columns: Mapping[str, ColumnElement[Any]], flt: Filter
) -> ColumnElement[bool]:
    fdef = source.field(flt.field)
    if fdef.secret:
        raise FilterError(f"{fdef.name} cannot be filtered on: it is never read back.")
    col = columns.get(fdef.name)
    if col is None:
        raise FilterError(f"{fdef.name} is write-only and cannot be filtered on.")
    op = flt.op
    text = fdef.type.is_text
    if op is Operator.IS_EMPTY:
        return or_(col.is_(None), col == literal("")) if text else col.is_(None)
    if op is Operator.NOT_EMPTY:
        return and_(col.is_not(None), col != literal("")) if text else col.is_not(None)
    if op in (Operator.IS_TRUE, Operator.IS_FALSE):
        if fdef.type is not FieldType.BOOLEAN:
            raise FilterError(f"'{op.value}' applies to Yes/No fields; {fdef.name} is not one.")
        return col.is_(True) if op is Operator.IS_TRUE else or_(col.is_(False), col.is_(None))
    if fdef.type is FieldType.MULTISELECT and op in (Operator.EQ, Operator.NE, Operator.IN):
        return _membership(col, fdef, flt)
    if op is Operator.IN:
        values = _as_list(flt.value)
        typed = [filter_value(fdef, v) for v in values]
        if text:
            return folded(col).in_([fold(str(v)) for v in typed if v is not None])
        return col.in_([v for v in typed if v is not None])
    if op is Operator.BETWEEN:
        pair = _as_list(flt.value)
        if len(pair) != 2:
            raise FilterError(f"'between' on {fdef.name} takes two values, LOW|HIGH.")
        low, high = (filter_value(fdef, v) for v in pair)
        if text:
            return folded(col).between(fold(str(low)), fold(str(high)))
        return col.between(low, high)
    value = filter_value(fdef, flt.value)
    if value is None:
        if op is Operator.EQ:
            return or_(col.is_(None), col == literal("")) if text else col.is_(None)
        if op is Operator.NE:
            return and_(col.is_not(None), col != literal("")) if text else col.is_not(None)
        raise FilterError(f"Filter on {fdef.name} with '{op.value}' needs a value.")
    if op in (Operator.CONTAINS, Operator.NOT_CONTAIN, Operator.STARTS_WITH, Operator.ENDS_WITH):
        part = _like(col, op, value, text)
        return or_(col.is_(None), not_(part)) if op is Operator.NOT_CONTAIN else part
    target: ColumnElement[Any] = folded(col) if text else col
    operand = fold(str(value)) if text else value
    comparisons = {
        Operator.EQ: lambda: target == operand,
        Operator.NE: lambda: or_(target != operand, col.is_(None)),
        Operator.GT: lambda: target > operand,
        Operator.GE: lambda: target >= operand,
        Operator.LT: lambda: target < operand,
        Operator.LE: lambda: target <= operand,
    }
    return comparisons[op]()


def _like(col: ColumnElement[Any], op: Operator, value: Any, text: bool) -> ColumnElement[bool]:
    """contains / startsWith / endsWith: text folded on both sides (so LIKE's own case rules,
    ASCII-only on SQLite, never come into it); other types as their text, without case."""
    if not text:
        s = str(value)
        if op is Operator.STARTS_WITH:
            return col.istartswith(s, autoescape=True)
        if op is Operator.ENDS_WITH:
            return col.iendswith(s, autoescape=True)
        return col.icontains(s, autoescape=True)
    key, s = folded(col), fold(str(value))
    if op is Operator.STARTS_WITH:
        return key.startswith(s, autoescape=True)
    if op is Operator.ENDS_WITH:
        return key.endswith(s, autoescape=True)
    return key.contains(s, autoescape=True)


def _membership(col: ColumnElement[Any], fdef: FieldDef, flt: Filter) -> ColumnElement[bool]:
    """Multi-select fields hold several codes: eq/in ask whether one of them is stored."""
    raw = _as_list(flt.value) if flt.op is Operator.IN else [flt.value]
    codes = [str(v).strip() for v in raw if v is not None and str(v).strip()]
    if not codes:
        raise FilterError(f"Filter on {fdef.name} with '{flt.op.value}' needs a value.")
    wrapped = folded(literal(",") + col + literal(","))
    held = or_(*[wrapped.contains(f",{fold(code)},", autoescape=True) for code in codes])
    if flt.op is Operator.NE:
        return or_(col.is_(None), not_(held))
    return held


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, str):
        sep = "|" if "|" in value else ","
        return [v.strip() for v in value.split(sep)]
    if isinstance(value, Sequence):
        return list(value)
    raise FilterError(f"Expected a list of values, not {value!r}.")
