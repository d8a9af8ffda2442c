"""The Target protocol: the one seam between the engine and wherever iMIS data lives.

A target describes, matches and applies, in batches (the core, :class:`Target`); some can also
read, run saved queries or keep a journal of their batches (optional capabilities, checked
before a run). Policy (mapping, plan, retries, undo) stays in the engine. Two implementations:
the embedded store (``targets/embedded``) and a real iMIS over REST (``targets/imis``). Both
pass the contract suite in ``tests/contract``; ``targets/testing.py`` has doubles for tests.

Records are plain dicts keyed by canonical field names, holding typed values (str, int, Decimal,
bool, date, datetime, None). Secret fields (passwords) never appear in a record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from enum import StrEnum
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, Self, TypeVar, cast, runtime_checkable

from idms.errors import ConfigError
from idms.sources.filters import Filter
from idms.sources.model import SourceDef

if TYPE_CHECKING:
    from idms.queries.compile import CompiledQuery
    from idms.targets.findings import Finding

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
    # A dry run that could not judge the change completely says here what it could not check
    # (the run may still refuse it); None when the result is what applying would give.
    note: str | None = None


@dataclass(frozen=True)
class ApplyOptions:
    """Switches a job passes down to the target for one batch."""

    skip_validation: bool = False  # iDMS "Skip Validation": lookup codes are not checked
    # A durable run's name for this batch. A target with a BatchJournal keeps the batch's results
    # under it, written with the batch itself, so that after a crash ``applied_batch`` can say
    # exactly what was written (see jobs/durable.py); other targets ignore it.
    batch_key: str | None = None
    # The key of an earlier batch whose rows are now recorded: its results can go, in this
    # batch's own transaction (one write fewer per batch than ``forget_batch``).
    forget_key: str | None = None
    # With ``batch_key``: what the journal keeps for the batch, made from its results inside
    # its own transaction (a durable run's row results, so that nothing about the batch need
    # be sealed apart from it); None keeps the results themselves (``applied_batch``).
    journal: Callable[[Sequence[ApplyResult]], str] | None = None
    # A plan (``--plan``): the target judges every change exactly as it would apply it and
    # returns the ApplyResults it would give (before and after images, errors, defaults it
    # would fill in) but keeps nothing. Inside a :class:`Rehearsal` it also remembers what it
    # planned, so that later batches see it as they would see what the run wrote.
    dry_run: bool = False


class QueryResult:
    """A query's rows, streamed: tuples of typed values in ``columns`` order (the aliases).

    ``count`` (when the target can say) counts every row of the query, ignoring offset and
    limit; it may cost a query of its own. ``snapshot`` says the rows are read from one
    snapshot, so writes made while they stream cannot move them (a database cursor); without
    it (REST pages), a caller that writes as it reads keeps the rows first. Iterate once; close
    when done (or use ``with``).
    """

    def __init__(
        self,
        columns: Sequence[str],
        rows: Iterator[tuple[Any, ...]],
        *,
        count: Callable[[], int] | None = None,
        closer: Callable[[], None] | None = None,
        snapshot: bool = False,
    ) -> None:
        self.columns = tuple(columns)
        self._rows = rows
        self.count = count
        self._closer = closer
        self.snapshot = snapshot

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
    """Where iMIS data lives: what every target does. Every method works on whole batches.

    A target is a context manager: ``with open_target(settings) as target:`` closes it after.
    What only some targets can do is an optional capability below (:class:`Readable`,
    :class:`Queryable`, :class:`BatchJournal`, :class:`Exclusive`...); the engine asks with
    :func:`capability` or :func:`require` before a run starts, never halfway through.
    """

    @property
    def platform(self) -> str:
        """The iMIS platform whose rules the target follows (``ems``, ``2017``...)."""
        ...

    def describe(self, source: str) -> SourceDef:
        """One source with its fields, including panel fields and communication preferences."""
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

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


# ---- optional capabilities -----------------------------------------------------------------------


@runtime_checkable
class Readable(Protocol):
    """A target whose records can be listed and read (``idms records``, ``idms sources``)."""

    def sources(self) -> list[SourceDef]:
        """Every source available on this target and platform, dynamic fields included."""
        ...

    def lookup_codes(self, table: str) -> dict[str, str]:
        """The codes of a lookup table, code → description."""
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


@runtime_checkable
class Queryable(Protocol):
    """A target that runs saved queries (compiled against its ``sources``)."""

    def sources(self) -> list[SourceDef]:
        """Every source available on this target and platform, dynamic fields included."""
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


@runtime_checkable
class BatchJournal(Protocol):
    """A transactional target that keeps each batch's results under its ``batch_key``.

    The results are written in the batch's own transaction, so after a crash ``applied_batch``
    says exactly what was written (see jobs/durable.py). A target without a journal (REST)
    cannot say: the engine re-matches what it sent instead.
    """

    def applied_batch(self, key: str) -> list[ApplyResult] | None:
        """The results of the batch applied under ``key``, or None: it was not written (its
        transaction never committed)."""
        ...

    def journaled(self, key: str) -> str | None:
        """What the journal keeps for ``key`` (the text ``ApplyOptions.journal`` made, or the
        results), or None: the batch was not written."""
        ...

    def forget_batch(self, key: str) -> None:
        """Drop what ``applied_batch`` keeps for ``key`` (its row results are recorded now)."""
        ...


@runtime_checkable
class Rehearsal(Protocol):
    """A target that can rehearse a whole plan: inside ``rehearse()``, ``match`` and a dry-run
    ``apply`` see what earlier dry-run batches of the rehearsal planned, exactly as a run sees
    what its earlier batches wrote; leaving it forgets all of it. A plan on a target without
    this capability remembers planned inserts itself, by match key (see jobs/batch.py)."""

    def rehearse(self) -> AbstractContextManager[None]:
        """The scope of one plan (its docstring says what it holds while open)."""
        ...


@runtime_checkable
class Exclusive(Protocol):
    """A target that can make a batch's match and its writes one step for every other writer of
    the same source, in this process or another (two runs of one file, a schedule firing during
    an import): inside ``exclusive(source)``, ``match`` sees everything other writers committed
    before the scope began, no other writer of ``source`` commits until it ends, and what
    ``apply`` writes is committed when it ends (all of it; nothing when the block raises). The
    engine holds it from a batch's match through its apply, so two runs can never both find
    nothing for a key and both insert it. A target without it (iMIS over REST: iMIS has neither
    transactions nor unique keys) has whole runs serialised instead (:mod:`idms.runs.serial`).
    """

    def exclusive(self, source: str) -> AbstractContextManager[None]:
        """The scope of one batch of ``source`` (its docstring says what it holds)."""
        ...


class AccountChecked(Protocol):
    """A target reached through an account of its own (iMIS over REST), whose standing can be
    checked before a run: its roles, its password's expiry (``idms check``)."""

    def account_findings(self, *, warn_days: int = 14) -> list[Finding]:
        """What is wrong with the account, or worth knowing, as findings."""
        ...


