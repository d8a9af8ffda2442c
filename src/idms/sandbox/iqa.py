"""IQA: ``GET /api/iqa`` and ``GET /api/query`` run a saved query found by its IQA path (§7).

The query string names the query (``QueryName`` or ``QueryPath``, without case) and gives one
``parameter=`` per prompt in the query's prompt order (a blank one is not given), or names a
prompt itself (``?last=Sm``, without case; a named value wins over a positional one, and a
name that is no prompt is ignored, as any unknown query-string key is); ``limit``
(default 100, clamped to 500) and ``offset`` select the page. A value may carry an iMIS operator
prefix (``eq:smith``, ``startsWith:Sm``): the prefix is dropped and the query's own operator
applies. The query is compiled against the store's sources and run by
``EmbeddedTarget.query``, so its rows are exactly what the embedded store answers.

``/api/iqa`` answers a PagedResult of GenericEntityData rows (``ResultRow`` first, then each
column by alias, boxed); ``/api/query`` the ExpandoObject envelope with plain values.

Answers that are not rows: no ``QueryName`` → 400; no query at the path → 404 naming it; a
missing required prompt, a value that is not of its field's type, or more values than the query
has prompts → 400 ValidationResults, one error per problem; a stored query that no longer
compiles against the store's sources (a panel field was removed) → 500 naming the problems.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from idms.errors import FilterError
from idms.queries.compile import CompiledQuery, compile_query
from idms.queries.model import QueryInvalid, SavedQuery
from idms.sandbox.context import Sandbox
from idms.sandbox.http import ApiError, Reply, invalid, ok
from idms.sandbox.paging import ListQuery
from idms.sources.filters import parse_operator
from idms.targets.imis import wire

Endpoint = Literal["iqa", "query"]
FindQuery = Callable[[str], SavedQuery | None]
NAME_KEYS = frozenset({"queryname", "querypath"})


@dataclass
class IqaCall:
    """An IQA request's query string: the path, the positional and named parameters, the page."""

    path: str | None
    parameters: list[str] = field(default_factory=list)
    named: dict[str, str] = field(default_factory=dict)  # casefolded name -> value
    limit: int = wire.DEFAULT_LIMIT
    offset: int = 0

    @classmethod
    def parse(cls, query: ListQuery) -> IqaCall:
        """From a list query (``limit``/``offset`` already read; the rest kept in order)."""
        call = cls(None, limit=query.limit, offset=query.offset)
        for name, value in query.filters:
            key = name.casefold()
            if key in NAME_KEYS and call.path is None and value.strip():
                call.path = value.strip()
            elif key == "parameter":
                call.parameters.append(strip_operator(value))
            elif key not in NAME_KEYS:
                call.named[name.strip().casefold()] = strip_operator(value)
        return call


def strip_operator(value: str) -> str:
    """``eq:smith`` -> ``smith``: a prefix that is an iMIS operator name is dropped."""
    name, colon, rest = value.partition(":")
    if not colon or not name.strip():
        return value
    try:
        parse_operator(name)
    except FilterError:
        return value  # "12:30", "http://...": the colon is part of the value
    return rest


def entity_type_name(path: str) -> str:
    """A numeric-looking ``EntityTypeName``, the same for the same path, as iMIS's ``"59"``."""
    return str(zlib.crc32(path.casefold().encode("utf-8")) % 90 + 10)


class Iqa:
    """Runs the saved queries ``queries`` finds by path (None: no query is found)."""

    def __init__(self, sandbox: Sandbox, queries: FindQuery | None) -> None:
        self.sb = sandbox
        self.queries = queries

    def run(self, endpoint: Endpoint, query: ListQuery) -> Reply:
        call = IqaCall.parse(query)
        if call.path is None:
            raise invalid(
                "QueryName is required: the path of the query to run, as in $/idms/NAME.",
                "query_name_required",
                "QueryName",
            )
        compiled = self._compile(call.path)
        params = self._params(compiled, call.parameters, call.named)
        with self.sb.target.query(compiled, params, offset=call.offset, limit=call.limit) as result:
            rows = list(result)
            total = result.count() if result.count is not None else call.offset + len(rows)
        aliases = compiled.aliases
        if endpoint == "query":
            records = [dict(zip(aliases, row, strict=True)) for row in rows]
            return ok(wire.query_result(records, offset=call.offset, limit=call.limit, total=total))
        kind = entity_type_name(compiled.iqa_path)
        items = [
            wire.iqa_row(kind, call.offset + number, zip(aliases, row, strict=True))
            for number, row in enumerate(rows, start=1)
        ]
        return ok(
            wire.paged_result(
                items, wire.GENERIC_ENTITY, offset=call.offset, limit=call.limit, total=total
            )
        )

    def _compile(self, path: str) -> CompiledQuery:
        saved = self.queries(path) if self.queries is not None else None
        if saved is None:
            raise ApiError(404, wire.http_error(f"No query was found at the path '{path}'."))
        if saved.from_ is None:
            raise ApiError(
                404,
                wire.http_error(
                    f"The query at '{path}' names an IQA of a real iMIS; the sandbox runs only "
                    "saved queries with 'from' and 'columns'."
                ),
            )
        try:
            return compile_query(saved, self.sb.target.sources())
        except QueryInvalid as exc:
            problems = "; ".join(exc.problems)
            raise ApiError(
                500, wire.http_error(f"The query at '{path}' cannot run: {problems}")
            ) from None

    def _params(
        self, compiled: CompiledQuery, values: Sequence[str], named: Mapping[str, str]
    ) -> dict[str, Any]:
        """The positional and named values as prompt name -> value; 400 for what cannot run."""
        prompts = compiled.prompts
        extra = [v for v in values[len(prompts) :] if v.strip()]
        if extra:
            raise invalid(
                f"The query {compiled.iqa_path} takes {len(prompts)} parameter"
                f"{'' if len(prompts) == 1 else 's'} ({', '.join(prompts) or 'none'}); "
                f"{len(values)} were given.",
                "too_many_parameters",
                "parameter",
            )
        params = {
            name: value for name, value in zip(prompts, values, strict=False) if value.strip()
        }
        for prompt in prompts:
            value = named.get(prompt.casefold())
            if value is not None and value.strip():
                params[prompt] = value
        problems: list[tuple[str, str | None, str | None]] = []
        for qf in compiled.all_filters():
            if qf.prompt is None or not qf.required or qf.prompt in params:
                continue
            if any(p[2] == qf.prompt for p in problems):
                continue  # one prompt feeding two filters is reported once
            if qf.value not in (None, "", [], ()):
                continue  # the prompt's default applies
            number = prompts.index(qf.prompt) + 1
            problems.append(
                (
                    f"Parameter {number} ('{qf.prompt}': {qf.describe()}) is required by the "
                    f"query {compiled.iqa_path}.",
                    "parameter_required",
                    qf.prompt,
                )
            )
        if not problems:
            try:
                compiled.bind(params)
            except QueryInvalid as exc:
                problems = [(p, "invalid_parameter", None) for p in exc.problems]
        if problems:
            raise ApiError(400, wire.validation_results(problems))
        return params
