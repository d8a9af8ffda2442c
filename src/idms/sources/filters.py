"""The filter vocabulary: ``field op value`` conditions in iMIS's own operators and spellings.

A filter says which records a read or a saved query keeps; every target translates it (SQL for
the embedded store, query-string parameters for REST). It belongs to the model, below the
targets and the queries, so that both can use it without importing each other.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from idms.errors import FilterError

if TYPE_CHECKING:
    from idms.sources.model import SourceDef


class Operator(StrEnum):
    """The iMIS filter operators (imis-rest-api.md §2.1), by their short names."""

    EQ = "eq"
    NE = "ne"
    GT = "gt"
    GE = "ge"
    LT = "lt"
    LE = "le"
    CONTAINS = "contains"
    NOT_CONTAIN = "notContain"
    STARTS_WITH = "startsWith"
    ENDS_WITH = "endsWith"
    IN = "in"
    BETWEEN = "between"
    IS_EMPTY = "isEmpty"
    NOT_EMPTY = "notEmpty"
    IS_TRUE = "isTrue"
    IS_FALSE = "isFalse"

    @property
    def takes_value(self) -> bool:
        return self not in _NO_VALUE


_NO_VALUE = frozenset({Operator.IS_EMPTY, Operator.NOT_EMPTY, Operator.IS_TRUE, Operator.IS_FALSE})

# Every spelling iMIS accepts, folded to lower case, including the long forms.
_ALIASES: dict[str, Operator] = {
    "between": Operator.BETWEEN,
    "contains": Operator.CONTAINS,
    "endswith": Operator.ENDS_WITH,
    "eq": Operator.EQ,
    "==": Operator.EQ,
    "equal": Operator.EQ,
    "gt": Operator.GT,
    ">": Operator.GT,
    "greaterthan": Operator.GT,
    "ge": Operator.GE,
    ">=": Operator.GE,
    "greaterthanorequal": Operator.GE,
    "in": Operator.IN,
    "isempty": Operator.IS_EMPTY,
    "empty": Operator.IS_EMPTY,
    "isfalse": Operator.IS_FALSE,
    "false": Operator.IS_FALSE,
    "istrue": Operator.IS_TRUE,
    "true": Operator.IS_TRUE,
    "lt": Operator.LT,
    "<": Operator.LT,
    "lessthan": Operator.LT,
    "le": Operator.LE,
    "<=": Operator.LE,
    "lessthanorequal": Operator.LE,
    "notcontain": Operator.NOT_CONTAIN,
    "!contain": Operator.NOT_CONTAIN,
    "notempty": Operator.NOT_EMPTY,
    "!empty": Operator.NOT_EMPTY,
    "ne": Operator.NE,
    "!=": Operator.NE,
    "notequal": Operator.NE,
    "startswith": Operator.STARTS_WITH,
}


def parse_operator(name: str) -> Operator:
    """An operator from any iMIS spelling (``eq``, ``==``, ``Equal``, ``!empty`` ...)."""
    op = _ALIASES.get(name.strip().lower())
    if op is None:
        known = ", ".join(o.value for o in Operator)
        raise FilterError(f"Unknown filter operator '{name}'. Use one of: {known}.")
    return op


@dataclass(frozen=True)
class Filter:
    """``field op value``. ``in`` takes a sequence; ``between`` a (low, high) pair."""

    field: str
    op: Operator
    value: Any = None

    @classmethod
    def parse(cls, expression: str) -> Filter:
        """``Field=value`` (equality) or ``Field=op:value``, the iMIS query-string form."""
        name, sep, rest = expression.partition("=")
        if not sep or not name.strip():
            raise FilterError(
                f"A filter looks like FIELD=VALUE or FIELD=op:VALUE, not '{expression}'."
            )
        op_name, colon, value = rest.partition(":")
        if colon and op_name.strip().lower() in _ALIASES:
            op = _ALIASES[op_name.strip().lower()]
        else:
            op, value = Operator.EQ, rest
        if op is Operator.IN:
            return cls(name.strip(), op, tuple(_split_list(value)))
        if op is Operator.BETWEEN:
            parts = _split_list(value)
            if len(parts) != 2:
                raise FilterError(f"'between' takes two values, LOW|HIGH, not '{value}'.")
            return cls(name.strip(), op, (parts[0], parts[1]))
        return cls(name.strip(), op, value if op.takes_value else None)

    def resolved(self, source: SourceDef) -> Filter:
        """This filter on the canonical name of the field it names (``SourceDef.resolve``; an
        unknown field raises UnknownFieldError with the closest names)."""
        return replace(self, field=source.resolve(self.field).name)


def resolve_order(source: SourceDef, order_by: Iterable[str]) -> list[str]:
    """Sort fields (``-Field`` for high to low) by any name, as canonical names."""
    out = []
    for entry in order_by:
        text = entry.strip()
        sign = "-" if text.startswith("-") else ""
        out.append(sign + source.resolve(text.removeprefix("-").strip()).name)
    return out


def _split_list(value: str) -> list[str]:
    sep = "|" if "|" in value else ","
    return [v.strip() for v in value.split(sep)]
