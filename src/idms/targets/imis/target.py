"""The REST target: the Target protocol over a real iMIS (or the sandbox), through ImisClient.

* ``sources``/``describe``: the catalog's sources for the platform, communication preferences
  from the metadata, panels from the business-object definitions (``discovery.py``); cached
  until :meth:`RestTarget.refresh`.
* ``match``: one filtered GET per distinct criteria row, run concurrently, every row checked
  again here (iMIS ignores filters it does not know), results in the criteria's order.
* ``read``: pages to the end, filters sent where iMIS applies them the same way and checked on
  every row, ordering done here when asked for (``reads.py``).
* ``query``: the saved query's IQA (``/api/iqa``, or ``/api/query`` when the target is made
  with ``query_endpoint="query"``), page by page to the end (``iqa.py``).
* ``apply``: one call sequence per change (``writes.py``), run concurrently in *lanes*: changes
  that touch the same record, the same contact, the same username or the same event share a lane
  and are written one after another in input order, so that what one does is seen by the next;
  lanes run side by side. Numbers iMIS assigns (iMIS IDs, SEQN, ordinals, registration and gift
  IDs) follow the order the calls reach iMIS, so across lanes they need not follow input order;
  ``ordered=True`` writes every change one after another, as the embedded store does.

REST is not transactional: a change refused by iMIS, or lost to an outage that outlasts the
client's retries, fails alone (its RowError says why) and the others of its batch stand. Only
when every change of a batch fails for want of the target does ``apply`` raise, so that a run
stops instead of reporting every row as an error. Nor does iMIS keep a journal of a batch (the
target is no ``BatchJournal``): a run that died while writing re-matches what it had sent. And
nothing can hold a batch's match and its writes together against another run (the target is no
``Exclusive``): runs that write one source of an iMIS take turns instead (``runs/serial.py``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from idms.config import parse_query_endpoint
from idms.errors import CoercionError, TargetError
from idms.sources.filters import Filter
from idms.sources.model import SourceDef
from idms.sources.registry import resolve_source
from idms.sources.rules import refused_changes
from idms.targets.base import (
    ApplyOptions,
    ApplyResult,
    Change,
    QueryResult,
    Record,
    RowError,
)
from idms.targets.imis import discovery, entities, wire
from idms.targets.imis.carried import Carried
from idms.targets.imis.client import PAGE_LIMIT, ImisClient
from idms.targets.imis.dryrun import Judge, Planned
from idms.targets.imis.iqa import run_query
from idms.targets.imis.matching import InCheck, find_matches
from idms.targets.imis.reads import (
    Check,
    accept_all,
    compile_filters,
    match_key,
    order_key,
    readable,
    records_of,
    server_params,
)
from idms.targets.imis.writes import writer_for
from idms.values.coerce import coerce
from idms.values.folding import fold_value
from idms.values.types import FieldType

if TYPE_CHECKING:
    from idms.queries.compile import CompiledQuery
    from idms.targets.findings import Finding

# Fields naming contacts, per source (default: ImisId): changes naming one contact share a lane.
CONTACT_REFS: dict[str, tuple[str, ...]] = {
    "Contact": ("ImisId",),
    "Activity": ("ImisId", "OrganizationId"),
    "Relationship": ("ImisId", "TargetImisId"),
    "Event": ("EventContactId",),
    "EventRegistration": ("RegistrantId", "RegisteredById", "BillToId"),
    "Gift": ("DonorId", "SoftCreditId", "TributeNameId", "MovesManagerId", "NotifyContactId"),
}
# Other values that make changes depend on each other (unique usernames, an event's seats).
SHARED_VALUES: dict[str, tuple[str, ...]] = {
    "UserCredentials": ("Username", "Email"),
    "EventRegistration": ("EventCode",),
}


class RestTarget:
    """An iMIS reached over REST by ``client``, under ``platform``'s rules.

    ``query_endpoint`` is where saved queries run: ``iqa`` (``/api/iqa``, every iMIS) or
    ``query`` (``/api/query``, iMIS EMS 20.3.77 and later).
    """

    def __init__(
        self,
        client: ImisClient,
        platform: str = "ems",
        *,
        ordered: bool = False,
        query_endpoint: str = "iqa",
    ) -> None:
        self.client = client
        self.platform = platform
        self.ordered = ordered
        self.query_endpoint = parse_query_endpoint(query_endpoint)
        self._sources: list[SourceDef] | None = None
        self._local = threading.local()  # the plan a thread rehearses (see rehearse)
        self.carried = Carried()  # the objects matched, for the writes (no GET before a PUT)
        self._in_check = InCheck()  # where iMIS reads in:a|b as a list (matching.py)

    def __repr__(self) -> str:
        return f"RestTarget({self.client!r}, platform={self.platform!r})"

    def refresh(self) -> None:
        """Forget the cached source definitions (after panels or preferences change)."""
        self._sources = None

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ---- plans ---------------------------------------------------------------------------------

    @contextmanager
    def rehearse(self) -> Iterator[None]:
        """The scope of a plan (the :class:`~idms.targets.base.Rehearsal` capability).

        iMIS has no dry run: a dry-run ``apply`` judges each change here (``dryrun.py``) and
        writes nothing. Within the scope the records the plan would have written are kept in
        memory (``match`` and later changes see them, as a run sees what it wrote), with the
        lookup tables and contacts read; leaving it forgets them. Nothing is locked on iMIS.
        """
        if getattr(self._local, "planned", None) is not None:
            yield
            return
        self._local.planned = Planned()
        try:
            yield
        finally:
            self._local.planned = None

    def _planned(self) -> Planned | None:
        planned: Planned | None = getattr(self._local, "planned", None)
        return planned

    def _judge(self, planned: Planned) -> Judge:
        """The look-ups of one change of a dry run, over REST (the lanes of a batch run on
        threads of their own, so ``planned`` is handed down rather than read per thread)."""

        def match(
            source: str, fields: Sequence[str], criteria: Sequence[Mapping[str, Any]]
        ) -> list[list[Record]]:
            return self._match(source, fields, criteria, planned)

        def contact(imis_id: str) -> Record | None:
            found = match("Contact", ["ImisId"], [{"ImisId": imis_id}])[0]
            return found[0] if found else None

        return Judge(planned, self.lookup_codes, contact, match)

    # ---- sources -------------------------------------------------------------------------------

    def sources(self) -> list[SourceDef]:
        if self._sources is None:
            self._sources = discovery.load_sources(self.client, self.platform)
        return list(self._sources)

    def describe(self, source: str) -> SourceDef:
        return resolve_source(source, self.sources())

    def lookup_codes(self, table: str) -> dict[str, str]:
        codes: dict[str, str] = {}
        for obj in self.client.paged("api/GenTable", [("TableName", table)]):
            props = wire.entity_properties(obj) if isinstance(obj, Mapping) else {}
            name = props.get("TableName")
            if name is not None and str(name).casefold() != table.casefold():
                continue  # an iMIS that ignored the filter
            if props.get("Code") is not None:
                codes[str(props["Code"])] = str(props.get("Description") or "")
        return codes

    # ---- match ---------------------------------------------------------------------------------

    def match(
        self, source: str, fields: Sequence[str], criteria: Sequence[Mapping[str, Any]]
    ) -> list[list[Record]]:
        return self._match(source, fields, criteria, self._planned(), carry=True)

    def account_findings(self, *, warn_days: int = 14) -> list[Finding]:
        """The account's roles and its password's expiry, as iMIS reports them
        (:class:`~idms.targets.base.AccountChecked`, ``preflight.py``)."""
        from idms.targets.imis.preflight import account_findings

        return account_findings(self.client, warn_days=warn_days)

    def match_ahead(
        self, source: str, fields: Sequence[str], criteria: Sequence[Mapping[str, Any]]
    ) -> list[list[Record]]:
        """``match`` for a run's next batch, on a thread of its own while the run writes the
        batch before (:class:`~idms.targets.base.MatchAhead`): the objects it reads are carried
        beside that batch's, which its writes still take (``carried.py``). Never in a plan."""
        return self._match(source, fields, criteria, None, carry=True)

    def _match(
        self,
        source: str,
        fields: Sequence[str],
        criteria: Sequence[Mapping[str, Any]],
        planned: Planned | None,
        *,
        carry: bool = False,
    ) -> list[list[Record]]:
        """``match``, with what the plan being rehearsed (``planned``) would have written; with
        ``carry``, the objects read are kept for the batch's writes (``carried.py``)."""
        sdef = self.describe(source)
        spec = entities.spec_for(sdef)
        defs = [readable(sdef, f, verb="matched on") for f in fields]
        names = [f.name for f in defs]
        wanted = []
        for row in criteria:
            values = {sdef.field(k).name: v for k, v in row.items()}
            wanted.append(tuple(_criterion(f.type, values.get(f.name)) for f in defs))
        found = find_matches(self.client, spec, sdef, names, wanted, self._in_check)
        if carry:
            read = [(f.record, f.obj) for matches in found.values() for f in matches]
            self.carried.keep(sdef, read)
        by_key = {key: [f.record for f in matches] for key, matches in found.items()}
        if planned is not None:
            for key, records in by_key.items():
                folded = tuple(match_key(v) for v in key)
                by_key[key] = planned.merged(sdef, names, folded, records)
        return [list(by_key[key]) for key in wanted]

    # ---- read ----------------------------------------------------------------------------------

    def read(
        self,
        source: str,
        filters: Sequence[Filter] = (),
        *,
        order_by: Sequence[str] = (),
        limit: int | None = None,
    ) -> Iterator[Record]:
        sdef = self.describe(source)
        spec = entities.spec_for(sdef)
        check = compile_filters(sdef, filters) if filters else accept_all  # errors fail here
        key = order_key(sdef, order_by) if order_by else None
        params = server_params(spec, sdef, filters)
        return self._read(sdef, spec, params, check, key, limit)

    def _read(
        self,
        sdef: SourceDef,
        spec: entities.EntitySpec,
        params: list[tuple[str, str]],
        check: Check,
        key: Callable[[Record], Any] | None,
        limit: int | None,
    ) -> Iterator[Record]:
        if limit is not None and limit <= 0:
            return
        page = PAGE_LIMIT
        if limit is not None and key is None and check is accept_all:
            page = min(PAGE_LIMIT, limit)  # the first rows are all that is wanted
        found = self.client.paged(f"api/{spec.entity}", params, limit=page)
        records = (record for obj in found for record in records_of(spec, sdef, obj))
        passing: Iterator[Record] = (r for r in records if check(r))
        if key is not None:
            passing = iter(sorted(passing, key=key))
        for count, record in enumerate(passing, start=1):
            yield record
            if limit is not None and count >= limit:
                return

    # ---- query ---------------------------------------------------------------------------------

    def query(
        self,
        query: CompiledQuery,
        params: Mapping[str, Any] | None = None,
        *,
        offset: int = 0,
        limit: int | None = None,
    ) -> QueryResult:
        return run_query(
            self.client, query, params, endpoint=self.query_endpoint, offset=offset, limit=limit
        )

    # ---- apply ---------------------------------------------------------------------------------

    def apply(
        self, source: str, changes: Sequence[Change], options: ApplyOptions = ApplyOptions()
    ) -> list[ApplyResult]:
        sdef = self.describe(source)
        refused = self._refused_kinds(sdef)
        if any(c.kind in refused for c in changes):
            batch = RowError(
                "batch_refused", "Not written: another change in its batch was refused."
            )
            return [ApplyResult(c.ref, False, error=refused.get(c.kind, batch)) for c in changes]
        judge = None
        if options.dry_run:
            planned = self._planned() or Planned()  # outside a rehearsal: this batch's own

            def judge() -> Judge:
                return self._judge(planned)

        writer = writer_for(self.client, sdef, self.platform, options, judge, self.carried)
        failures: list[TargetError] = []

        def run(lane: list[int]) -> list[tuple[int, ApplyResult]]:
            out = []
            for index in lane:
                change = changes[index]
                try:
                    result = writer.write(change)
                except TargetError as exc:  # the target failed this change; the others go on
                    failures.append(exc)
                    result = ApplyResult(
                        change.ref, False, error=RowError("target_unavailable", exc.message)
                    )
                out.append((index, result))
            return out

        lanes = [list(range(len(changes)))] if self.ordered else lanes_of(sdef, changes)
        results: list[ApplyResult | None] = [None] * len(changes)
        for done in self.client.map_concurrent(run, lanes):
            for index, result in done:
                results[index] = result
        if changes and len(failures) == len(changes):
            raise failures[0]
        return [r for r in results if r is not None]

    def _refused_kinds(self, source: SourceDef) -> dict[str, RowError]:
        """The source's rule (``idms.sources.rules``), as every target applies it."""
        return {
            kind: RowError(r.code, r.message, r.field)
            for kind, r in refused_changes(source, self.platform).items()
        }


