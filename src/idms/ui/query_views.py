"""What the saved-query pages show and read: the list's rows, the builder's form (a query
document as rows of columns and filters, and back), the rows of a preview, and the prompts'
values a page was given.

The builder writes the same document a query file holds (``docs/queries.md``), so a query made
here is saved, checked and run as ``idms query save`` would. What the builder cannot show (a
``related`` relation, an ``iqa`` path, a filter of a relation) leaves the query to its
definition, edited as YAML or JSON on the same page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import yaml

from idms.queries.model import SavedQuery
from idms.queries.store import QueryInfo
from idms.sources.filters import Operator
from idms.ui.import_views import cell_text

BLANK_COLUMNS = 3  # empty column rows the builder adds for more
BLANK_FILTERS = 2
MAX_ROWS = 60  # column or filter rows a form may send
MAX_TEXT = 500  # characters of one field of the form
MAX_DEFINITION = 64 * 1024  # characters of a definition written by hand
PARAM_PREFIX = "param."  # a prompt's value in a URL or form: param.NAME=VALUE (as the API)
OPERATORS = [op.value for op in Operator]
LIST_OPERATORS = {Operator.IN.value, Operator.BETWEEN.value}


@dataclass(frozen=True)
class QueryLine:
    name: str
    path: str  # the query's page, under the UI's root
    source: str
    columns: str
    prompts: str
    description: str
    updated: str


def query_lines(infos: Sequence[QueryInfo]) -> list[QueryLine]:
    out = []
    for info in infos:
        q = info.query
        out.append(
            QueryLine(
                name=q.name,
                path=f"/queries/{quote(q.name, safe='')}",
                source=q.from_ or f"(the IQA {q.iqa_path} of iMIS)",
                columns=", ".join(q.columns) if q.from_ else "",
                prompts=prompt_text(q),
                description=q.description,
                updated=info.updated_at.astimezone().strftime("%Y-%m-%d %H:%M"),
            )
        )
    return out


def prompt_text(query: SavedQuery) -> str:
    return ", ".join(f"{n} (required)" if r else n for n, r in query.prompt_list())


@dataclass
class ColumnRow:
    index: int
    alias: str = ""
    field: str = ""
    error: str = ""


@dataclass
class FilterRow:
    index: int
    field: str = ""
    op: str = "eq"
    value: str = ""
    prompt: str = ""
    required: bool = False
    error: str = ""


@dataclass
class QueryForm:
    """The builder's fields, as text (what the person typed, shown again when refused)."""

    name: str = ""
    description: str = ""
    source: str = "Contact"
    columns: list[ColumnRow] = field(default_factory=list)
    filters: list[FilterRow] = field(default_factory=list)
    order_by: str = ""
    limit: str = ""
    distinct: bool = False
    errors: dict[str, str] = field(default_factory=dict)  # by field: name, source, order_by...

    def padded(self) -> QueryForm:
        """The form with blank rows to add more columns and filters."""
        n, m = len(self.columns), len(self.filters)
        self.columns += [ColumnRow(n + i) for i in range(BLANK_COLUMNS)]
        self.filters += [FilterRow(m + i) for i in range(BLANK_FILTERS)]
        return self

    def document(self) -> dict[str, Any]:
        """The query document the form describes (rows left blank are left out)."""
        doc: dict[str, Any] = {"name": self.name, "from": self.source}
        if self.description:
            doc["description"] = self.description
        doc["columns"] = {(c.alias or c.field): c.field for c in self.columns if c.field or c.alias}
        filters = []
        for f in self.filters:
            if not f.field:
                continue
            spec: dict[str, Any] = {"field": f.field, "op": f.op}
            if f.prompt:
                spec["prompt"] = f.prompt
                if f.required:
                    spec["required"] = True
            if f.value:
                spec["value"] = f.value.split("|") if f.op in LIST_OPERATORS else f.value
            filters.append(spec)
        if filters:
            doc["filters"] = filters
        order = [part.strip() for part in self.order_by.split(",") if part.strip()]
        if order:
            doc["order_by"] = order
        if self.limit:
            doc["limit"] = int(self.limit) if self.limit.isdigit() else self.limit
        if self.distinct:
            doc["distinct"] = True
        return doc

    def place(self, problems: Sequence[str]) -> list[str]:
        """Put each problem next to the field it names (``columns.Email: …``,
        ``filters[1].op: …``, ``from: …``); the problems no field holds are returned."""
        rest = []
        for problem in problems:
            if not self._placed(problem):
                rest.append(problem)
        return rest

    def _placed(self, problem: str) -> bool:
        for c in self.columns:
            key = c.alias or c.field
            if key and problem.startswith((f"columns.{key}:", f"columns.{key} ")):
                c.error = _join(c.error, problem)
                return True
        for i, f in enumerate(r for r in self.filters if r.field):
            if problem.startswith(f"filters[{i}]"):
                f.error = _join(f.error, problem)
                return True
        for key, name in (("from", "source"), ("order_by", "order_by"), ("limit", "limit")):
            if problem.startswith((f"{key}:", f"{key}[", f"{key} ")):
                self.errors[name] = _join(self.errors.get(name, ""), problem)
                return True
        if problem.startswith(("name:", "name ")):
            self.errors["name"] = _join(self.errors.get("name", ""), problem)
            return True
        if problem.startswith("columns") or "'columns'" in problem:
            self.errors["columns"] = _join(self.errors.get("columns", ""), problem)
            return True
        return False


