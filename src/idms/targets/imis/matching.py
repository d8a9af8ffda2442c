"""Matching over REST: many rows per request, with iMIS's ``in:`` filter.

A batch's match values are fetched a chunk at a time (``GET /api/Party?Email=in:a|b|c``,
imis-rest-api.md §2.1) instead of one ``eq:`` request per row, so an insert-update costs about
one call per row (its write) rather than two. The values of a match on several fields are
chunked on one of them (the *pivot*, the field with the most distinct values) and the other
fields are checked here. Whatever the server answers is checked here anyway, as every REST read
is (``reads.py``): a record belongs to a row only when all its match values equal the row's
without case or surrounding spaces, so ``in:`` finds exactly what one ``eq:`` per row found.

How iMIS reads an ``in:`` list is not documented (imis-rest-api.md §2.1 names the operator, not
its syntax); an iMIS that read ``a|b`` as one value would match nothing, and every row would be
taken for new. So before the first ``in:`` on a property, the target checks it once per client
(:class:`InCheck`): it reads a few records, and asks ``in:`` for one value they hold together
with one no record holds; only when the record comes back is ``in:`` used on that property, and
otherwise the rows are looked up one ``eq:`` each, as before (with a warning in the log). While
no record shows a value to check with (an empty iMIS), rows are looked up one ``eq:`` each and
the check is made again at the next batch.

A chunk keeps the request's query string under IIS's default ``maxQueryString`` (2,048 bytes;
longer ones are answered 404.15, as the sandbox does): values are counted as the client encodes
them. A value that cannot travel in an ``in:`` list (it holds the ``|`` separator) and a blank
value (``isEmpty:``) are still looked up one request each, with every field filtered, as before.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from idms.sources.filters import Filter, Operator
from idms.sources.model import SourceDef
from idms.targets.base import Record
from idms.targets.imis import wire
from idms.targets.imis.client import ImisClient
from idms.targets.imis.entities import EntitySpec
from idms.targets.imis.reads import match_key, records_of

log = logging.getLogger("idms.targets.imis")

# IIS refuses a query string longer than 2,048 bytes (requestFiltering maxQueryString); the
# paging parameters (``&limit=500&offset=…``) and a margin come off it.
MAX_QUERY_STRING = 2048
PAGING_ALLOWANCE = 48
# At most this many values in one ``in:`` list, whatever their length: a chunk's answer stays a
# few pages at most even when each value matches several records.
MAX_IN_VALUES = 200


@dataclass(frozen=True)
class Found:
    """A record a match found, and the stored object it was read from (None when the object
    holds several records, as an event registration does)."""

    record: Record
    obj: Any


# A value no record holds, asked for beside a held one when ``in:`` is checked.
ABSENT = "idms-in-check-0f3a"


class InCheck:
    """Whether ``in:`` works on each property of an iMIS (asked once per entity and property)."""

    def __init__(self) -> None:
        self._known: dict[tuple[str, str], bool] = {}
        self._lock = threading.Lock()

    def works(self, client: ImisClient, spec: EntitySpec, source: SourceDef, name: str) -> bool:
        key = (spec.entity.casefold(), spec.wire_name(name).casefold())
        with self._lock:  # one check at a time; the others wait for its answer
            if key not in self._known:
                works = _check_in(client, spec, source, name)
                if works is None:
                    return False  # asked again next time, when records may hold values
                self._known[key] = works
            return self._known[key]


def _check_in(client: ImisClient, spec: EntitySpec, source: SourceDef, name: str) -> bool | None:
    """Whether ``in:`` works on ``name``; None when no record shows a value to check it with."""
    collection, prop = f"api/{spec.entity}", spec.wire_name(name)

    def values(params: list[tuple[str, Any]]) -> list[Any]:
        page = client.get(collection, [*params, ("limit", 20)])
        items = wire.page_items(page)[0] if isinstance(page, dict) else []
        objs = [o for o in items if isinstance(o, dict)]
        return [r.get(name) for o in objs for r in records_of(spec, source, o)]

    held = next((t for t in map(_in_text, values([])) if t), None)
    if held is None:
        return None
    works = match_key(held) in {match_key(v) for v in values([(prop, f"in:{held}|{ABSENT}")])}
    if not works:
        log.warning(
            "This iMIS does not answer %s?%s=in:a|b as a list of values: its rows are matched "
            "one request each.",
            spec.entity,
            prop,
        )
    return works


def find_matches(
    client: ImisClient,
    spec: EntitySpec,
    source: SourceDef,
    names: Sequence[str],
    wanted: Sequence[tuple[Any, ...]],
    check: InCheck | None = None,
) -> dict[tuple[Any, ...], list[Found]]:
    """The records matching each of ``wanted`` (values of ``names``, typed), by wanted tuple;
    ``in:`` only on a property ``check`` found it works on (when given)."""
    folded = {w: tuple(match_key(v) for v in w) for w in wanted}
    pivot = _pivot(wanted, len(names))
    many = len(set(wanted)) > 1
    if (
        pivot is not None
        and check is not None
        and many
        and not check.works(client, spec, source, names[pivot])
    ):
        pivot = None
    requests: list[list[tuple[str, str]]] = []
    chunked: list[str] = []
    for w in dict.fromkeys(wanted):
        text = _in_text(w[pivot]) if pivot is not None else None
        if text is None:
            requests.append(_one_row(spec, names, w))
        else:
            chunked.append(text)
    if pivot is not None:
        requests.extend(_chunks(spec.wire_name(names[pivot]), list(dict.fromkeys(chunked))))

    def fetch(params: list[tuple[str, str]]) -> list[Found]:
        out: list[Found] = []
        for obj in client.paged(f"api/{spec.entity}", params):
            records = records_of(spec, source, obj)
            keep = obj if len(records) == 1 else None
            out.extend(Found(record, keep) for record in records)
        return out

    by_fold: dict[tuple[Any, ...], list[Found]] = {k: [] for k in folded.values()}
    seen: set[Any] = set()
    for answer in client.map_concurrent(fetch, requests):
        for found in answer:
            key = tuple(match_key(found.record.get(n)) for n in names)
            if key not in by_fold:
                continue  # a neighbour of the chunk's values, or a filter iMIS ignored
            ident = _identity(source, found.record)
            if ident is not None:
                if ident in seen:
                    continue  # one record, found by two requests (values differing in case)
                seen.add(ident)
            by_fold[key].append(found)
    return {w: by_fold[folded[w]] for w in wanted}


def _pivot(wanted: Sequence[tuple[Any, ...]], width: int) -> int | None:
    """The field whose values split the rows best (most distinct values sendable in ``in:``)."""
    best, best_count = None, 0
    for i in range(width):
        count = len({_in_text(w[i]) for w in wanted} - {None})
        if count > best_count:
            best, best_count = i, count
    return best


def _in_text(value: Any) -> str | None:
    """A match value as an ``in:`` list item, or None when it cannot be one."""
    if value is None:
        return None
    _, param = wire.filter_param(Filter("_", Operator.EQ, value))
    text = param.partition(":")[2]
    if "|" in text or not text.strip() or text != text.strip():
        return None
    return text


def _one_row(
    spec: EntitySpec, names: Sequence[str], values: tuple[Any, ...]
) -> list[tuple[str, str]]:
    """One row's values, each field filtered (``eq:``, or ``isEmpty:`` for a blank)."""
    params = []
    for name, value in zip(names, values, strict=True):
        op = "isEmpty:" if value is None else wire.filter_param(Filter(name, Operator.EQ, value))[1]
        params.append((spec.wire_name(name), op))
    return params