def _criterion(ftype: FieldType, value: Any) -> Any:
    """A match value as the field's type, so that it compares with what records hold."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    target = FieldType.STRING if ftype in (FieldType.EMAIL, FieldType.PASSWORD) else ftype
    try:
        return coerce(value, target)
    except CoercionError:
        return value.strip() if isinstance(value, str) else value


def lanes_of(source: SourceDef, changes: Sequence[Change]) -> list[list[int]]:
    """The changes' indexes grouped so that dependent changes share a lane (in input order)."""
    parent = list(range(len(changes)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[Hashable, int] = {}
    for index, change in enumerate(changes):
        for key in lane_keys(source, change):
            if key in owner:
                a, b = root(owner[key]), root(index)
                if a != b:
                    parent[max(a, b)] = min(a, b)
            else:
                owner[key] = index
    lanes: dict[int, list[int]] = {}
    for index in range(len(changes)):
        lanes.setdefault(root(index), []).append(index)
    return list(lanes.values())


def lane_keys(source: SourceDef, change: Change) -> list[Hashable]:
    values = change.values
    identity = change.identity or {}
    keys: list[Hashable] = []
    known = {**values, **identity}
    if all(known.get(k) not in (None, "") for k in source.identity):
        keys.append(("record", tuple(fold_value(known[k]) for k in source.identity)))
    refs = CONTACT_REFS.get(source.name, ("ImisId",))
    for name in refs:
        if known.get(name) not in (None, ""):
            keys.append(("contact", fold_value(known[name])))
    for name in SHARED_VALUES.get(source.name, ()):
        if known.get(name) not in (None, ""):
            keys.append((name, fold_value(known[name])))
    return keys
