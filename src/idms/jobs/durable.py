"""What makes a run survive its process: the sealed job, the input's identity, the lease with its
heartbeat, staged batches, and settling a batch whose writes were in doubt.

A durable run writes, per segment of a batch (``runner.py``):

1. *stage*: the batch key, in the suite database, and where the target keeps no journal (iMIS
   over REST) the rows as decided, sealed (they may hold passwords): the changes about to be
   sent are rebuilt from them on resume, exactly as they were built;
2. *apply*, with the batch key: a transactional target (the embedded store) keeps the segment's
   row results under it (``ApplyOptions.journal``: made from the results, inside the
   segment's own transaction), so nothing of the segment need be sealed;
3. *record*: the row results, the checkpoint (input rows done) and the counts, in one suite
   transaction that also clears the stage; then the target forgets the key.

A run that finds a stage when it resumes knows exactly which rows were in flight. On a
transactional target the journal says whether their segment was written, and holds its row
results, recorded as they were made; a segment it does not hold was never written, and its rows
are read and decided again. On iMIS over REST nothing says so, so every staged change is
re-matched (:func:`reconcile`): an insert whose record is found, an update whose values are
already there, a delete whose record is gone, is taken as done and never sent twice.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from idms.errors import InvalidInputError
from idms.jobs.mapping import NOT_GIVEN
from idms.jobs.rows import WorkRow
from idms.runs.leases import Leases
from idms.sources.model import SourceDef
from idms.targets.base import ApplyResult, Change, ChangeKind, Record, Target

# ---- the input's identity -----------------------------------------------------------------------


def file_identity(path: str | Path) -> dict[str, Any]:
    stat = os.stat(path)
    return {
        "kind": "file",
        "path": os.path.realpath(path),
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
    }


def check_file_identity(ref: dict[str, Any]) -> None:
    """A resumed run reads the same file it started on, or refuses to go on."""
    path = Path(str(ref["path"]))
    if not path.is_file():
        raise InvalidInputError(
            f"The run's input file {path} is gone: it cannot be resumed without it."
        )
    stat = path.stat()
    if stat.st_size != ref.get("size") or stat.st_mtime_ns != ref.get("mtime_ns"):
        raise InvalidInputError(
            f"The run's input file {path} has changed since the run started: resuming would "
            "process other rows than the ones it began with. Run the job again instead."
        )


# ---- the lease -------------------------------------------------------------------------------


class Lease:
    """Renews a run's lease in the background while it works; ``lost`` once another took it."""

    def __init__(self, leases: Leases, run_id: str, owner: str, seconds: float) -> None:
        self.leases, self.run_id, self.owner, self.seconds = leases, run_id, owner, seconds
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"lease-{run_id}", daemon=True)

    def __enter__(self) -> Lease:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=self.seconds)

    def _beat(self) -> None:
        while not self._stop.wait(self.seconds / 3):
            try:
                if not self.leases.heartbeat(self.run_id, self.owner, self.seconds):
                    self.lost = True
                    return
            except Exception:  # nosec B112 # a missed beat is retried: the lease has slack
                continue

    def renew(self) -> bool:
        """Renew now (between batches); False when the lease is lost."""
        if self.lost or not self.leases.heartbeat(self.run_id, self.owner, self.seconds):
            self.lost = True
        return not self.lost


# ---- staged batches -----------------------------------------------------------------------------


# What a run stages for a segment whose row results the target's batch journal keeps (written
# with the segment itself, ``ApplyOptions.journal``): nothing is sealed.
JOURNALED = ""


@dataclass
class StagedBatch:
    """One segment on its way to the target: its rows as decided, the changes, who owns which."""

    rows: list[WorkRow]
    changes: list[Change]
    owners: list[int]  # index into rows, per change
    befores: list[Record | None]  # the record each change addresses, as matched


def reconcile(target: Target, source: SourceDef, staged: StagedBatch) -> list[ApplyResult | None]:
    """For each staged change, its result if it already took effect, else None (to be sent).

    Used where the target keeps no journal (iMIS over REST): inserts are re-matched on the
    values they wrote, updates compared with what is stored, deletes looked for.
    """
    readable = {f.name for f in source.fields if not f.secret and not f.write_only}
    out: list[ApplyResult | None] = []
    for change, before in zip(staged.changes, staged.befores, strict=True):
        if change.kind is ChangeKind.INSERT:
            out.append(_inserted(target, source, change, readable))
        elif change.kind is ChangeKind.UPDATE:
            out.append(_updated(target, source, change, before, readable))
        else:
            out.append(_deleted(target, source, change, before))
    return out


def _criteria(values: dict[str, Any], readable: set[str]) -> dict[str, Any]:
    return {
        k: v
        for k, v in values.items()
        if k in readable and v is not None and v is not NOT_GIVEN and not isinstance(v, tuple)
    }


def _inserted(
    target: Target, source: SourceDef, change: Change, readable: set[str]
) -> ApplyResult | None:
    criteria = _criteria(change.values, readable)
    if not criteria:
        return None
    found = target.match(source.name, list(criteria), [criteria])[0]
    if not found:
        return None
    return ApplyResult(change.ref, True, before=None, after=found[-1])


def _current(target: Target, source: SourceDef, change: Change) -> Record | None:
    identity = change.identity or {}
    if not identity:
        return None
    found = target.match(source.name, list(identity), [identity])[0]
    return found[0] if found else None


def _updated(
    target: Target,
    source: SourceDef,
    change: Change,
    before: Record | None,
    readable: set[str],
) -> ApplyResult | None:
    if any(k not in readable for k in change.values):
        return None  # a write-only value (unlock): sending it again is harmless
    current = _current(target, source, change)
    if current is None:
        return None
    for name, value in change.values.items():
        stored = current.get(name)
        if name in change.append and isinstance(value, tuple):
            if not set(value) <= set(stored or ()):
                return None
        elif stored != value and not (_blank(stored) and _blank(value)):
            return None
    return ApplyResult(change.ref, True, before=before or current, after=current)


def _deleted(
    target: Target, source: SourceDef, change: Change, before: Record | None
) -> ApplyResult | None:
    if _current(target, source, change) is not None:
        return None
    return ApplyResult(change.ref, True, before=before, after=None)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def results_in_order(
    done: Sequence[ApplyResult | None], sent: Sequence[ApplyResult]
) -> list[ApplyResult]:
    """Merge the results found by :func:`reconcile` with those of the changes sent again."""
    again = iter(sent)
    return [d if d is not None else next(again) for d in done]
