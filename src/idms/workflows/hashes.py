"""Delta hashing's memory in the suite database (table ``workflow_hashes``): for one owner (a
workflow, by its ID) and one of its steps, each row's key and the hash of the row last passed
on, with when it was stored.

Two readers. Delta Hashing itself (:class:`HashTable`, the
:class:`~idms.workflows.actions.base.HashStore` of one step) asks for a million keys in a run,
so its look-ups and writes are raw SQL sent to the driver a chunk of :data:`HASH_CHUNK` keys at a
time, the same text on SQLite and PostgreSQL. And a person looking at what is kept (iDMS's "View
Hashing Info": ``idms workflow hashes``, ``GET /api/v1/workflows/{name}/hashes``), who wants the
count, a page of keys, one key, or to forget one key or all of them so their rows are passed on
again: :func:`hashing_info`, :func:`delete_hash` and :func:`clear_hashes`, which take the owner's
ID rather than a workflow, so anything else that hashes under an ID of its own can use them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, cast

from sqlalchemy import Table, delete, func, select
from sqlalchemy.engine import CursorResult, Engine

from idms.errors import InvalidInputError, NotFound, printable, suggest
from idms.paging import check_window
from idms.state.models import WorkflowHash, utcnow

if TYPE_CHECKING:
    from idms.workflows.model import WorkflowDoc

# Keys read or written per statement: well under SQLite's 32,766 bound parameters and
# PostgreSQL's 65,535, with room for the owner and step IDs.
HASH_CHUNK = 5000
MAX_LIMIT = 10_000  # keys listed at most per page (a store may hold millions)
TABLE = cast("Table", WorkflowHash.__table__)
HashKind = Literal["workflow", "transfer"]


@dataclass(frozen=True)
class HashEntry:
    """One key kept by one step: the hash of its row when it was last passed on."""

    step: str
    key: str
    hash: str
    updated_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "key": self.key,
            "hash": self.hash,
            "updated_at": self.updated_at.isoformat(),
        }


@dataclass(frozen=True)
class StepHashes:
    """How many keys one step keeps, and when one was last stored."""

    step: str
    count: int
    updated_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        when = self.updated_at.isoformat() if self.updated_at is not None else None
        return {"step": self.step, "count": self.count, "updated_at": when}


@dataclass
class HashingInfo:
    """What an owner's steps keep: every step's count, and a page of keys (or one key's
    entries, one per step that keeps it)."""

    owner: str  # what the messages call it: "workflow 'Nightly'"
    steps: list[StepHashes]
    count: int  # keys kept, in ``step`` or in all the steps
    keys: list[HashEntry]
    step: str | None = None
    key: str | None = None
    limit: int = 0
    offset: int = 0
    more: bool = field(default=False)  # keys past this page

    def as_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "key": self.key,
            "count": self.count,
            "steps": [s.as_dict() for s in self.steps],
            "keys": [k.as_dict() for k in self.keys],
            "limit": self.limit,
            "offset": self.offset,
            "more": self.more,
        }


@dataclass(frozen=True)
class HashOwner:
    """Whose hashes a person is looking at: a workflow, or a transfer (which hashes under its
    own ID, in its one Delta Hashing step). ``kind`` and ``name`` say it in messages and
    commands; ``steps`` are its steps that hash, to tell a misspelt step from one that keeps
    nothing yet."""

    kind: HashKind
    name: str
    id: str
    steps: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.kind} '{self.name}'"

    def again(self, rows: str) -> str:
        """What its next run does with ``rows`` it does not know ("that row", "every row"):
        a transfer sends them, a workflow's Delta Hashing passes them on."""
        return f"sends {rows}" if self.kind == "transfer" else f"passes {rows} on"


