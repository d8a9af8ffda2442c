"""Matching a run's next batch while its current batch is written (a :class:`MatchAhead` target).

Over REST a batch's match is a few GETs (``in:`` lists, matching.py) that wait on the network
and on iMIS's work, and a batch's writes end with a tail of lanes finishing one by one. Run one
after the other, the calls in flight drop at every batch boundary: the writes drain, then the
next match runs with most slots idle. So once a batch is decided, the engine starts the match of
the next batch's first segment on a thread of its own, and writes the batch meanwhile; the
match's GETs and the writes share the client's slots, which stay full.

What it must not change is what the rows find. The run holds its source's turn
(:mod:`idms.runs.serial`): no other run writes the source meanwhile, only the run's own batch,
so a row of the next batch may find something else only where the batch being written touches
its key. Those rows are left out of the match ahead and matched again when their batch is
decided, as every row was before: a row whose match key is a key of the batch being written (an
insert, an update or a delete of what that key finds), and a row whose key is that of a record
the batch wrote (before or after the write, as the target answered it). What the match ahead
found for the other rows is what a match made after the writes finds. Only the next batch's
first segment is matched ahead: a later segment repeats a key of an earlier one, whose writes
it must see. The run's first batch has no batch before it: its first segment is cut after an
eighth of its rows (``BatchEngine._head``), and the rest is matched while the head is written,
by the same rule. A plan never matches ahead (it writes nothing, and its rehearsal is the
thread's).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Collection, Mapping, Sequence
from concurrent.futures import Future
from typing import Any, cast

from idms.io.records import InputRow
from idms.jobs.decide import match_criterion, match_key
from idms.jobs.rows import WorkRow
from idms.targets.base import ApplyResult, MatchAhead, Record, Target
from idms.values.folding import fold_value

__all__ = ["AheadMatch", "record_key"]

Criterion = tuple[Any, ...]


def record_key(record: Mapping[str, Any], fields: Sequence[str]) -> tuple[Any, ...]:
    """A record's match key, as :func:`~idms.jobs.decide.match_key` keys a row with its values."""
    return tuple([fold_value(record.get(f)) for f in fields])


class AheadMatch:
    """The match of one upcoming batch's first segment, started on a thread of its own.

    ``batch`` is the batch it was started for, ``rows`` that batch mapped (the engine takes
    them instead of mapping it again), ``first`` its first segment and ``busy`` the match keys of
    the batch being written (left out).
    """

    def __init__(
        self,
        target: MatchAhead,
        source: str,
        fields: Sequence[str],
        batch: Sequence[InputRow],
        rows: list[WorkRow],
        first: Sequence[WorkRow],
        busy: Collection[tuple[Any, ...]],
        *,
        skip_blank: bool,
    ) -> None:
        self.batch = batch
        self.rows = rows
        self.source = source
        self.fields = list(fields)
        self._stale: set[tuple[Any, ...]] = set()
        self._keys: list[tuple[Criterion, tuple[Any, ...]]] = []
        criteria: list[dict[str, Any]] = []
        for row in first:
            if row.decided:
                continue
            key = match_key(row, self.fields)
            criterion = match_criterion(row, self.fields)
            exact = _exact(criterion, self.fields)
            if key in busy or exact is None:
                continue
            if skip_blank and any(v in (None, "") for v in criterion.values()):
                continue  # skipped, never matched
            criteria.append(criterion)
            self._keys.append((exact, key))
        self._future: Future[list[list[Record]]] = Future()
        if not criteria:
            self._future.set_result([])
            return
        thread = threading.Thread(
            target=self._run, args=(target, criteria), name="match-ahead", daemon=True
        )
        thread.start()

    def _run(self, target: MatchAhead, criteria: list[dict[str, Any]]) -> None:
        try:
            self._future.set_result(target.match_ahead(self.source, self.fields, criteria))
        except BaseException as exc:  # handed to whoever waits for the match
            self._future.set_exception(exc)

    def wrote(self, results: Sequence[ApplyResult]) -> None:
        """The batch being written wrote these: a row keyed as a record they wrote (before or
        after) is matched again."""
        for result in results:
            for record in (result.before, result.after):
                if record:
                    self._stale.add(record_key(record, self.fields))

    def wait(self) -> None:
        """Let the match end (its reads are done when the run moves on)."""
        with contextlib.suppress(Exception):  # a failed match ahead is made again, or not needed
            self._future.result()

    def found(self) -> dict[Criterion, list[Record]]:
        """What the match found, by criterion, for the rows no write of the batch before
        touched; nothing when it failed (those rows are matched again, and fail as they may)."""
        try:
            results = self._future.result()
        except Exception:  # matched again by the batch, as without it
            return {}
        stale = self._stale
        return {
            exact: records
            for (exact, key), records in zip(self._keys, results, strict=True)
            if key not in stale
        }

    def target(self, target: Target) -> Target:
        """``target``, whose ``match`` of the source answers from this match where it may."""
        return cast(Target, _Matched(target, self.source, self.fields, self.found()))


class _Matched:
    """A target whose ``match`` takes what was matched ahead and asks the target for the rest."""

    def __init__(
        self,
        target: Target,
        source: str,
        fields: list[str],
        found: dict[Criterion, list[Record]],
    ) -> None:
        self._target = target
        self._source = source
        self._fields = fields
        self._found = found

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target, name)

    def match(
        self, source: str, fields: Sequence[str], criteria: Sequence[Mapping[str, Any]]
    ) -> list[list[Record]]:
        if source != self._source or list(fields) != self._fields or not self._found:
            return self._target.match(source, fields, criteria)
        out: list[list[Record] | None] = []
        rest: list[Mapping[str, Any]] = []
        for criterion in criteria:
            exact = _exact(criterion, self._fields)
            hit = self._found.get(exact) if exact is not None else None
            out.append(None if hit is None else list(hit))
            if hit is None:
                rest.append(criterion)
        fetched = iter(self._target.match(source, fields, rest) if rest else [])
        return [found if found is not None else next(fetched) for found in out]


def _exact(criterion: Mapping[str, Any], fields: Sequence[str]) -> Criterion | None:
    """The criterion's values, with their types, as a key (None when one cannot be a key)."""
    values = tuple((type(v), v) for v in (criterion.get(f) for f in fields))
    try:
        hash(values)
    except TypeError:
        return None
    return values