def _join(before: str, more: str) -> str:
    return f"{before} {more}" if before else more


def form_of_query(query: SavedQuery) -> tuple[QueryForm, list[str]]:
    """The builder's form for a saved query, and what it cannot show (then the query is edited
    through its definition)."""
    cannot = []
    if query.from_ is None:
        cannot.append("it runs an IQA of iMIS by its path")
    if query.related:
        cannot.append("it has related sources ('related')")
    if query.iqa:
        cannot.append("it names its IQA path ('iqa')")
    form = QueryForm(
        name=query.name,
        description=query.description,
        source=query.from_ or "",
        columns=[ColumnRow(i, a, f) for i, (a, f) in enumerate(query.columns.items())],
        order_by=", ".join(query.order_by),
        limit=str(query.limit or ""),
        distinct=query.distinct,
    )
    for i, spec in enumerate(query.filters):
        value = spec.value
        if isinstance(value, list):
            text = "|".join(cell_text(v) for v in value)
        elif isinstance(value, dict):
            cannot.append(f"filter {i + 1} has a value the form cannot write")
            text = ""
        else:
            text = cell_text(value) if value is not None else ""
        form.filters.append(
            FilterRow(i, spec.field, spec.op, text, spec.prompt or "", spec.required)
        )
    return form, cannot


def form_from_post(form: Mapping[str, Any]) -> QueryForm:
    """The builder's fields as a POST sent them (each bounded to ``MAX_TEXT`` characters; at
    most ``MAX_ROWS`` column and filter rows)."""

    def text(name: str) -> str:
        value = form.get(name)
        return value.strip()[:MAX_TEXT] if isinstance(value, str) else ""

    out = QueryForm(
        name=text("name"),
        description=text("description"),
        source=text("source"),
        order_by=text("order_by"),
        limit=text("limit"),
        distinct=bool(text("distinct")),
    )
    for i in range(MAX_ROWS):
        alias, name = text(f"column_{i}_alias"), text(f"column_{i}_field")
        if alias or name:
            out.columns.append(ColumnRow(len(out.columns), alias, name))
        fname = text(f"filter_{i}_field")
        if fname:
            op = text(f"filter_{i}_op") or "eq"
            out.filters.append(
                FilterRow(
                    len(out.filters),
                    fname,
                    op,
                    text(f"filter_{i}_value"),
                    text(f"filter_{i}_prompt"),
                    bool(text(f"filter_{i}_required")),
                )
            )
    return out


def definition_text(query: SavedQuery | None) -> str:
    """The query as YAML, to edit by hand."""
    if query is None:
        return ""
    return yaml.safe_dump(query.to_document(), sort_keys=False, allow_unicode=True, width=100)


@dataclass(frozen=True)
class PromptField:
    name: str
    required: bool
    value: str


def prompt_fields(query: SavedQuery, given: Mapping[str, str]) -> list[PromptField]:
    return [PromptField(n, r, given.get(n, "")) for n, r in query.prompt_list()]


def given_params(items: Sequence[tuple[str, Any]]) -> dict[str, str]:
    """The prompts' values a page was given (``param.NAME=VALUE``; blank ones left out, each
    bounded); a list for ``in`` is written ``A|B|C``, a range for ``between`` ``LOW|HIGH``."""
    out: dict[str, str] = {}
    for key, value in items:
        if key.startswith(PARAM_PREFIX) and isinstance(value, str) and value.strip():
            out[key[len(PARAM_PREFIX) :][:MAX_TEXT]] = value.strip()[:MAX_TEXT]
        if len(out) >= MAX_ROWS:
            break
    return out


def preview_cells(rows: Sequence[Sequence[Any]]) -> list[list[str]]:
    return [[cell_text(v) for v in row] for row in rows]
