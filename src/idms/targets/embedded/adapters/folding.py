"""How the store compares IDs, codes and text: without case, with its indexes serving.

Text is compared through ``idms_fold(column)``, the store's SQL spelling of
:func:`idms.values.folding.fold`: on SQLite that very Python function, registered on every
connection (``register_fold``); on PostgreSQL a SQL function of the same name that computes the
same spelling (migration ``0003_store``). The value looked for is folded in Python, the column in
SQL, so the two must agree character for character; the e-mail and last-name indexes are on
``idms_fold(...)``, so matching on them stays an index look-up.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BindParameter, ColumnElement, String, any_, bindparam, func

from idms.sources.model import FieldDef
from idms.values.folding import fold, fold_value
from idms.values.types import FieldType

# How many keys one ``IN (...)`` look-up carries.
MATCH_CHUNK = 500

# The SQL function that folds text as ``fold`` does (see the module docstring).
FOLD_FUNCTION = "idms_fold"


def sql_fold(value: Any) -> Any:
    """``idms_fold`` as SQLite calls it: text folded, anything else (NULL, numbers) as given."""
    return fold(value) if isinstance(value, str) else value


def register_fold(dbapi_connection: Any, *_: Any) -> None:
    """Give a SQLite connection ``idms_fold`` (deterministic, so indexes may use it): a
    SQLAlchemy ``connect`` listener, and what a raw ``sqlite3`` connection to a store needs
    before it writes contacts."""
    dbapi_connection.create_function(FOLD_FUNCTION, 1, sql_fold, deterministic=True)


def folded(col: ColumnElement[Any]) -> ColumnElement[Any]:
    """``col`` in its case-free spelling, computed by the database."""
    function: ColumnElement[Any] = getattr(func, FOLD_FUNCTION)(col, type_=String())
    return function


def among(
    expr: ColumnElement[Any], values: Any, dialect: str, name: str | None = None
) -> ColumnElement[bool]:
    """``expr IN (values)``; on PostgreSQL ``expr = ANY(:array)``, one parameter: the
    statement's text is then the same whatever the number of values, so psycopg converts it
    and the server parses and plans it once (then prepared), where an IN list of 500 is a new
    statement of 500 parameters every time (~4 ms of psycopg's query conversion alone, per
    look-up, measured). The array's elements are sent without length (``varchar``, not
    ``varchar(10)``: a cast to the column's length would cut a longer value short, and match).
    ``name`` makes the parameter a named one, given at execution; else ``values`` are bound.
    """
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import ARRAY

        from idms.bulk import array_element_type

        element = array_element_type(expr.type)
        if element is not None:
            param: BindParameter[Any] = (
                bindparam(name, type_=ARRAY(element))
                if name is not None
                else bindparam(None, list(values), type_=ARRAY(element))
            )
            return expr == any_(param)
    if name is not None:
        return expr.in_(bindparam(name, expanding=True))
    return expr.in_(values)


def spellings(values: Any) -> list[str]:
    """The spellings a folded ID or code is stored in: as typed, upper, lower, title case.

    IDs and codes are compared with ``col IN (spellings)`` so the column's own index serves the
    look-up (``idms_fold(col)`` would scan the table); the exact, case-free comparison is then
    made in Python. IDs and codes are stored in one case (``AB100``, ``GLD``, ``Address``), so
    every stored spelling of a value is among these.
    """
    out: set[str] = set()
    for v in values:
        text = str(v).strip()
        out.update((text, text.lower(), text.upper(), text.title(), text.capitalize()))
    return sorted(out)


def is_key_like(fdef: FieldDef) -> bool:
    """IDs and codes: matched through their spellings so that indexes serve the look-up."""
    return fdef.type in (FieldType.CODE, FieldType.GUID) or fdef.name.endswith("Id")


# The form a value takes for case-insensitive comparison (``idms_fold`` of it, stripped).
fold_text = fold_value


def order_terms(col: ColumnElement[Any], fdef: FieldDef, descending: bool) -> list[Any]:
    """The ORDER BY terms for ``fdef`` stored in ``col``, as iMIS's SQL Server collation sorts:
    text without case, blanks before any value (after, descending); iMIS IDs in number order
    (:func:`idms.values.folding.id_order`: ``length(id), id``, so ``106`` before ``1045``)."""
    keys = id_keys(col) if fdef.is_imis_id else [folded(col) if fdef.type.is_text else col]
    return [k.desc().nulls_last() if descending else k.asc().nulls_first() for k in keys]


def id_keys(col: ColumnElement[Any]) -> list[ColumnElement[Any]]:
    """An iMIS ID's sort keys (``id_order``): its length, then its text. The contacts table has
    an index on exactly these (``ix_contacts_imis_id_order``), so ``idms records Contact``
    reads its first page without sorting the table."""
    return [func.length(col), col]


def identity_order(col: ColumnElement[Any], fdef: FieldDef) -> list[Any]:
    """The ORDER BY terms that end every read, by an identity field: iMIS IDs as numbers, other
    fields as stored (one spelling per record, so the order is total)."""
    return [k.asc() for k in id_keys(col)] if fdef.is_imis_id else [col.asc()]
