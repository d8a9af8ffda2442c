"""Putting back one batch of a run's rows (:func:`undo_batch`): what :mod:`idms.jobs.undo`
does with each batch of the run it undoes.

An inserted record is deleted (a contact cannot be deleted in iMIS, so an inserted contact is
marked for erasure instead); an updated record gets its before values back; a deleted record is
inserted again (with a new SEQN or ordinal where the store assigns them). Each row put back is
recorded the way a job run records its changes, so that an undo can be undone in turn (a redo):
that puts back exactly what the undo reverted (a contact marked for erasure is unmarked).

A row that cannot be put back is skipped with the reason, never counted as done: the record was
changed since the run (unless ``force``) or no longer exists, or the source's rules refuse the
earlier values (a field iMIS sets, such as Is Locked Out after an unlock; locking is not
supported). Those rules are the ones every write goes through (``idms.sources.rules``), asked
before anything is sent; a write the target refuses nonetheless is an error. A row whose write
changed nothing is ``unchanged``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from idms.jobs.decide import same_value
from idms.runs.rows import RowResult
from idms.runs.status import Outcome
from idms.sources.model import SourceDef
from idms.sources.rules import RowRefused, update_values
from idms.targets.base import ApplyOptions, ApplyResult, Change, ChangeKind, Record, Target
from idms.values.coerce import coerce
from idms.values.folding import fold_value

IGNORED = frozenset({"UpdatedOn", "CreatedOn"})


class NotUndone(Exception):
    """Why one row cannot be put back: it is skipped with this code and reason."""

    def __init__(self, code: str, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.field = field


@dataclass
class _Reversal:
    """The changes that put one row back, and what to check once they are written."""

    result: RowResult
    changes: list[Change]
    outcome: Outcome
    # Per change: values iMIS sets (read-only) that the run changed and should come back with
    # the written ones; said when they do not.
    expected: list[dict[str, Any]] = field(default_factory=list)


def _many(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _one(items: list[Any]) -> Any:
    return items[0] if len(items) == 1 else items


def _typed(source: SourceDef, values: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, value in values.items():
        fdef = source.find_field(name)
        if fdef is None:
            continue
        out[fdef.name] = None if value is None else coerce(value, fdef.type)
    return out


def undo_batch(
    source: SourceDef, target: Target, rows: list[RowResult], force: bool
) -> list[RowResult]:
    """Put back one batch of a run's ``rows`` (newest change first): matched in one go, written
    in one ``apply``; a result per row, to record with the undo (its ``seq`` still to set)."""
    current = _current(source, target, rows)
    reversals: list[_Reversal] = []
    out: list[RowResult] = []
    for row in rows:
        result = RowResult(seq=0, row_number=row.row_number, outcome="", identity=row.identity)
        out.append(result)
        try:
            reversal = _reverse(source, target.platform, row, result, current, force)
        except NotUndone as why:
            result.outcome, result.code = Outcome.SKIPPED.value, why.code
            result.field = why.field
            result.message = f"Not undone: {why.reason}"
            continue
        if not reversal.changes:
            result.outcome = Outcome.UNCHANGED.value
            result.message = "Nothing to put back: the run's change left no value to restore."
            continue
        reversals.append(reversal)

    flat = [c for r in reversals for c in r.changes]
    for i, change in enumerate(flat):
        change.ref = i
    results = target.apply(source.name, flat, ApplyOptions(skip_validation=True)) if flat else []
    position = 0
    for reversal in reversals:
        mine = results[position : position + len(reversal.changes)]
        position += len(reversal.changes)
        _settle(source, reversal, mine)
    return out


def _current(
    source: SourceDef, target: Target, rows: list[RowResult]
) -> dict[tuple[Any, ...], Record]:
    """The records the rows name, as they are now (one match for the batch), by identity."""
    identities: list[dict[str, Any]] = []
    for row in rows:
        if row.outcome != Outcome.DELETED:
            identities.extend(_typed(source, i) for i in _many(row.identity))
    current: dict[tuple[Any, ...], Record] = {}
    if identities:
        for found in target.match(source.name, list(source.identity), identities):
            for record in found:
                current[_key(source, record)] = record
    return current


def _reverse(
    source: SourceDef,
    platform: str,
    row: RowResult,
    result: RowResult,
    current: dict[tuple[Any, ...], Record],
    force: bool,
) -> _Reversal:
    """The changes that put ``row`` back, or NotUndone saying why it cannot be."""
    if row.outcome == Outcome.DELETED:
        inserts = [
            Change(ChangeKind.INSERT, _writable(source, _typed(source, before)))
            for before in _many(row.before)
        ]
        return _Reversal(result, inserts, Outcome.INSERTED)
    identities = [_typed(source, i) for i in _many(row.identity)]
    afters = [_typed(source, a) for a in _many(row.after)] or [{}] * len(identities)
    befores = [_typed(source, b) for b in _many(row.before)] or [{}] * len(identities)
    reversal = _Reversal(result, [], Outcome.UPDATED)
    for identity, before, after in zip(identities, befores, afters, strict=False):
        existing = current.get(_key(source, identity))
        if existing is None:
            raise NotUndone("no_longer_exists", "the record no longer exists.")
        if not force and _changed_since(source, existing, after):
            raise NotUndone(
                "changed_since",
                "the record was changed after the run (an undo with force overwrites it).",
            )
        if row.outcome == Outcome.INSERTED:
            if source.name == "Contact":
                change = Change(ChangeKind.UPDATE, {"MarkForErasure": True}, identity)
            else:
                change = Change(ChangeKind.DELETE, {}, identity)
                reversal.outcome = Outcome.DELETED
            reversal.changes.append(change)
            reversal.expected.append({})
            continue
        values, expected = _earlier_values(source, platform, existing, before)
        if values:
            reversal.changes.append(Change(ChangeKind.UPDATE, values, identity))
            reversal.expected.append(expected)
        # An earlier change of the same record, undone next, must see this revert.
        current[_key(source, identity)] = {**existing, **before}
    return reversal


def _earlier_values(
    source: SourceDef, platform: str, existing: Record, before: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """What an update must write to give ``existing`` its ``before`` values back, and the values
    iMIS sets that should follow; NotUndone when the source's rules refuse the write."""
    revert = {k: v for k, v in before.items() if k not in IGNORED}
    written = {
        k: v
        for k, v in revert.items()
        if source.field(k).writable and not source.field(k).write_only
    }
    set_by_imis = {k: v for k, v in revert.items() if k not in written}
    try:
        # Only fields iMIS sets changed (an unlock): asked as they are, the rules say why not.
        update_values(source, platform, existing, written or set_by_imis)
    except RowRefused as refused:
        raise NotUndone(refused.code, _refusal(source, refused, revert), refused.field) from None
    return written, set_by_imis


