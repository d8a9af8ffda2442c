"""The saved query (INTERFACES.md "Saved query"): the IQA equivalent, as a YAML or JSON document.

A query names the source it reads (``from``), the columns it shows (``alias: field``; a related
source's field as ``Source.Field``), its filters (iMIS operators; a filter with ``prompt`` takes its
value when the query runs), its order, and optionally:

* ``related``: named relations to other sources with extra join conditions, e.g. "this year's
  registration for ANNUAL27", so that ``Registered.EventCode isEmpty`` means "not registered".
  A source named directly in a column path (``Contact.Email``) is related on the iMIS ID.
* ``distinct`` and ``limit``, as IQA offers them.
* ``iqa``: the IQA path a real iMIS runs for this query on a REST target (default
  ``$/idms/NAME``). A query with only ``iqa`` (no ``from``) describes an IQA that exists only in
  iMIS; ``prompts`` then names its parameters in order.

This module checks the document's shape (pydantic); ``compile.py`` checks it against the sources.
Both report every problem at once, each with where it is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from idms.documents import DocumentError, describe_problems, read_document
from idms.errors import InvalidInputError, printable_lines

DEFAULT_IQA_FOLDER = "$/idms"


class QueryInvalid(InvalidInputError):
    """The query is wrong, or cannot run with these parameters; ``problems`` lists every issue."""

    def __init__(
        self, problems: list[str], *, name: str = "the query", hint: str | None = None
    ) -> None:
        self.problems = problems = printable_lines(problems)
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"Query '{name}' cannot run:\n{lines}", hint=hint)


class FilterSpec(BaseModel):
    """``field op value``; with ``prompt`` the value is a parameter (``value`` is its default)."""

    model_config = ConfigDict(extra="forbid")

    field: str
    op: str = "eq"
    value: Any = None
    prompt: str | None = None
    required: bool = False

    @model_validator(mode="after")
    def _required_needs_prompt(self) -> FilterSpec:
        if self.required and self.prompt is None:
            raise ValueError("'required' applies to a filter with a 'prompt'")
        return self


class RelationSpec(BaseModel):
    """Another source joined to the query's rows (a left join unless ``required``)."""

    model_config = ConfigDict(extra="forbid")

    source: str
    # query field -> related source field; default: the iMIS ID on both sides
    on: dict[str, str] | None = None
    filters: list[FilterSpec] = Field(default_factory=list)
    required: bool = False  # only rows that have a related record (an inner join)

    @model_validator(mode="before")
    @classmethod
    def _yaml_on(cls, data: Any) -> Any:
        """YAML 1.1 reads an unquoted ``on:`` key as the boolean true: take it as ``on``."""
        if isinstance(data, dict) and True in data and "on" not in data:
            data = {("on" if k is True else k): v for k, v in data.items()}
        return data


class SavedQuery(BaseModel):
    """A whole saved-query document."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    from_: str | None = Field(default=None, alias="from")
    iqa: str | None = None
    columns: dict[str, str] = Field(default_factory=dict)
    related: dict[str, RelationSpec] = Field(default_factory=dict)
    filters: list[FilterSpec] = Field(default_factory=list)
    prompts: list[str] = Field(default_factory=list)
    order_by: list[str] = Field(default_factory=list)
    distinct: bool = False
    limit: int | None = Field(default=None, ge=1)

    @field_validator("columns", mode="before")
    @classmethod
    def _columns_as_list(cls, value: Any) -> Any:
        """``columns: [ImisId, Contact.Email]`` means each field under its own name."""
        if isinstance(value, list):
            return {str(v): str(v) for v in value}
        return value

    @field_validator("order_by", mode="before")
    @classmethod
    def _order_as_text(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("iqa")
    @classmethod
    def _iqa_path(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("$/"):
            raise ValueError(
                f"an IQA path starts with '$/', as in '$/Common/Queries/…', not {value!r}"
            )
        return value

    @model_validator(mode="after")
    def _shape(self) -> SavedQuery:
        if self.from_ is None:
            if self.iqa is None:
                raise ValueError("give 'from' (the source to read) or 'iqa' (an IQA path in iMIS)")
            extra = [k for k in ("columns", "related", "filters", "order_by") if getattr(self, k)]
            if extra:
                raise ValueError(
                    f"a query without 'from' runs an IQA of iMIS as it is; "
                    f"{', '.join(extra)} need 'from'"
                )
            return self
        if not self.columns:
            raise ValueError("'columns' lists what the query shows (alias: field)")
        if self.prompts:
            raise ValueError("'prompts' names an IQA's parameters; with 'from', filters name them")
        return self

    @property
    def iqa_path(self) -> str:
        """The IQA a REST target runs for this query."""
        return self.iqa or f"{DEFAULT_IQA_FOLDER}/{self.name}"

    def prompt_list(self) -> list[tuple[str, bool]]:
        """The query's prompts in order (its filters', then each relation's), with whether each is
        required; an IQA known by path lists its ``prompts``."""
        if self.from_ is None:
            return [(name, False) for name in self.prompts]
        found: dict[str, bool] = {}
        for spec in [*self.filters, *(f for r in self.related.values() for f in r.filters)]:
            if spec.prompt is not None:
                found[spec.prompt] = found.get(spec.prompt, False) or spec.required
        return list(found.items())

    def to_document(self) -> dict[str, Any]:
        """The query as a plain document (what the suite database stores)."""
        return self.model_dump(mode="json", by_alias=True, exclude_defaults=True)


def parse_query_document(text: str, *, where: str = "the query file") -> dict[str, Any]:
    """A YAML or JSON mapping from text, or QueryInvalid saying why not."""
    try:
        raw = read_document(text)
    except DocumentError as exc:
        raise QueryInvalid([f"{where} {exc.message}"]) from None
    if not isinstance(raw, dict):
        raise QueryInvalid([f"{where} must be a mapping with name, from and columns"])
    return raw


def build_query(document: dict[str, Any]) -> SavedQuery:
    """Validate a query document's shape; every problem is listed with its location."""
    try:
        return SavedQuery.model_validate(document)
    except ValidationError as exc:
        problems = describe_problems(
            exc.errors(),
            unknown="is not a query setting (check the spelling)",
            location=_where,
            message=lambda error: str(error["msg"]).removeprefix("Value error, "),
        )
        raise QueryInvalid(problems, name=str(document.get("name") or "untitled")) from None


def load_query_file(path: str | Path) -> SavedQuery:
    file = Path(path)
    if not file.is_file():
        raise QueryInvalid([f"no query file at {file}"])
    document = parse_query_document(file.read_text(encoding="utf-8-sig"), where=str(file))
    return build_query(document)


def iqa_only(path: str) -> SavedQuery:
    """An IQA of iMIS named by its path alone (``idms query run '$/…'`` on a REST target)."""
    return SavedQuery(name=path, iqa=path)


def _where(error: Any) -> str:
    parts: list[str] = []
    for p in error["loc"]:
        if isinstance(p, int):
            parts[-1:] = [f"{parts[-1]}[{p}]" if parts else f"[{p}]"]
        elif not str(p).startswith("function-"):
            parts.append("from" if p == "from_" else str(p))
    return ".".join(parts) or "(top level)"
