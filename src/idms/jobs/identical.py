"""Inserts that would repeat a record already there: warned of, or skipped (``skip_identical``).

Importing the same activity file twice would double every activity: an insert job does not
match, and iMIS refuses nothing. So every row a batch is about to insert without matching (an
insert job, or an insert found by its contact) is compared with the stored records: it is
*identical* to one when every value it maps equals the record's, compared as the target
compares (candidates from one ``Target.match`` per batch on the mapped fields, each value then
confirmed with :func:`~idms.jobs.decide.same_value`). Such a row is still inserted, with a
message saying what it duplicates, or, when the job sets ``skip_identical``, skipped with the
reason (``identical_exists``).

A row is also identical to an earlier row of the same batch it would insert. A plan writes
nothing, so it remembers, in its pending records, the rows it would insert, and a later batch of
the plan sees them as the run would see the records its earlier batches wrote.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence
from typing import Any

from idms.jobs.compile import CompiledJob
from idms.jobs.decide import Comparer, comparison, match_key
from idms.jobs.mapping import NOT_GIVEN
from idms.jobs.rows import WorkRow
from idms.targets.base import Record, Target
from idms.values.types import FieldType

CODE = "identical_exists"
# Keys of a plan's remembered inserts among its pending records (whose other keys are match
# keys, tuples of values): a tuple that starts with this marker is never one of those.
_PLANNED = object()
_ROW = "\0row"  # the remembered insert's input row number


def flag_identical(
    cjob: CompiledJob,
    target: Target,
    rows: Sequence[WorkRow],
    *,
    pending: Mapping[tuple[Any, ...], Record] | None = None,
) -> None:
    """Warn of (or, with ``skip_identical``, skip) each row to insert that repeats a record."""
    # The fields a stored record shows and a job writes (never a password).
    shown = {f.name for f in cjob.source.fields if not (f.write_only or f.secret or f.read_only)}
    groups: dict[tuple[str, ...], list[WorkRow]] = {}
    for row in rows:
        if row.write == "insert":
            names = tuple(n for n, v in row.values.items() if v is not NOT_GIVEN and n in shown)
            if names:
                groups.setdefault(names, []).append(row)
    for names, group in groups.items():
        _flag_group(cjob, target, names, group, pending)


def _flag_group(
    cjob: CompiledJob,
    target: Target,
    names: tuple[str, ...],
    rows: list[WorkRow],
    pending: Mapping[tuple[Any, ...], Record] | None,
) -> None:
    source = cjob.source
    fields = [source.field(n) for n in names]
    # Multi-select values are compared, not matched on (a target matches one value, not a set).
    matched = [f.name for f in fields if f.type is not FieldType.MULTISELECT]
    found: list[list[Record]] = [[] for _ in rows]
    if matched:
        criteria = [{n: row.values[n] for n in matched} for row in rows]
        found = target.match(source.name, matched, criteria)
    earlier: dict[tuple[Any, ...], Record] = {}
    compared = [(f.name, comparison(f)) for f in fields]
    for row, records in zip(rows, found, strict=True):
        key = (_PLANNED, names, *match_key(row, names))
        planned = earlier.get(key)
        if planned is None and pending is not None and key in pending:
            # Planned by an earlier batch: the run finds it stored, so it is named as one.
            planned = {k: v for k, v in pending[key].items() if k != _ROW}
        candidates = [*records, planned] if planned is not None else records
        twin = next((r for r in candidates if _same(compared, row, r)), None)
        if twin is not None:
            _flag(cjob, row, twin)
        if row.write == "insert":
            earlier.setdefault(key, {**row.values, _ROW: row.number})
    if isinstance(pending, MutableMapping):  # a plan: later batches see these as written
        for key, record in earlier.items():
            pending.setdefault(key, record)


def _same(compared: list[tuple[str, Comparer]], row: WorkRow, record: Record) -> bool:
    """Whether every value of ``row`` is the same as ``record``'s (``compared``: each field
    and its :func:`~idms.jobs.decide.comparison`)."""
    values, current = row.values, record.get
    return all(same(current(name), values[name]) for name, same in compared)


def _flag(cjob: CompiledJob, row: WorkRow, twin: Record) -> None:
    source = cjob.source
    fields = [source.field(k) for k in source.identity]
    if _ROW in twin:
        who = f" (row {twin[_ROW]} of this input)"
    elif any(f.default is not None and f.read_only for f in fields):
        # A number the store assigns (SEQN) is known to a run, not to a plan over REST: the
        # twin is not named by it, so that a plan's words are the run's.
        who = ""
    else:
        who = " (" + ", ".join(f"{f.label} {twin.get(f.name)}" for f in fields) + ")"
    record = f"an identical {source.label} record{who}"
    if cjob.job.options.skip_identical:
        row.write = None
        row.skip(CODE, f"Skipped: {record} exists; every mapped value is the same.")
    else:
        row.code = CODE
        row.message = (
            f"Duplicates {record}: every mapped value is the same (the job option "
            "skip_identical skips such rows)."
        )