def _refusal(source: SourceDef, refused: RowRefused, revert: dict[str, Any]) -> str:
    if refused.field is None or refused.field not in revert:
        return str(refused)
    fdef = source.field(refused.field)
    why = fdef.description if refused.code == "read_only_field" and fdef.description else None
    return (
        f"{fdef.label} cannot be put back to {_shown(revert[refused.field])}. {why or str(refused)}"
    )


def _shown(value: Any) -> str:
    if value is None or value == "":
        return "(blank)"
    if isinstance(value, tuple | list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _settle(source: SourceDef, reversal: _Reversal, results: list[ApplyResult]) -> None:
    """Record what the target did with one row's changes."""
    result = reversal.result
    failed = next((r for r in results if not r.ok), None)
    if failed is not None and failed.error is not None:
        result.outcome, result.code = Outcome.ERROR.value, failed.error.code
        result.field = failed.error.field
        result.message = f"Not undone: {failed.error.message}"
        return
    befores = [r.before or {} for r in results]
    afters = [r.after or {} for r in results]
    result.outcome = reversal.outcome.value
    if reversal.outcome is Outcome.INSERTED:
        # The record is back, maybe under a new SEQN or ordinal: what a redo deletes.
        result.identity = _one([_identity(source, a) for a in afters])
        result.after = _one(
            [
                {k: a.get(k) for k in c.values.keys() | set(source.identity) if k in a}
                for a, c in zip(afters, reversal.changes, strict=True)
            ]
        )
        lost = [f.label for f in source.fields if f.secret]
        if lost:
            result.message = (
                f"Inserted again without its {', '.join(lost)}: the run never recorded it."
            )
        return
    if reversal.outcome is Outcome.DELETED:
        result.before = _one(befores)  # the whole record: what a redo inserts again
        return
    changed = [_changed(b, a) for b, a in zip(befores, afters, strict=True)]
    result.before = _one([{k: b.get(k) for k in c} for b, c in zip(befores, changed, strict=True)])
    result.after = _one([{k: a.get(k) for k in c} for a, c in zip(afters, changed, strict=True)])
    if not any(changed):
        result.outcome = Outcome.UNCHANGED.value
        result.message = "Nothing to put back: the record already had its earlier values."
        return
    notes: list[str] = []
    if any(c.values.get("MarkForErasure") for c in reversal.changes) and source.name == "Contact":
        notes.append(
            "Contacts cannot be deleted in iMIS: marked for erasure instead (undoing this undo "
            "run unmarks them)."
        )
    for after, expected in zip(afters, reversal.expected, strict=True):
        for name, value in expected.items():
            if not same_value(source.field(name), after.get(name), value):
                notes.append(
                    f"{source.field(name).label} did not go back to {_shown(value)}: iMIS sets it."
                )
    if notes:
        result.message = " ".join(dict.fromkeys(notes))


def _key(source: SourceDef, record: Record) -> tuple[Any, ...]:
    values = [record.get(k) for k in source.identity]
    return tuple(fold_value(v) for v in values)


def _identity(source: SourceDef, record: Record) -> dict[str, Any]:
    return {k: record.get(k) for k in source.identity}


def _writable(source: SourceDef, values: dict[str, Any]) -> dict[str, Any]:
    """An earlier record's values a new insert may be given (iMIS assigns the rest)."""
    return {
        k: v
        for k, v in values.items()
        if (f := source.find_field(k)) is not None and f.writable and not f.write_only
    }


def _changed(before: Record, after: Record) -> list[str]:
    return [k for k in after if k not in IGNORED and after.get(k) != before.get(k)]


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
