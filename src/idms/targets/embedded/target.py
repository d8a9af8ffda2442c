"""The embedded target: the Target protocol over the workspace's iMIS-shaped store.

This is the one boundary where SQLAlchemy errors become idms errors: a busy or locked database is
retryable, anything else terminal. Nothing above this module sees ``sqlalchemy.exc``.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar

from sqlalchemy import Connection, Engine, Select, delete, insert, select, text
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from idms.config import Settings
from idms.errors import InvalidInputError, RetryableTargetError, TerminalTargetError
from idms.paging import check_window
from idms.sources.filters import Filter
from idms.sources.model import SourceDef
from idms.sources.panels import PanelDefinition
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
from idms.targets.embedded import admin, counters, schema
from idms.targets.embedded.adapters.address import AddressAdapter
from idms.targets.embedded.adapters.base import ApplyContext, SourceAdapter, StorePolicy
from idms.targets.embedded.adapters.commerce import EventRegistrationAdapter, GiftAdapter
from idms.targets.embedded.adapters.contact import ContactAdapter
from idms.targets.embedded.adapters.credentials import CredentialsAdapter, UserDataAdapter
from idms.targets.embedded.adapters.groups import GroupMemberAdapter
from idms.targets.embedded.adapters.numbered import ActivityAdapter
from idms.targets.embedded.adapters.panel import panel_adapter
from idms.targets.embedded.adapters.preferences import PreferencesAdapter
from idms.targets.embedded.adapters.relationship import RelationshipAdapter
from idms.targets.embedded.carried import Carried
from idms.targets.embedded.catalogue import store_sources
from idms.targets.embedded.changes import Written
from idms.targets.embedded.journal import journal_results, journal_text
from idms.targets.embedded.lookups import LookupCache, load_codes
from idms.targets.embedded.notify import Notifier, sender
from idms.targets.embedded.passwords import LoginResult, attempt_login
from idms.targets.embedded.query import (
    build_query,
    converters,
    count_statement,
    stored_value_processors,
    typed_rows,
    window,
)
from idms.targets.embedded.statistics import Freshness
from idms.targets.embedded.store import open_store

if TYPE_CHECKING:
    from idms.queries.compile import CompiledQuery

STREAM_CHUNK = 2000  # rows fetched at a time by a query
WRITTEN = "idms.written"  # a write transaction's changes to notify, in its connection's info
T = TypeVar("T")


def _plain(table: Any) -> Callable[[SourceDef, StorePolicy], SourceAdapter]:
    def make(source: SourceDef, policy: StorePolicy) -> SourceAdapter:
        return SourceAdapter(source, table, policy)

    return make


def _numbered(
    cls: Any, table: Any, field: str, counter: str
) -> Callable[[SourceDef, StorePolicy], SourceAdapter]:
    def make(source: SourceDef, policy: StorePolicy) -> SourceAdapter:
        adapter: SourceAdapter = cls(source, table, policy, number_field=field, counter=counter)
        return adapter

    return make


FACTORIES: dict[str, Callable[[SourceDef, StorePolicy], SourceAdapter]] = {
    "Contact": ContactAdapter,
    "Address": lambda s, p: AddressAdapter(s, schema.addresses, p),
    "Activity": _numbered(ActivityAdapter, schema.activities, "Seqn", counters.SEQN),
    "UserCredentials": CredentialsAdapter,
    "UserData": UserDataAdapter,
    "GroupMember": lambda s, p: GroupMemberAdapter(s, schema.group_members, p),
    "Relationship": lambda s, p: RelationshipAdapter(s, schema.relationships, p),
    "CommunicationPreferences": PreferencesAdapter,
    "Event": _plain(schema.events),
    "EventFunction": _plain(schema.event_functions),
    "EventRegistration": _numbered(
        EventRegistrationAdapter,
        schema.event_registrations,
        "RegistrationId",
        counters.REGISTRATION,
    ),
    "Gift": _numbered(GiftAdapter, schema.gifts, "GiftId", counters.GIFT),
    "LookupTable": _plain(schema.lookup_codes),
}


class EmbeddedTarget:
    """The embedded iMIS store at ``url``, under ``policy.platform``'s rules; every change
    committed through it is notified to each of ``notify_urls`` (``changes.py``, ``notify.py``).
    """

    def __init__(
        self, url: str, policy: StorePolicy | None = None, *, notify_urls: Sequence[str] = ()
    ) -> None:
        self.url = url
        self.policy = policy or StorePolicy()
        self._notifiers: list[Notifier] = [sender(u) for u in dict.fromkeys(notify_urls)]
        self.engine: Engine = open_store(url)
        self.freshness = Freshness(self.engine)  # planner statistics after large writes
        self._adapters: dict[str, SourceAdapter] = {}
        self._sources: list[SourceDef] | None = None
        # The connection a thread's open scope pins (see rehearse and exclusive), and which.
        self._local = threading.local()
        with self._connect() as conn:
            self.policy.default_address_purpose = admin.get_setting(
                conn, "default_address_purpose", self.policy.default_address_purpose
            )

    @classmethod
    def from_settings(cls, settings: Settings) -> EmbeddedTarget:
        policy = StorePolicy(
            platform=settings.platform.value,
            lockout_threshold=settings.lockout_threshold,
            password_min_length=settings.password_min_length,
        )
        return cls(settings.store_url, policy, notify_urls=settings.change_notify_urls)

    @property
    def platform(self) -> str:
        return self.policy.platform

    def notify_to(self, notifier: Notifier) -> None:
        """Notify ``notifier`` too of every change committed from now on (its owner stops it)."""
        self._notifiers.append(notifier)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ---- plumbing ------------------------------------------------------------------------------

    @contextmanager
    def _connect(
        self, *, write: bool = False, keep: bool = True, own: bool = False
    ) -> Iterator[Connection]:
        """A connection; with ``write``, in a write transaction committed at the end (rolled
        back instead when not ``keep``). Inside :meth:`rehearse` or :meth:`exclusive`, the
        scope's connection (its transaction, ended with the scope), unless ``own`` asks for a
        connection of its own (a query's rows stream on one, as in a run)."""
        try:
            pinned: Connection | None = None if own else self._pinned()
            if pinned is not None:
                if write and (carried := self._carried()) is not None:
                    carried.clear()  # what this writes may change a matched record
                yield pinned
                return
            with self.engine.connect() as conn:
                if write:
                    conn = conn.execution_options(sqlite_immediate=True)
                    # What the transaction changed, notified once it is committed (only).
                    written = Written() if keep and self._notifiers else None
                    conn.info[WRITTEN] = written
                    transaction = conn.begin()
                    self.freshness.begin(conn)
                    try:
                        yield conn
                    except BaseException:
                        transaction.rollback()
                        self.freshness.discarded(conn)
                        raise
                    finally:
                        conn.info.pop(WRITTEN, None)
                    if keep:
                        transaction.commit()
                        if written:
                            self._notify(written)
                        self.freshness.committed(conn)
                    else:
                        transaction.rollback()
                        self.freshness.discarded(conn)
                else:
                    yield conn
        except OperationalError as exc:
            raise RetryableTargetError(
                f"The embedded store is busy or unreachable: {_first(exc)}"
            ) from None
        except SQLAlchemyError as exc:
            raise TerminalTargetError(f"The embedded store failed: {_first(exc)}") from None

    @contextmanager
    def rehearse(self) -> Iterator[None]:
        """The scope of a plan (the :class:`~idms.targets.base.Rehearsal` capability).

        One connection is held, with one write transaction open, for the whole plan: every
        ``match``, ``read``, ``lookup_codes`` and dry-run ``apply`` of this thread goes through
        it, so each batch of the plan is planned by the same code the run uses, on the store as
        the earlier batches of the plan left it (its inserts, counters, defaults), and leaving
        the scope rolls all of it back. Nothing is ever committed.

        The lock it holds, while the plan lasts: on SQLite the store file's write lock (BEGIN
        IMMEDIATE; readers are not blocked, thanks to WAL, but another writer waits up to the
        busy timeout, then is told the store is busy); on PostgreSQL the row locks of what the
        plan updated and of the counters it drew from, which make concurrent writers of those
        rows wait. The suite database, where the plan itself is recorded, is another database
        and is not held. Not nestable across threads: the connection belongs to the thread
        that opened the scope.
        """
        if self._pinned() is not None:
            yield  # already rehearsing in this thread: one scope
            return
        with self._connect(write=True, keep=False) as conn, self._pin(conn, "rehearsal"):
            yield

    @contextmanager
    def exclusive(self, source: str) -> Iterator[None]:
        """One batch's match and apply as one step for every other writer of ``source`` (the
        :class:`~idms.targets.base.Exclusive` capability).

        One connection is held, with one write transaction open, for the scope: this thread's
        ``match`` and ``apply`` go through it, and what they wrote is committed when the scope
        ends (rolled back when it raises). Before anything is read, the transaction takes the
        lock that orders the writers of the source: on SQLite the store file's write lock
        (BEGIN IMMEDIATE: every other writer, of any source, waits up to the busy timeout;
        readers are not blocked, thanks to WAL); on PostgreSQL a transaction-level advisory
        lock on the source's name (writers of the same source wait; other sources and readers
        do not), after which each statement sees what the previous holder committed. Inside a
        rehearsal (a plan) or a scope already open in this thread, it adds nothing.
        """
        if self._pinned() is not None:
            yield
            return
        name = self.describe(source).name
        with self._connect(write=True) as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": source_lock_key(name)}
                )
            with self._pin(conn, "exclusive"):
                yield

    def _pinned(self) -> Connection | None:
        return getattr(self._local, "conn", None)

    @contextmanager
    def _pin(self, conn: Connection, scope: str) -> Iterator[None]:
        self._local.conn, self._local.scope = conn, scope
        # A batch's matched records are carried to its apply only where nothing else can write
        # in between: an exclusive or together scope on SQLite holds the store file's write
        # lock from its first statement. (On PostgreSQL the lock is the source's: a writer of
        # another source, an address under a contact, may commit meanwhile, and apply reads
        # the before-images afresh.)
        carry = scope in ("exclusive", "together") and conn.dialect.name == "sqlite"
        self._local.carried = Carried() if carry else None
        try:
            yield
        finally:
            self._local.conn = self._local.scope = self._local.carried = None

    def _carried(self) -> Carried | None:
        """The records this thread's exclusive scope has matched (``carried.py``)."""
        return getattr(self._local, "carried", None) if self._pinned() is not None else None

    def _take_matched(self, source: str) -> Mapping[tuple[Any, ...], Record]:
        """What this thread's scope matched of ``source``, by identity, for the next write's
        before-images (``carried.py``); nothing outside such a scope."""
        carried = self._carried()
        return carried.take(source) if carried is not None else {}

    def refresh(self) -> None:
        """Forget cached source definitions (after panels or preferences change)."""
        self._adapters.clear()
        self._sources = None

    # ---- sources -------------------------------------------------------------------------------

    def sources(self) -> list[SourceDef]:
        sources = self._sources  # one read: another thread may refresh() meanwhile
        if sources is None:
            with self._connect() as conn:
                sources = self._load_sources(conn)
            self._sources = sources
        return list(sources)

    def _load_sources(self, conn: Connection) -> list[SourceDef]:
        preferences = [
            (code, name, description)
            for code, name, description in conn.execute(
                select(
                    schema.communication_preferences.c.code,
                    schema.communication_preferences.c.name,
                    schema.communication_preferences.c.description,
                ).order_by(schema.communication_preferences.c.code)
            )
        ]
        self._panels: dict[str, tuple[PanelDefinition, Any]] = admin.panel_tables(conn)
        panels = [p for p, _ in self._panels.values()]
        return store_sources(self.policy.platform, preferences, panels)

    def describe(self, source: str) -> SourceDef:
        return resolve_source(source, self.sources())

    def adapter(self, source: str) -> SourceAdapter:
        sdef = self.describe(source)
        adapter = self._adapters.get(sdef.name)
        if adapter is None:
            if sdef.kind == "panel":
                _, table = self._panels[sdef.name]
                adapter = panel_adapter(sdef, table, self.policy)
            else:
                adapter = FACTORIES[sdef.name](sdef, self.policy)
            self._adapters[sdef.name] = adapter
        return adapter

    def lookup_codes(self, table: str) -> dict[str, str]:
        with self._connect() as conn:
            return load_codes(conn, table)

    # ---- the protocol --------------------------------------------------------------------------

    def match(
        self, source: str, fields: Sequence[str], criteria: Sequence[Mapping[str, Any]]
    ) -> list[list[Record]]:
        adapter = self.adapter(source)
        with self._connect() as conn:
            found = adapter.match(conn, fields, criteria)
        carried = self._carried()
        if carried is not None:
            carried.remember(adapter.source.name, found, adapter.identity_of)
        return found

    def apply(
        self, source: str, changes: Sequence[Change], options: ApplyOptions = ApplyOptions()
    ) -> list[ApplyResult]:
        adapter = self.adapter(source)
        refused = self._refused_kinds(adapter.source)
        if any(c.kind in refused for c in changes):
            return self._refused_batch(changes, refused)
        scope = getattr(self._local, "scope", None) if self._pinned() is not None else None
        if not options.dry_run and scope == "rehearsal":
            raise TerminalTargetError("A rehearsal (a plan) cannot write: apply with dry_run.")
        if options.dry_run and scope in ("exclusive", "together"):  # committed with the scope
            raise TerminalTargetError("A batch held exclusive cannot be applied as a dry run.")
        # A dry run is the same apply, in the same transaction, rolled back instead of committed
        # (or left to the rehearsal it is part of): defaults, counters, the store's constraints
        # and every rule give exactly what the run would get.
        matched = self._take_matched(adapter.source.name)  # before the write clears it
        with self._connect(write=True, keep=not options.dry_run) as conn:
            results = self._apply_on(conn, adapter, changes, options, matched)
        if adapter.source.name == "LookupTable" and not options.dry_run:
            self.refresh()
        return results

    @contextmanager
    def together(
        self, options: ApplyOptions = ApplyOptions()
    ) -> Iterator[Callable[[str, Sequence[Change]], list[ApplyResult]]]:
        """Changes to several sources in one transaction: the block gets an ``apply(source,
        changes)`` that writes on one connection, and everything it wrote is undone when the
        block raises (a contact and its addresses, all or nothing).

        The connection is this thread's for the block (as :meth:`exclusive` holds one): its
        ``match`` and ``read`` go through it, so they see what the block wrote and cost no
        connection of their own (a sandbox PUT reads the contact and its addresses before and
        after writing them). On SQLite, what the block matched is carried to its next write's
        before-images (``carried.py``), as in an exclusive scope: the block holds the write
        lock, so the store holds what it read."""
        with self._connect(write=True) as conn:
            pinned = self._pinned() is not None  # inside a rehearsal or exclusive: already so
            scope: AbstractContextManager[None] = (
                nullcontext() if pinned else self._pin(conn, "together")
            )
            with scope:

                def apply(source: str, changes: Sequence[Change]) -> list[ApplyResult]:
                    adapter = self.adapter(source)
                    refused = self._refused_kinds(adapter.source)
                    if any(c.kind in refused for c in changes):
                        return self._refused_batch(changes, refused)
                    matched = self._take_matched(adapter.source.name)
                    return self._apply_on(conn, adapter, changes, options, matched)

                yield apply

    @staticmethod
    def _refused_batch(
        changes: Sequence[Change], refused: Mapping[str, RowError]
    ) -> list[ApplyResult]:
        return [
            ApplyResult(c.ref, False, error=refused[c.kind])
            if c.kind in refused
            else ApplyResult(
                c.ref,
                False,
                error=RowError(
                    "batch_refused", "Not written: another change in its batch was refused."
                ),
            )
            for c in changes
        ]

    def _apply_on(
        self,
        conn: Connection,
        adapter: SourceAdapter,
        changes: Sequence[Change],
        options: ApplyOptions,
        matched: Mapping[tuple[Any, ...], Record] | None = None,
    ) -> list[ApplyResult]:
        now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
        ctx = ApplyContext(
            conn=conn,
            options=options,
            policy=self.policy,
            lookups=LookupCache(conn),
            now=now,
            today=now.date(),
            matched=matched or {},
        )
        results = adapter.apply(ctx, changes)
        if options.dry_run:
            return results
        written: Written | None = conn.info.get(WRITTEN)
        if written is not None:
            written.add(adapter.source, results)
        if options.forget_key is not None:
            conn.execute(
                delete(schema.applied_batches).where(
                    schema.applied_batches.c.batch_key == options.forget_key
                )
            )
        if options.batch_key is not None:
            kept = options.journal(results) if options.journal else journal_text(results)
            conn.execute(
                insert(schema.applied_batches).values(
                    batch_key=options.batch_key, results=kept, created_on=now
                )
            )
        return results

    def _notify(self, written: Written) -> None:
        events = written.events()
        for notifier in list(self._notifiers):
            notifier.send(events)

    def _refused_kinds(self, source: SourceDef) -> dict[str, RowError]:
        """The source's rule (``idms.sources.rules``), as every target applies it."""
        return {
            kind: RowError(r.code, r.message, r.field)
            for kind, r in refused_changes(source, self.policy.platform).items()
        }

    def applied_batch(self, key: str) -> list[ApplyResult] | None:
        text = self.journaled(key)
        return None if text is None else journal_results(text)

    def journaled(self, key: str) -> str | None:
        with self._connect() as conn:
            text = conn.execute(
                select(schema.applied_batches.c.results).where(
                    schema.applied_batches.c.batch_key == key
                )
            ).scalar()
        return None if text is None else str(text)

    def forget_batch(self, key: str) -> None:
        with self._connect(write=True) as conn:
            conn.execute(
                delete(schema.applied_batches).where(schema.applied_batches.c.batch_key == key)
            )

    def read(
        self,
        source: str,
        filters: Sequence[Filter] = (),
        *,
        order_by: Sequence[str] = (),
        limit: int | None = None,
    ) -> Iterator[Record]:
        check_window(limit=limit)
        adapter = self.adapter(source)
        with self._connect() as conn:
            yield from adapter.read(conn, filters, order_by, limit)

    def query(
        self,
        query: CompiledQuery,
        params: Mapping[str, Any] | None = None,
        *,
        offset: int = 0,
        limit: int | None = None,
    ) -> QueryResult:
        check_window(offset, limit)
        if query.source is None:
            raise InvalidInputError(
                f"'{query.name}' is an IQA of iMIS ({query.iqa_path}): it runs only on an iMIS "
                "target (imis+https://…). On the embedded store, save it with 'from' and "
                "'columns'."
            )
        bound = query.bind(params or {})
        stmt = build_query(query, bound, self.adapter)
        convert = converters(query)

        def count() -> int:
            with self._connect(own=True) as conn:
                return int(conn.execute(count_statement(stmt, query)).scalar_one())

        windowed = window(stmt, query, offset, limit)
        if self.engine.dialect.name == "sqlite":
            # pysqlite buffers nothing ahead: rows come straight off the DBAPI cursor, and only
            # the columns that need it are converted (dates, Yes/No...), a chunk at a time.
            convert = stored_value_processors(windowed, self.engine.dialect) + convert
            chunks = self._stream_raw(windowed)
        else:
            chunks = self._stream(windowed)
        rows = typed_rows(chunks, convert)
        return QueryResult(query.aliases, rows, count=count, closer=chunks.close, snapshot=True)

    def _stream(self, stmt: Select[Any]) -> Generator[Sequence[Sequence[Any]], None, None]:
        """The rows of ``stmt`` in chunks, fetched on a connection held while they are read
        (a server-side cursor where the database has them)."""
        with self._connect(own=True) as conn:
            try:
                result = conn.execution_options(yield_per=STREAM_CHUNK).execute(stmt)
                yield from result.partitions()
            except OperationalError as exc:
                raise RetryableTargetError(
                    f"The embedded store is busy or unreachable: {_first(exc)}"
                ) from None

    def _stream_raw(self, stmt: Select[Any]) -> Generator[Sequence[Sequence[Any]], None, None]:
        """:meth:`_stream` on SQLite, without SQLAlchemy's row objects and result processing:
        SQLAlchemy executes ``stmt`` (so its parameters are bound as usual), then the chunks
        are read from the DBAPI cursor itself, as stored (see :func:`stored_value_processors`).
        """
        with self._connect(own=True) as conn:
            try:
                result = conn.execute(stmt)
                try:
                    cursor = result.cursor
                    while chunk := cursor.fetchmany(STREAM_CHUNK):
                        yield chunk
                finally:
                    result.close()
            except (OperationalError, sqlite3.OperationalError) as exc:
                raise RetryableTargetError(
                    f"The embedded store is busy or unreachable: {_first(exc)}"
                ) from None

    def close(self) -> None:
        self.freshness.settle()  # an analysis under way finishes on its connection first
        self.engine.dispose()

    # ---- beyond the protocol: what the store itself offers -------------------------------------

    def attempt_login(self, username: str, password: str) -> LoginResult:
        """A login as iMIS checks it: failed attempts count, and lock the account at the limit."""
        with self._connect(write=True) as conn:
            return attempt_login(
                conn, username, password, lockout_threshold=self.policy.lockout_threshold
            )

    def create_panel(self, text: str) -> PanelDefinition:
        try:
            panel = admin.create_panel(self.engine, text)
        except SQLAlchemyError as exc:
            raise TerminalTargetError(f"The panel could not be created: {_first(exc)}") from None
        self.refresh()
        return panel


def _first(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def source_lock_key(source: str) -> int:
    """The PostgreSQL advisory lock that orders the writers of ``source`` in a store: a signed
    64-bit number from the name (stable across processes and versions, unlike ``hash``)."""
    digest = hashlib.blake2b(f"idms.source:{source}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)
