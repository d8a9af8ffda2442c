"""The Target protocol: the one seam between the engine and wherever iMIS data lives.

A target only describes, matches, applies and reads, in batches; policy (mapping, plan, retries,
undo) stays in the engine. Two implementations: the embedded store (``targets/embedded``) and a
real iMIS over REST (``targets/imis``). Both pass the contract suite in ``tests/contract``.

Records are plain dicts keyed by canonical field names, holding typed values (str, int, Decimal,
bool, date, datetime, None). Secret fields (passwords) never appear in a record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from idms.sources.filters import Filter
from idms.sources.model import Action, SourceDef

if TYPE_CHECKING:
    from idms.queries.compile import CompiledQuery

Record = dict[str, Any]


class ChangeKind(StrEnum):
    INSERT = "insert"
    UPDATE = "update"
    DELETE = "delete"


@dataclass
class Change:
    """One write asked of a target.

    ``values`` holds typed values by canonical name: for an insert, the new record's fields; for an
    update, only the fields to set (None clears). ``identity`` addresses the stored record for an
    update or delete (the source's identity fields, as ``match`` returned them). ``append`` names
    multi-select fields whose values are added to what is stored instead of replacing it.
    ``ref`` is the caller's reference, handed back in the result (the input row number).
    """

    kind: ChangeKind
    values: dict[str, Any] = field(default_factory=dict)
    identity: dict[str, Any] | None = None
    append: frozenset[str] = frozenset()
    ref: int = 0


@dataclass(frozen=True)
class RowError:
    """Why a target refused one change: a stable code, a sentence, and the field at fault."""

    code: str
    message: str
    field: str | None = None


@dataclass
class ApplyResult:
    """What happened to one change (``before`` None for an insert, ``after`` None for a delete)."""

    ref: int
    ok: bool
    before: Record | None = None
    after: Record | None = None
    error: RowError | None = None


@dataclass(frozen=True)
class ApplyOptions:
    """Switches a job passes down to the target for one batch."""

    skip_validation: bool = False  # iDMS "Skip Validation": lookup codes are not checked
    # A durable run's name for this batch. A transactional target keeps the batch's results under
    # it, written with the batch itself, so that after a crash ``applied_batch`` can say exactly
    # what was written (see jobs/durable.py).
    batch_key: str | None = None
    # The key of an earlier batch whose rows are now recorded: its results can go, in this
    # batch's own transaction (one write fewer per batch than ``forget_batch``).
    forget_key: str | None = None


@dataclass(frozen=True)
class Capabilities:
    """What a target can do, checked before a run starts (not halfway through)."""

    kind: Literal["embedded", "rest"]
    platform: str
    sources: Mapping[str, frozenset[Action]]
    max_batch: int
    transactional: bool

    def allows(self, source: str, action: Action) -> bool:
        return action in self.sources.get(source, frozenset())


class QueryResult:
    """A query's rows, streamed: tuples of typed values in ``columns`` order (the aliases).

    ``count`` (when the target can say) counts every row of the query, ignoring offset and
    limit; it may cost a query of its own. Iterate once; close when done (or use ``with``).
    """

    def __init__(
        self,
        columns: Sequence[str],
        rows: Iterator[tuple[Any, ...]],
        *,
        count: Callable[[], int] | None = None,
        closer: Callable[[], None] | None = None,
    ) -> None:
        self.columns = tuple(columns)
        self._rows = rows
        self.count = count
        self._closer = closer

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return self._rows

    def records(self) -> Iterator[Record]:
        """The rows as dicts by alias."""
        columns = self.columns
        for row in self._rows:
            yield dict(zip(columns, row, strict=True))

    def close(self) -> None:
        closer, self._closer = self._closer, None
        close_rows = getattr(self._rows, "close", None)
        if close_rows is not None:
            close_rows()
        if closer is not None:
            closer()

    def __enter__(self) -> QueryResult:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


@runtime_checkable
class Target(Protocol):
    """Where iMIS data lives. Every method works on whole batches."""

    @property
    def capabilities(self) -> Capabilities: ...

    def sources(self) -> list[SourceDef]:
        """Every source available on this target and platform, dynamic fields included."""
        ...

    def describe(self, source: str) -> SourceDef:
        """One source with its fields, including panel fields and communication preferences."""
        ...

    def lookup_codes(self, table: str) -> dict[str, str]:
        """The codes of a lookup table, code → description."""
        ...

    def match(
        self, source: str, fields: Sequence[str], criteria: Sequence[Mapping[str, Any]]
    ) -> list[list[Record]]:
        """For each criteria row, every stored record whose ``fields`` equal it.

        One set-based lookup per batch, not one query per row. Text compares without case and
        without surrounding spaces, as iMIS's SQL Server collation does; a None criterion matches
        a blank (null or empty) value.
        """
        ...

    def apply(
        self, source: str, changes: Sequence[Change], options: ApplyOptions = ApplyOptions()
    ) -> list[ApplyResult]:
        """Apply a batch; one result per change, in order, with before and after images."""
        ...

    def read(
        self,
        source: str,
        filters: Sequence[Filter] = (),
        *,
        order_by: Sequence[str] = (),
        limit: int | None = None,
    ) -> Iterator[Record]:
        """Stream the source's records that pass every filter (ANDed)."""
        ...

    def applied_batch(self, key: str) -> list[ApplyResult] | None:
        """The results of the batch applied under ``key``, or None.

        On a transactional target None means the batch was not written (its transaction never
        committed); elsewhere it means "not known", and the caller re-matches what it sent.
        """
        ...

    def forget_batch(self, key: str) -> None:
        """Drop what ``applied_batch`` keeps for ``key`` (its row results are recorded now)."""
        ...

    def query(
        self,
        query: CompiledQuery,
        params: Mapping[str, Any] | None = None,
        *,
        offset: int = 0,
        limit: int | None = None,
    ) -> QueryResult:
        """Run a saved query (the IQA equivalent) with its prompts' values; rows stream.

        The embedded store runs it as SQL; a REST target asks iMIS to run the query's IQA
        (``/api/iqa``), page by page to the end. ``offset`` and ``limit`` select a window of the
        ordered rows (the query's own ``limit`` applies first).
        """
        ...

    def close(self) -> None: ...
