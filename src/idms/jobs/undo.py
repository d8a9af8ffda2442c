"""Undoing a run: its changes replayed backwards from their before-images.

An inserted record is deleted (a contact cannot be deleted in iMIS, so an inserted contact is
marked for erasure instead); an updated record gets its before values back; a deleted record is
inserted again (with a new SEQN or ordinal where the store assigns them). A record changed since
the run is left alone and reported, unless ``force``. The undo is itself a run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from idms.errors import Conflict, InvalidInputError
from idms.jobs.decide import same_value
from idms.runs.record import NewRun, RowResult, RunStore
from idms.runs.status import JOB_KINDS, Counts, Outcome, RunKind, RunStatus
from idms.sources.model import SourceDef
from idms.targets.base import ApplyOptions, Change, ChangeKind, Record, Target
from idms.values.coerce import coerce
from idms.values.folding import fold_value

BATCH = 500
UNDOABLE = (Outcome.INSERTED, Outcome.UPDATED, Outcome.DELETED)
IGNORED = frozenset({"UpdatedOn", "CreatedOn"})


@dataclass
class UndoReport:
    run_id: str
    undo_of: str
    status: RunStatus
    counts: Counts

    def summary(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "undo_of": self.undo_of,
            "status": self.status.value,
            **self.counts.as_dict(),
            "error_file": None,
        }


def undo_run(
    run_ref: str,
    *,
    target: Target,
    runs: RunStore,
    force: bool = False,
    progress: Callable[[int], None] | None = None,
    target_label: str = "embedded",
) -> UndoReport:
    original = runs.get(run_ref)
    if original.kind not in JOB_KINDS:
        raise InvalidInputError(f"Run {original.id} is an undo; run the job again instead.")
    if original.plan_only:
        raise InvalidInputError(f"Run {original.id} was a plan: it wrote nothing to undo.")
    if original.undone_by:
        raise Conflict(f"Run {original.id} was already undone by run {original.undone_by}.")
    if not original.finished:
        raise Conflict(f"Run {original.id} is {original.status}: undo it once it has ended.")
    source = target.describe(original.source)
    undo_id = runs.create(
        NewRun(
            kind=RunKind.UNDO,
            name=f"Undo of {original.name}",
            source=source.name,
            action="undo",
            target=target_label,
            platform=original.platform,
            job={"undo_of": original.id, "force": force},
            undo_of=original.id,
        )
    )
    counts = Counts()
    seq = 0
    for batch in _batches(runs.rows(original.id, outcomes=UNDOABLE, reverse=True)):
        results = _undo_batch(source, target, batch, force)
        for r in results:
            seq += 1
            r.seq = seq
            counts.add(Outcome(r.outcome))
        runs.add_rows(undo_id, results)
        if progress is not None:
            progress(counts.rows)
    status = RunStatus.COMPLETED_WITH_ERRORS if counts.errors else RunStatus.SUCCEEDED
    runs.finish(undo_id, status=status, counts=counts.as_dict())
    runs.mark_undone(original.id, undo_id)
    return UndoReport(undo_id, original.id, status, counts)


def _batches(rows: Iterator[RowResult]) -> Iterator[list[RowResult]]:
    batch: list[RowResult] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _many(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _typed(source: SourceDef, values: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, value in values.items():
        fdef = source.find_field(name)
        if fdef is None:
            continue
        out[name] = None if value is None else coerce(value, fdef.type)
    return out


def _undo_batch(
    source: SourceDef, target: Target, rows: list[RowResult], force: bool
) -> list[RowResult]:
    identities: list[dict[str, Any]] = []
    for row in rows:
        if row.outcome != "deleted":
            identities.extend(_typed(source, i) for i in _many(row.identity))
    current: dict[tuple[Any, ...], Record] = {}
    if identities:
        fields = list(source.identity)
        for found in target.match(source.name, fields, identities):
            for record in found:
                current[_key(source, record)] = record

    plans: list[tuple[RowResult, list[Change], str]] = []
    out: list[RowResult] = []
    for row in rows:
        result = RowResult(seq=0, row_number=row.row_number, outcome="", identity=row.identity)
        changes: list[Change] = []
        problem = None
        if row.outcome == "deleted":
            for before in _many(row.before):
                values = _writable(source, _typed(source, before))
                changes.append(Change(ChangeKind.INSERT, values))
            kind = "inserted"
        else:
            identities_now = [_typed(source, i) for i in _many(row.identity)]
            afters = [_typed(source, a) for a in _many(row.after)] or [{}] * len(identities_now)
            befores = [_typed(source, b) for b in _many(row.before)] or [{}] * len(identities_now)
            kind = "deleted" if row.outcome == "inserted" else "updated"
            for identity, before, after in zip(identities_now, befores, afters, strict=False):
                existing = current.get(_key(source, identity))
                if existing is None:
                    problem = "the record no longer exists"
                    break
                if not force and _changed_since(source, existing, after):
                    problem = (
                        "the record was changed after the run (an undo with force overwrites it)"
                    )
                    break
                if row.outcome == "inserted":
                    if source.name == "Contact":
                        changes.append(
                            Change(ChangeKind.UPDATE, {"MarkForErasure": True}, identity)
                        )
                        kind = "updated"
                    else:
                        changes.append(Change(ChangeKind.DELETE, {}, identity))
                else:
                    changes.append(Change(ChangeKind.UPDATE, _writable(source, before), identity))
                    # An earlier change of the same record, undone next, must see this revert.
                    current[_key(source, identity)] = {**existing, **before}
        if problem:
            result.outcome = "skipped"
            result.code = "changed_since"
            result.message = f"Not undone: {problem}."
            out.append(result)
            continue
        plans.append((result, changes, kind))
        out.append(result)

    flat = [c for _, changes, _ in plans for c in changes]
    for i, change in enumerate(flat):
        change.ref = i
    results = target.apply(source.name, flat, ApplyOptions(skip_validation=True)) if flat else []
    position = 0
    for result, changes, kind in plans:
        mine = results[position : position + len(changes)]
        position += len(changes)
        failed = next((r for r in mine if not r.ok), None)
        if failed is not None and failed.error is not None:
            result.outcome, result.code = "error", failed.error.code
            result.message = f"Not undone: {failed.error.message}"
            continue
        result.outcome = kind
        result.before = _one([r.before for r in mine])
        result.after = _one([r.after for r in mine])
        if (
            source.name == "Contact"
            and kind == "updated"
            and changes[0].values.get("MarkForErasure")
        ):
            result.message = "Contacts cannot be deleted in iMIS: marked for erasure instead."
    return out


def _one(items: list[Any]) -> Any:
    return items[0] if len(items) == 1 else items


def _key(source: SourceDef, record: Record) -> tuple[Any, ...]:
    values = [record.get(k) for k in source.identity]
    return tuple(fold_value(v) for v in values)


def _writable(source: SourceDef, values: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v
        for k, v in values.items()
        if (f := source.find_field(k)) is not None and f.writable and not f.write_only
    }


def _changed_since(source: SourceDef, record: Record, after: dict[str, Any]) -> bool:
    for name, value in after.items():
        if name in IGNORED:
            continue
        fdef = source.find_field(name)
        if fdef is None or fdef.write_only:
            continue
        if not same_value(fdef, record.get(name), value):
            return True
    return False