class MatchAhead(Protocol):
    """A target on which a run may match its next batch while it writes the current one
    (:mod:`idms.jobs.ahead`): one whose match waits on the network (iMIS over REST), and on which
    a run writing a source holds its turn (:mod:`idms.runs.serial`), so that only the run's own
    writes can change what the match finds, and the engine discounts those."""

    def match_ahead(
        self, source: str, fields: Sequence[str], criteria: Sequence[Mapping[str, Any]]
    ) -> list[list[Record]]:
        """``match``, called on a thread of its own while the run writes its batch before."""
        ...


class FullTarget(Target, Readable, Queryable, Protocol):
    """The core, reading and queries: what :func:`~idms.targets.factory.open_target` opens
    (both the embedded store and the REST target offer them)."""


C = TypeVar("C")


def capability(target: Target, wanted: Callable[..., C]) -> C | None:
    """``target`` as the optional capability ``wanted`` (a protocol above), or None.

    Asked by name, not by ``isinstance``, so that a wrapper (``FaultyTarget``) that forwards
    what it does not define answers for the target it wraps. (``wanted`` is typed as a callable
    because mypy accepts no protocol where ``type[C]`` is expected.)
    """
    return cast(C, target) if not _missing(target, wanted) else None


def require(target: Target, wanted: Callable[..., C], doing: str) -> C:
    """``target`` as ``wanted``, or a ConfigError saying it cannot do ``doing``.

    Called before a run starts: ``require(target, Queryable, "run saved queries")``.
    """
    missing = _missing(target, wanted)
    if missing:
        names = ", ".join(missing[:-1]) + " or " + missing[-1] if len(missing) > 1 else missing[0]
        kind = type(target).__name__
        raise ConfigError(f"This target ({kind}) cannot {doing}: it has no {names}.")
    return cast(C, target)


def _missing(target: Target, wanted: Callable[..., Any]) -> list[str]:
    """The public members of the protocol ``wanted`` (its bases' included) ``target`` lacks."""
    members: dict[str, None] = {}
    for cls in getattr(wanted, "__mro__", ()):
        if getattr(cls, "_is_protocol", False) and cls is not Protocol:
            members.update(dict.fromkeys(n for n in vars(cls) if not n.startswith("_")))
    return [name for name in members if getattr(target, name, None) is None]
