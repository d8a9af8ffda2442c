"""One batch of a run: map -> decide -> plan or apply -> record.

:class:`BatchEngine` holds a run's state between batches (counts, write order, what a plan has
already decided) and carries each batch through the steps every run shares; the loop that feeds
it batches, and starts, resumes and finishes runs, is :mod:`idms.jobs.runner`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import replace
from functools import partial
from typing import Any

from idms.gcpause import gc_paused
from idms.io.records import InputRow
from idms.jobs.ahead import AheadMatch
from idms.jobs.compile import CompiledJob
from idms.jobs.decide import decide_batch, match_key
from idms.jobs.durable import JOURNALED, StagedBatch, reconcile, results_in_order
from idms.jobs.mapping import NOT_GIVEN, MappingError
from idms.jobs.rows import MASK, WorkRow
from idms.runs.durable import Durable
from idms.runs.record import RunStore
from idms.runs.rows import RowValues, recorded, rows_from_text, rows_text
from idms.runs.status import Counts, Outcome
from idms.sources.model import Action
from idms.targets.base import (
    ApplyOptions,
    ApplyResult,
    BatchJournal,
    Change,
    ChangeKind,
    Exclusive,
    MatchAhead,
    Record,
    Rehearsal,
    Target,
    capability,
)

# A first segment of this many rows or more is cut, its head written while the rest is matched.
HEAD_CUT_FROM = 64
KIND = {"insert": ChangeKind.INSERT, "update": ChangeKind.UPDATE, "delete": ChangeKind.DELETE}
DONE = {"insert": Outcome.INSERTED, "update": Outcome.UPDATED, "delete": Outcome.DELETED}


class BatchEngine:
    """The per-run state: counts, write order, and what a plan has already decided."""

    def __init__(
        self,
        cjob: CompiledJob,
        target: Target,
        runs: RunStore,
        run_id: str,
        plan: bool,
        *,
        durable: Durable | None = None,
        counts: Counts | None = None,
        seq: int = 0,
    ):
        self.cjob = cjob
        self.target = target
        self.runs = runs
        self.run_id = run_id
        self.plan = plan
        self.durable = durable
        self.counts = counts or Counts()
        self.seq = seq
        self._in_flight: str | None = None  # the batch key of a segment sent, not yet recorded
        self._recorded: str | None = None  # a batch key recorded, whose results can go
        # A segment's row results as its batch journal keeps them (made while it was applied).
        self._journaled: list[RowValues] | None = None
        # A target with a journal writes a batch in one local transaction, bound by the CPU and
        # the cycle collector. Over REST a batch is bound by the network, but a full pass of the
        # collector holds every thread, and the calls waiting to be sent, for as long as it
        # scans what the batch holds (the objects its match read): measured, 80 to 100 ms, once
        # or twice a batch of 1,000 rows. It is paused there too.
        self._journal = capability(target, BatchJournal) is not None
        self._pause_gc = self._journal or capability(target, Exclusive) is None
        # A run that writes holds each batch, from its match through its apply, exclusive of
        # every other writer of the source (a target without the capability is serialised a
        # whole run at a time: see runs/serial.py). A plan writes nothing and needs no lock.
        self._exclusive = None if plan else capability(target, Exclusive)
        self.pending: dict[tuple[Any, ...], Record] | None = {} if plan else None
        # A run on a target without Exclusive (REST: it holds the source's turn instead) matches
        # its next batch while it writes the current one (jobs/ahead.py), when its rows are
        # matched on the source alone. A plan never does.
        self._matches_ahead: MatchAhead | None = None
        if (
            not plan
            and self._exclusive is None
            and cjob.match_fields
            and not cjob.contact_mappings
            and cjob.action in (Action.UPDATE, Action.INSERT_UPDATE, Action.DELETE)
        ):
            self._matches_ahead = capability(target, MatchAhead)
        self._ahead: AheadMatch | None = None  # the next batch's match, started
        self._hearing: AheadMatch | None = None  # the match ahead of what is being written
        self.stopped = False
        self.options = ApplyOptions(skip_validation=cjob.job.options.skip_validation, dry_run=plan)
        self.column_of = {m.field.name: m.column for m in cjob.mappings + cjob.contact_mappings}
        self.secret_columns = cjob.secret_columns
        self.writable = {f.name for f in cjob.source.fields if not f.read_only}
        self._identity_names = frozenset(cjob.source.identity)
        limit = cjob.job.options.stop_after_errors
        self.error_limit = limit
        # Asked before each row is mapped; raises Interrupted when the run should stop there
        # (before anything of its batch is written: the batch is done again on resume).
        self.stop_check: Callable[[], None] | None = None

    def process(
        self, batch: Sequence[InputRow], upcoming: Sequence[InputRow] | None = None
    ) -> None:
        """Carry ``batch`` through; ``upcoming``, the batch after it if any, may be matched
        while this one is written (jobs/ahead.py)."""
        with gc_paused() if self._pause_gc else nullcontext():
            self._process(batch, upcoming)

    def _process(self, batch: Sequence[InputRow], upcoming: Sequence[InputRow] | None) -> None:
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead.batch is not batch:
            ahead.wait()
            ahead = None
        if self.stopped:
            if ahead is not None:
                ahead.wait()
            self._record(self._not_processed([WorkRow(r.number, r.values) for r in batch]))
            return
        stop_check = self.stop_check
        rows = []
        mapped = ahead.rows if ahead is not None else None
        for index, r in enumerate(batch):
            if stop_check is not None:
                stop_check()
            rows.append(mapped[index] if mapped is not None else self._map(r))
        segments = list(self._segments(rows))
        head = self._head(segments, ahead)
        inner: AheadMatch | None = None  # the match ahead of the rest of the first segment
        for number, segment in enumerate(segments):
            if self.stopped:
                self._record(self._not_processed(segment))
                continue
            target = self.target
            if number == 0 and ahead is not None:
                target = ahead.target(target)
            elif inner is not None:
                target, inner = inner.target(target), None
            with self._held():
                decide_batch(self.cjob, target, segment, pending=self.pending)
                for row in segment:
                    if row.outcome is Outcome.UNCHANGED and row.matches:
                        row.identity = _one_or_many([self._identity(r) for r in row.matches])
                if number == head:
                    inner = self._match_rest_ahead(segment, segments[number + 1])
                    self._hearing = inner
                elif upcoming and number == len(segments) - 1:
                    self._ahead = self._hearing = self._match_ahead(rows, upcoming)
                try:
                    self._apply(segment)
                finally:
                    self._hearing = None
            self._record(segment)  # once the batch is committed
            # (the head cut off a segment is no segment of its own for the error limit)
            if number != head and self.error_limit and self.counts.errors >= self.error_limit:
                self.stopped = True

    def _head(self, segments: list[list[WorkRow]], ahead: AheadMatch | None) -> int | None:
        """Where a batch none matched ahead (the run's first) may cut its first segment, so
        that the rest of it is matched while its head is written: the head's index, or None.
        The head is an eighth of the segment, written while the rest is matched; the cut
        changes nothing a row finds (the rest's rows keyed as the head's are matched again)."""
        if self._matches_ahead is None or ahead is not None or not segments:
            return None
        first = segments[0]
        if len(first) < HEAD_CUT_FROM:
            return None
        cut = len(first) // 8
        segments[0:1] = [first[:cut], first[cut:]]
        return 0

    def _match_rest_ahead(self, head: list[WorkRow], rest: list[WorkRow]) -> AheadMatch | None:
        """The match of ``rest`` (the first segment without its ``head``), started now."""
        if self._matches_ahead is None:
            return None
        fields = self.cjob.match_fields
        return AheadMatch(
            self._matches_ahead,
            self.cjob.source.name,
            fields,
            (),
            rest,
            rest,
            {match_key(row, fields) for row in head},
            skip_blank=self.cjob.job.options.skip_blank_match_on,
        )

    def _match_ahead(self, rows: list[WorkRow], upcoming: Sequence[InputRow]) -> AheadMatch | None:
        """The match of ``upcoming``'s first segment, started now, leaving out the rows keyed
        as rows of this batch (``rows``), whose writes they must see."""
        matches_ahead = self._matches_ahead
        if matches_ahead is None:
            return None
        fields = self.cjob.match_fields
        mapped = [self._map(r) for r in upcoming]
        first = next(self._segments(mapped), [])
        busy = {match_key(row, fields) for row in rows}
        return AheadMatch(
            matches_ahead,
            self.cjob.source.name,
            fields,
            upcoming,
            mapped,
            first,
            busy,
            skip_blank=self.cjob.job.options.skip_blank_match_on,
        )

    def _held(self) -> AbstractContextManager[None]:
        """The scope in which a batch is matched, decided and written: exclusive of every other
        writer of the source on a target that can (:class:`Exclusive`), so that no other run
        inserts a key between this batch's match and its write."""
        exclusive = self._exclusive
        return exclusive.exclusive(self.cjob.source.name) if exclusive else nullcontext()

    def _not_processed(self, rows: list[WorkRow]) -> list[WorkRow]:
        """Rows after the error limit: each still gets an outcome, none is written."""
        for row in rows:
            row.outcome = None
            row.skip("not_processed", self._stop_message())
        return rows

    def _stop_message(self) -> str:
        return (
            f"Not processed: the run stopped after {self.error_limit} errors (stop_after_errors)."
        )

    # ---- mapping -------------------------------------------------------------------------------

    def _map(self, source_row: InputRow) -> WorkRow:
        row = WorkRow(source_row.number, source_row.values)
        if source_row.problem:
            row.fail("malformed_row", source_row.problem)
            return row
        append = set()
        for m in self.cjob.mappings:
            try:
                value = m.extract(source_row.values)
            except MappingError as exc:
                row.fail(exc.code, exc.message, exc.field, exc.column)
                return row
            if value is NOT_GIVEN:
                if m.match:
                    row.values[m.field.name] = NOT_GIVEN
                continue
            row.values[m.field.name] = value
            if m.append:
                append.add(m.field.name)
        for m in self.cjob.contact_mappings:
            try:
                value = m.extract(source_row.values)
            except MappingError as exc:
                row.fail(exc.code, exc.message, exc.field, exc.column)
                return row
            row.contact_values[m.field.name] = None if value is NOT_GIVEN else value
        row.append = frozenset(append)
        return row

    def _segments(self, rows: list[WorkRow]) -> Iterator[list[WorkRow]]:
        """Cut where a match key repeats, so a later row sees what an earlier one wrote."""
        fields = self.cjob.match_fields
        matching = self.cjob.action not in (Action.INSERT,) and fields
        if not matching:
            yield rows
            return
        segment: list[WorkRow] = []
        seen: set[tuple[Any, ...]] = set()
        for row in rows:
            key = match_key(row, fields) if not row.decided else None
            if key is not None and key in seen:
                yield segment
                segment, seen = [], set()
            segment.append(row)
            if key is not None:
                seen.add(key)
        if segment:
            yield segment

    # ---- plan and apply ------------------------------------------------------------------------

    def _values_for(self, row: WorkRow, kind: str) -> dict[str, Any]:
        # Read-only match keys (SEQN, Ordinal) address the record; they are not written.
        writable = self.writable
        return {k: v for k, v in row.values.items() if v is not NOT_GIVEN and k in writable}

    def _identity(self, record: Record) -> dict[str, Any]:
        return {k: record.get(k) for k in self.cjob.source.identity}

    def _apply(self, rows: list[WorkRow]) -> None:
        """Send the decided rows to the target; a plan sends them the same way, as a dry run:
        the target judges each change as it would apply it and keeps nothing."""
        staged = self.staged_batch(rows)
        if not staged.changes:
            return
        options = self.options
        journaled: list[list[RowValues]] = []  # the rows' results, if the journal made them
        if self.durable is not None:
            key = f"{self.run_id}:{self.seq + 1}"
            if self._journal:
                # The target's journal keeps the segment's row results, written in the
                # segment's own transaction: nothing of it is sealed (``staged_in_doubt``).
                payload = JOURNALED
                journal = partial(self._journal_rows, rows, staged.owners, journaled)
                options = replace(options, journal=journal)
            else:
                payload = self.durable.seal(rows)
            self.runs.stage(self.run_id, key, payload)
            options = replace(options, batch_key=key, forget_key=self._recorded)
            self._in_flight, self._recorded = key, None
        results = self.target.apply(self.cjob.source.name, staged.changes, options)
        if self._hearing is not None:
            self._hearing.wrote(results)
        if journaled:  # settled as it was journaled
            self._journaled = journaled[0]
            return
        if self.pending is not None and self.cjob.match_fields:
            self._remember_planned(rows, staged, results)
        self._settle_all(rows, staged.owners, results)

    def _journal_rows(
        self,
        rows: list[WorkRow],
        owners: list[int],
        into: list[list[RowValues]],
        results: Sequence[ApplyResult],
    ) -> str:
        """The segment's row results, settled from its results (kept ``into``), as the journal
        keeps them."""
        self._settle_all(rows, owners, results)
        records = self._row_results(rows)
        into.append(records)
        return rows_text(records)

    def _remember_planned(
        self, rows: list[WorkRow], staged: StagedBatch, results: Sequence[ApplyResult]
    ) -> None:
        """A plan on a target that cannot rehearse: what it would insert, by match key, for
        later rows of the run to match (as they would match what the run wrote)."""
        assert self.pending is not None
        for owner, change, result in zip(staged.owners, staged.changes, results, strict=True):
            if change.kind is ChangeKind.INSERT and result.ok:
                row = rows[owner]
                planned = {k: v for k, v in row.values.items() if v is not NOT_GIVEN}
                planned.update(result.after or {})
                self.pending[match_key(row, self.cjob.match_fields)] = planned

    @contextmanager
    def rehearsal(self) -> Iterator[None]:
        """The scope of a whole plan: a target that can rehearse (:class:`Rehearsal`) shows
        each batch what the plan's earlier batches did, exactly as a run would; for another
        target the engine remembers planned inserts itself (``pending``)."""
        rehearsing = capability(self.target, Rehearsal) if self.plan else None
        if rehearsing is None:
            yield
            return
        with rehearsing.rehearse():
            self.pending = None
            yield

    def staged_batch(self, rows: list[WorkRow]) -> StagedBatch:
        """The changes decided ``rows`` ask of the target, and which row owns each."""
        changes: list[Change] = []
        owners: list[int] = []
        befores: list[Record | None] = []
        for index, row in enumerate(rows):
            if row.write is None:
                continue
            values = self._values_for(row, row.write)
            targets: list[Record | None] = list(row.matches) if row.write != "insert" else [None]
            for record in targets:
                identity = self._identity(record) if record is not None else None
                own = values if len(targets) == 1 else dict(values)
                changes.append(Change(KIND[row.write], own, identity, row.append, ref=len(changes)))
                owners.append(index)
                befores.append(record)
        return StagedBatch(rows, changes, owners, befores)

    def _settle_all(
        self, rows: list[WorkRow], owners: list[int], results: Sequence[ApplyResult]
    ) -> None:
        grouped: dict[int, list[ApplyResult]] = {}
        for index, result in zip(owners, results, strict=True):
            grouped.setdefault(index, []).append(result)
        for index, row in enumerate(rows):
            if row.write is None:
                continue
            self._settle(row, grouped.get(index, []))

    def staged_in_doubt(self, key: str, payload: str) -> tuple[int, Callable[[], None]] | None:
        """The segment a run staged under ``key`` when its process died, if it may have been
        written: how many input rows it holds, and the call that finishes it. On a target
        without a journal it may always have been (REST: :meth:`settle_staged` re-matches what
        was sent); on a target with one, only when the journal holds it, with its row results
        (or, staged by an earlier version, its results). A segment never written is not sent as
        it was decided: its rows are read and decided again, in a batch held exclusive,
        seeing what other runs wrote meanwhile."""
        journal = capability(self.target, BatchJournal)
        if journal is not None:
            text = journal.journaled(key)
            if text is None:
                return None
            if payload == JOURNALED:
                records = rows_from_text(text)
                return len(records), partial(self._record_journaled, key, records)
        assert self.durable is not None
        staged = self.staged_batch(self.durable.unseal(payload))
        return len(staged.rows), partial(self.settle_staged, key, staged)

    def _record_journaled(self, key: str, records: list[RowValues]) -> None:
        for record in records:
            self.counts.add(Outcome(record[2]))
        self._in_flight = key
        self._keep(records)

    def settle_staged(self, key: str, staged: StagedBatch) -> None:
        """Finish the segment a run was writing when its process died: whatever of it was
        written is recorded as written, and only the rest is sent (never twice)."""
        options = replace(self.options, batch_key=key)
        self._in_flight = key
        source = self.cjob.source
        journal = capability(self.target, BatchJournal)
        with self._held():
            results = journal.applied_batch(key) if journal is not None else None
            if results is None and journal is not None:
                results = self.target.apply(source.name, staged.changes, options)
            elif results is None:
                done = reconcile(self.target, source, staged)
                again = [
                    replace(change, ref=i)
                    for i, (change, found) in enumerate(
                        (c, d) for c, d in zip(staged.changes, done, strict=True) if d is None
                    )
                ]
                sent = self.target.apply(source.name, again, options) if again else []
                results = results_in_order(done, sent)
            self._settle_all(staged.rows, staged.owners, results)
        self._record(staged.rows)

    def _settle(self, row: WorkRow, results: list[ApplyResult]) -> None:
        failed = next((r for r in results if not r.ok), None)
        if failed is not None and failed.error is not None:
            error = failed.error
            column = self.column_of.get(error.field or "") if error.field else None
            row.fail(error.code, error.message, error.field, column)
            return
        kind = row.write or ""
        notes = [r.note for r in results if r.note]
        if notes:
            row.message = notes[0]
        if kind == "insert":
            after = results[0].after or {}
            row.identity = self._identity(after)
            # What undo needs: the identity and the fields this run wrote.
            written = row.values.keys() | self._identity_names
            row.after = {k: after[k] for k in written if k in after}
        elif kind == "update":
            befores = [r.before or {} for r in results]
            afters = [r.after or {} for r in results]
            changed = [_changed(b, a) for b, a in zip(befores, afters, strict=True)]
            row.identity = _one_or_many([self._identity(b) for b in befores])
            row.before = _one_or_many(
                [{k: b.get(k) for k in c} for b, c in zip(befores, changed, strict=True)]
            )
            row.after = _one_or_many(
                [{k: a.get(k) for k in c} for a, c in zip(afters, changed, strict=True)]
            )
            if not any(changed):
                row.outcome = Outcome.UNCHANGED
                return
        else:
            befores = [r.before or {} for r in results]
            row.identity = _one_or_many([self._identity(b) for b in befores])
            row.before = _one_or_many(befores)
        row.outcome = DONE[kind]

    # ---- recording -----------------------------------------------------------------------------

    def _record(self, rows: list[WorkRow]) -> None:
        for row in rows:
            assert row.outcome is not None, f"row {row.number} has no outcome"
        records = self._journaled if self._journaled is not None else self._row_results(rows)
        self._journaled = None
        for row in rows:
            self.counts.add(row.outcome)  # type: ignore[arg-type]  # asserted above
        self._keep(records)

    def _row_results(self, rows: list[WorkRow]) -> list[RowValues]:
        """The rows' results, numbered after those recorded (nothing is counted yet)."""
        error = Outcome.ERROR
        return [
            recorded(
                seq,
                row.number,
                row.outcome.value if row.outcome is not None else "",
                row.code,
                row.message,
                row.field,
                row.column,
                row.identity,
                row.before,
                row.after,
                self._masked(row.cells) if row.outcome is error else None,
            )
            for seq, row in enumerate(rows, self.seq + 1)
        ]

    def _keep(self, records: list[RowValues]) -> None:
        """Record ``records`` (counted already) with the run's checkpoint."""
        self.seq += len(records)
        if self.durable is None:
            self.runs.add_values(self.run_id, records)
            return
        self.runs.record_values(
            self.run_id, records, checkpoint_rows=self.counts.rows, counts=self.counts.as_dict()
        )
        if self._in_flight is not None:
            # Forgotten with the next batch written (or by ``finish``).
            self._recorded, self._in_flight = self._in_flight, None

    def finish(self) -> None:
        """Let go of what the target keeps for this run's last recorded batch."""
        if self._ahead is not None:  # a batch that never came (the run stopped)
            self._ahead.wait()
            self._ahead = None
        journal = capability(self.target, BatchJournal)
        if self._recorded is not None and journal is not None:
            journal.forget_batch(self._recorded)
        self._recorded = None

    def _masked(self, cells: dict[str, Any]) -> dict[str, Any]:
        return {
            k: (MASK if k in self.secret_columns and v not in (None, "") else v)
            for k, v in cells.items()
        }


def _changed(before: Record, after: Record) -> list[str]:
    # An after-image is the before-image copied, then changed: most values are the very same
    # objects, which ``is`` settles before any comparison.
    old = before.get
    return [k for k, v in after.items() if (o := old(k)) is not v and o != v and k != "UpdatedOn"]


def _one_or_many(items: list[Any]) -> Any:
    return items[0] if len(items) == 1 else items