def _chunks(wire_name: str, texts: list[str]) -> list[list[tuple[str, str]]]:
    """``Prop=in:a|b|…`` requests covering ``texts``, each under the query-string limit (one
    value alone goes as ``eq:``)."""
    budget = MAX_QUERY_STRING - PAGING_ALLOWANCE - len(quote(wire_name, safe="")) - len("=in%3A")
    out: list[list[tuple[str, str]]] = []
    chunk: list[str] = []
    used = 0
    for text in texts:
        size = len(quote(text, safe="")) + (len("%7C") if chunk else 0)
        if chunk and (used + size > budget or len(chunk) >= MAX_IN_VALUES):
            out.append(_request(wire_name, chunk))
            chunk, used = [], 0
            size = len(quote(text, safe=""))
        chunk.append(text)
        used += size
    if chunk:
        out.append(_request(wire_name, chunk))
    return out


def _request(wire_name: str, chunk: list[str]) -> list[tuple[str, str]]:
    if len(chunk) == 1:
        return [(wire_name, f"eq:{chunk[0]}")]
    return [(wire_name, "in:" + "|".join(chunk))]


def _identity(source: SourceDef, record: Record) -> tuple[Any, ...] | None:
    values = tuple(match_key(record.get(k)) for k in source.identity)
    return None if not values or any(v is None for v in values) else values