class HashTable:
    """:class:`~idms.workflows.actions.base.HashStore` over the suite's ``workflow_hashes``
    table: one owner's step's keys and the hash of the row each last passed on, read and
    written in chunks (a million keys is a few hundred statements, never one per key)."""

    def __init__(self, engine: Engine, owner_id: str, step_id: str) -> None:
        self.engine = engine
        self.owner_id = owner_id
        self.step_id = step_id

    def _mine(self) -> Any:
        return (TABLE.c.workflow_id == self.owner_id) & (TABLE.c.step_id == self.step_id)

    def _sql_parts(self) -> tuple[str, str]:
        """The driver's placeholder and the quoted ``key`` column (a reserved word)."""
        dialect = self.engine.dialect
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        return mark, dialect.identifier_preparer.quote("key")

    def get_many(self, keys: Sequence[str]) -> dict[str, str]:
        """The stored hash of each of ``keys`` that has one. A statement of its own per chunk,
        sent as the driver takes it: this is delta hashing's inner loop (a million keys), where
        building each statement anew would cost more than the database's work."""
        found: dict[str, str] = {}
        mark, key = self._sql_parts()
        # Only the table's name and placeholders are written in: every value is a parameter.
        head = (
            f"SELECT {key}, hash FROM {TABLE.name} "  # nosec B608
            f"WHERE workflow_id = {mark} AND step_id = {mark} AND {key} IN "
        )
        statements: dict[int, str] = {}
        with self.engine.connect() as conn:
            cursor = conn.connection.cursor()  # plain tuples: no row objects to build
            try:
                for chunk in chunks(keys):
                    sql = statements.get(len(chunk))
                    if sql is None:
                        marks = ", ".join([mark] * len(chunk))
                        sql = statements[len(chunk)] = f"{head}({marks})"
                    cursor.execute(sql, (self.owner_id, self.step_id, *chunk))
                    found.update(cursor.fetchall())
            finally:
                cursor.close()
        return found

    def put_many(self, hashes: Mapping[str, str]) -> None:
        """Set each key's hash (added or replaced), all in one transaction: an upsert sent to
        the driver a chunk at a time (a million keys in seconds, not minutes)."""
        if not hashes:
            return
        with self.engine.begin() as conn:
            self._upsert(conn, hashes)

    def put_chunks(self, batches: Iterable[Mapping[str, str | None]]) -> int:
        """Apply each batch (key -> new hash, or None: forget the key) in one transaction for
        them all; how many keys were set or forgotten. The batches are read as they come (a
        pending file, streamed), never all held at once."""
        done = 0
        with self.engine.begin() as conn:
            for batch in batches:
                put = {k: v for k, v in batch.items() if v is not None}
                gone = [k for k, v in batch.items() if v is None]
                self._upsert(conn, put)
                for chunk in chunks(gone):
                    conn.execute(delete(TABLE).where(self._mine(), TABLE.c.key.in_(chunk)))
                done += len(batch)
        return done

    def _upsert(self, conn: Any, hashes: Mapping[str, str]) -> None:
        if not hashes:
            return
        dialect = self.engine.dialect
        # The time as the column's type stores it (SQLite: text), done once for every row.
        process = TABLE.c.updated_at.type.bind_processor(dialect)
        now = process(utcnow()) if process is not None else utcnow()
        mark, key = self._sql_parts()
        # Only the table's name and placeholders are written in: every value is a parameter.
        sql = (
            f"INSERT INTO {TABLE.name} "  # nosec B608
            f"(workflow_id, step_id, {key}, hash, updated_at) "
            f"VALUES ({mark}, {mark}, {mark}, {mark}, {mark}) "
            f"ON CONFLICT (workflow_id, step_id, {key}) "
            "DO UPDATE SET hash = excluded.hash, updated_at = excluded.updated_at"
        )
        owner, step = self.owner_id, self.step_id
        for chunk in chunks(list(hashes)):
            conn.exec_driver_sql(sql, [(owner, step, k, hashes[k], now) for k in chunk])

    def get(self, key: str) -> HashEntry | None:
        """The one key's entry (hash and when it was stored), or None."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(TABLE.c.hash, TABLE.c.updated_at).where(self._mine(), TABLE.c.key == key)
            ).first()
        return None if row is None else HashEntry(self.step_id, key, row[0], row[1])

    def delete(self, key: str) -> bool:
        with self.engine.begin() as conn:
            result = conn.execute(delete(TABLE).where(self._mine(), TABLE.c.key == key))
            return cast("CursorResult[Any]", result).rowcount > 0

    def delete_many(self, keys: Sequence[str]) -> int:
        """Forget these keys (in chunks, one transaction); how many there were."""
        count = 0
        with self.engine.begin() as conn:
            for chunk in chunks(keys):
                result = conn.execute(delete(TABLE).where(self._mine(), TABLE.c.key.in_(chunk)))
                count += cast("CursorResult[Any]", result).rowcount
        return count

    def clear(self) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(delete(TABLE).where(self._mine()))
            return cast("CursorResult[Any]", result).rowcount

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.scalar(select(func.count()).where(self._mine())) or 0)

    def keys(self) -> list[str]:
        return list(self.iter_keys())

    def iter_keys(self) -> Iterator[str]:
        """Every key, in order, read a chunk at a time (by the last key seen, which the
        primary key's index answers at once however far in)."""
        after: str | None = None
        while True:
            stmt = select(TABLE.c.key).where(self._mine())
            if after is not None:
                stmt = stmt.where(TABLE.c.key > after)
            with self.engine.connect() as conn:
                page = list(conn.scalars(stmt.order_by(TABLE.c.key).limit(HASH_CHUNK)))
            yield from page
            if len(page) < HASH_CHUNK:
                return
            after = page[-1]

    def items(self, *, limit: int, offset: int = 0) -> list[HashEntry]:
        """A page of entries, in key order."""
        stmt = (
            select(TABLE.c.key, TABLE.c.hash, TABLE.c.updated_at)
            .where(self._mine())
            .order_by(TABLE.c.key)
            .limit(limit)
            .offset(offset)
        )
        with self.engine.connect() as conn:
            return [HashEntry(self.step_id, k, h, t) for k, h, t in conn.execute(stmt)]


def chunks(keys: Iterable[str]) -> Iterator[list[str]]:
    """``keys`` a chunk of at most :data:`HASH_CHUNK` at a time."""
    if isinstance(keys, list) and len(keys) <= HASH_CHUNK:
        if keys:
            yield keys  # one chunk already (delta hashing asks a chunk at a time)
        return
    chunk: list[str] = []
    for key in keys:
        chunk.append(key)
        if len(chunk) == HASH_CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# ---- what a person asks of an owner's hashes ---------------------------------------------------


def step_counts(engine: Engine, owner_id: str) -> list[StepHashes]:
    """Every step of ``owner_id`` that keeps keys: how many, and when one was last stored."""
    stmt = (
        select(TABLE.c.step_id, func.count(), func.max(TABLE.c.updated_at))
        .where(TABLE.c.workflow_id == owner_id)
        .group_by(TABLE.c.step_id)
        .order_by(TABLE.c.step_id)
    )
    with engine.connect() as conn:
        rows = list(conn.execute(stmt))
    return [StepHashes(step, int(n), when) for step, n, when in rows]  # MAX keeps the type


def hashing_info(
    engine: Engine,
    owner: HashOwner,
    *,
    step: str | None = None,
    key: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> HashingInfo:
    """What ``owner``'s steps keep. With ``key``: that key's entry in each step that keeps it
    (NotFound when none does); otherwise the count and a page of keys (``limit`` from
    ``offset``), in ``step`` or in every step."""
    check_window(offset=offset, limit=limit)
    if limit > MAX_LIMIT:
        raise InvalidInputError(f"The limit must be at most {MAX_LIMIT:,} keys per page.")
    steps = step_counts(engine, owner.id)
    _check_step(step, steps, owner)
    chosen = [s for s in steps if step is None or s.step == step]
    count = sum(s.count for s in chosen)
    info = HashingInfo(
        owner.label, steps, count, [], step=step, key=key, limit=limit, offset=offset
    )
    if key is not None:
        info.keys = [
            entry
            for s in chosen
            if (entry := HashTable(engine, owner.id, s.step).get(key)) is not None
        ]
        if not info.keys:
            raise NotFound(_no_key(key, step, owner))
        return info
    skip, room = offset, limit
    for s in chosen:  # steps in order, each one's keys in order: one listing
        if room == 0:
            break
        if skip >= s.count:
            skip -= s.count
            continue
        page = HashTable(engine, owner.id, s.step).items(limit=room, offset=skip)
        info.keys.extend(page)
        room -= len(page)
        skip = 0
    info.more = offset + len(info.keys) < count
    return info


def delete_hash(engine: Engine, owner: HashOwner, key: str, *, step: str | None = None) -> int:
    """Forget ``key`` in ``step`` (or in every step that keeps it): its row is passed on
    again by the next run. How many entries went; NotFound when no step kept it."""
    steps = step_counts(engine, owner.id)
    _check_step(step, steps, owner)
    done = sum(
        HashTable(engine, owner.id, s.step).delete(key)
        for s in steps
        if step is None or s.step == step
    )
    if not done:
        raise NotFound(_no_key(key, step, owner))
    return done


def clear_hashes(engine: Engine, owner: HashOwner, *, step: str | None = None) -> int:
    """Forget every key of ``step`` (or of every step): the next run passes every row on, as
    its first did. How many keys went (0 when nothing was kept)."""
    steps = step_counts(engine, owner.id)
    _check_step(step, steps, owner)
    where = TABLE.c.workflow_id == owner.id
    if step is not None:
        where = where & (TABLE.c.step_id == step)
    with engine.begin() as conn:
        result = conn.execute(delete(TABLE).where(where))
        return cast("CursorResult[Any]", result).rowcount


def hashing_steps(doc: WorkflowDoc) -> list[str]:
    """The IDs of a workflow's steps that hash (Delta Hashing)."""
    return [step.id for step in doc.steps if step.action == "delta_hashing"]


def _check_step(step: str | None, steps: Sequence[StepHashes], owner: HashOwner) -> None:
    """NotFound for a step that neither hashes nor keeps any key."""
    if step is None:
        return
    names = list(dict.fromkeys([*owner.steps, *(s.step for s in steps)]))
    if step in names:
        return
    close = suggest(step, names)
    hint = f" Did you mean '{close}'?" if close else ""
    listed = ", ".join(f"'{n}'" for n in names) or "none"
    raise NotFound(
        f"The {owner.label} has no step {printable(step)!r} that keeps hashes (its steps that "
        f"do: {listed}).{hint}"
    )


def _no_key(key: str, step: str | None, owner: HashOwner) -> str:
    where = f"step '{step}' of the {owner.label}" if step is not None else f"the {owner.label}"
    return (
        f"No hash is kept for key {printable(key)!r} in {where}: its row is new to Delta "
        f"Hashing, and the next run {owner.again('it')}."
    )
