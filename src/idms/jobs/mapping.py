"""Compiled mappings: from one input row to one typed value for one field.

Each mapping is compiled once per run (value maps, Liquid templates, constants coerced up front),
so the per-row work is a dictionary lookup and a coercion.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from idms.errors import CoercionError
from idms.sources.model import FieldDef
from idms.values.coerce import coerce, coercer, is_blank


class _NotGiven:
    """The mapped cell was blank and blanks are ignored: leave the field as it is."""

    _instance: _NotGiven | None = None

    def __new__(cls) -> _NotGiven:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NOT_GIVEN"

    def __bool__(self) -> bool:
        return False


NOT_GIVEN: Any = _NotGiven()


@dataclass
class MappingError(Exception):
    """A cell that cannot become the field's value: the code, the sentence, the column."""

    code: str
    message: str
    field: str
    column: str | None


@dataclass
class CompiledMapping:
    """One mapping, ready to read rows. ``extract`` returns a typed value, None or NOT_GIVEN."""

    index: int
    field: FieldDef
    source_label: str  # "column 'E-mail'", "the constant", "the template"
    column: str | None
    match: bool
    append: bool
    secret: bool
    extract: Callable[[Mapping[str, Any]], Any]


def compile_mapping(
    index: int,
    fdef: FieldDef,
    *,
    column: str | None,
    constant: Any,
    has_constant: bool,
    template: str | None,
    value_map: Mapping[str, Any] | None,
    fmt: str | None,
    match: bool,
    append: bool,
    blank_clears: bool,
) -> CompiledMapping:
    """Compile one mapping; a bad constant or template raises ValueError with the reason."""
    label = fdef.label
    ftype = fdef.type
    convert = coercer(ftype, fmt=fmt, field=label, max_length=fdef.max_length)
    blank = None if blank_clears else NOT_GIVEN

    def typed(raw: Any, where: str | None) -> Any:
        if raw is None or (type(raw) is str and not raw.strip()):
            return blank
        try:
            return convert(raw)
        except CoercionError as exc:
            raise MappingError(exc.code, exc.message, fdef.name, where) from None

    if has_constant:
        if is_blank(constant):
            fixed: Any = None
        else:
            try:
                fixed = coerce(constant, ftype, fmt=fmt, field=label, max_length=fdef.max_length)
            except CoercionError as exc:
                raise ValueError(exc.message) from None

        def extract(row: Mapping[str, Any]) -> Any:
            return fixed

        return CompiledMapping(
            index, fdef, "the constant", None, match, append, fdef.secret, extract
        )

    if template is not None:
        # Liquid is imported only by jobs that map a template (a tenth of a second at start).
        from idms.values.liquid import TemplateError, compile_template

        compiled = compile_template(template)  # a TemplateError is a ValueError

        def extract(row: Mapping[str, Any]) -> Any:
            try:
                text = compiled.render(row=dict(row), now=datetime.now(UTC))
            except TemplateError as exc:
                raise MappingError(exc.code, f"{label}: {exc.message}.", fdef.name, None) from None
            return typed(text.strip(), None)

        return CompiledMapping(
            index, fdef, "the template", None, match, append, fdef.secret, extract
        )

    assert column is not None
    if value_map is not None:
        folded = {str(k).strip().casefold(): v for k, v in value_map.items()}

        def extract(row: Mapping[str, Any]) -> Any:
            raw = row.get(column)
            if not is_blank(raw):
                key = str(raw).strip().casefold()
                if key in folded:
                    raw = folded[key]
            return typed(raw, column)

    else:

        def extract(row: Mapping[str, Any]) -> Any:
            # ``typed``, inlined: this runs once per cell of the file.
            raw = row.get(column)
            if raw is None or (type(raw) is str and not raw.strip()):
                return blank
            try:
                return convert(raw)
            except CoercionError as exc:
                raise MappingError(exc.code, exc.message, fdef.name, column) from None

    return CompiledMapping(
        index, fdef, f"column '{column}'", column, match, append, fdef.secret, extract
    )
