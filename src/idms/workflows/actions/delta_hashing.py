"""Delta Hashing (iDMS "Delta Hashing"): pass on only the rows that are new or changed since
the workflow last ran.

Each row is known by its key column (an iMIS ID, a sequence number, a GUID: unique in the
rows) and fingerprinted by the SHA-256 of its canonical JSON (keys sorted, no spaces), so the
same data in another column order is the same row. The first run passes every row on; later
runs only the rows whose key is new or whose fingerprint differs from the one stored. Only the
key and the fingerprint are stored (per workflow and step: :class:`HashStore`), as iDMS
keeps them.

The store learns the new fingerprints only when the whole run has succeeded: a row sent to a
failing upload must be sent again next time. So the step does not write them; it writes them to
a file of the run (``STEP.pending-hashes.jsonl``, a line per chunk of keys), leaves a small
reference to it in its output under :data:`PENDING`, and the runner, once the run ends
succeeded, calls :func:`commit_pending` with every step's output, which streams the file into
the store in one transaction and removes it (the runner strips :data:`PENDING` from what it
shows and passes on: :func:`public_output`).

A million rows are never held as a list: the input is read a row at a time
(:func:`~idms.workflows.actions.rowsets.iter_rows`: an array, or an earlier step's row set),
compared a chunk at a time, and the rows passed on are given as an array while they are few and
as a row set beyond (:func:`~idms.workflows.actions.rowsets.rows_output`). What grows with the
rows is the set of keys seen (a repeated key is refused; ``removed_keys`` needs them).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterator, Mapping
from itertools import islice
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field

from idms.errors import printable
from idms.private import private_folder, private_open
from idms.workflows.actions._files import safe_file_name
from idms.workflows.actions.base import (
    ActionContext,
    ActionSpec,
    HashStore,
    StepFailed,
    StepResult,
    WorkflowServices,
)
from idms.workflows.actions.rowsets import is_row_set, iter_rows, rows_output

log = logging.getLogger(__name__)

PENDING = "_pending_hashes"  # in the step's output: the reference to its pending file
PENDING_FILE = "$pending"  # the reference's file name (in the folder of run ``run_id``)
PENDING_SUFFIX = ".pending-hashes.jsonl"
CHUNK = 5000  # rows compared per look-up of the store


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key_column: str = Field(min_length=1, description="the column that tells rows apart")
    input: Any = Field(description="the rows: an array of objects, e.g. {{ steps.fetch }}")
    removed_keys: bool = Field(
        default=False,
        description="also list the keys stored before that are not among the rows now "
        "(and forget them once the run succeeds)",
    )


def _make_canonical() -> Callable[[Any], str]:
    """The row's canonical JSON text: keys sorted, compact, UTF-8 as is, anything that is not
    JSON as its text. CPython's C encoder made once (``JSONEncoder.encode`` makes one per
    call, a third of the time a row costs); the same text as ``JSONEncoder.encode`` gives."""
    encoder = json.JSONEncoder(
        sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # another Python: the pure one
        return encoder.encode
    c_encode = make(
        None,  # no circular check: rows that came as JSON cannot hold themselves
        encoder.default,
        json.encoder.encode_basestring,
        None,
        ":",
        ",",
        True,  # sort_keys
        False,
        True,
    )
    join = "".join

    def canonical(row: Any) -> str:
        return join(c_encode(row, 0))

    return canonical


_canonical = _make_canonical()


def fingerprint(row: Mapping[str, Any]) -> str:
    """The row's SHA-256 over its canonical JSON (sorted keys, compact, UTF-8)."""
    return hashlib.sha256(_canonical(row).encode("utf-8")).hexdigest()


def run(params: Params, data: dict[str, Any], context: ActionContext) -> StepResult:
    given = params.input
    if not (isinstance(given, list) or is_row_set(given)):
        raise StepFailed(
            f"Delta Hashing needs an array of rows as its input, not {_kind(given)}: "
            "check the input template (e.g. {{ steps.fetch }}).",
            retryable=False,
        )
    store = context.services.hashes(context.workflow_id, context.step_id)
    tally = _Tally()
    with _PendingFile(context) as pending:
        changed = _changed(iter_rows(given, context), store, params.key_column, pending, tally)
        try:
            rows = rows_output(changed, context, context.step_id)
        except _Repeated as exc:  # say where the key first was
            raise _repeated(given, context, params.key_column, exc.key, exc.number) from None
        output: dict[str, Any] = {"rows": rows, "count": tally.changed, "total": tally.total}
        if params.removed_keys:
            gone = [key for key in store.iter_keys() if key not in tally.seen]
            output["removed_keys"] = gone
            for start in range(0, len(gone), CHUNK):
                pending.write(dict.fromkeys(gone[start : start + CHUNK]))
            tally.known = tally.known or bool(gone)
    if pending.count:
        output[PENDING] = pending.reference
    total, count = tally.total, tally.changed
    if not tally.known and not total:
        message = "No rows came in."
    elif not tally.known and count == total:
        message = f"All {total} rows passed on (none known yet)."
    else:
        message = f"{count} of {total} rows new or changed."
    if params.removed_keys:
        message += f" {len(output['removed_keys'])} keys gone."
    return StepResult(output=output, message=message)


class _Tally:
    """What :func:`_changed` counted while it was read."""

    def __init__(self) -> None:
        self.total = 0
        self.changed = 0
        self.known = False  # whether the store knew any key (not a first run)
        self.seen: set[str] = set()  # every key, to refuse one repeated and to find those gone


class _Repeated(Exception):
    """A key met twice (row ``number``): the caller says where it was first."""

    def __init__(self, key: str, number: int) -> None:
        super().__init__(key)
        self.key = key
        self.number = number


def _changed(
    rows: Iterator[dict[str, Any]],
    store: HashStore,
    key_column: str,
    pending: _PendingFile,
    tally: _Tally,
) -> Iterator[dict[str, Any]]:
    """The rows whose key is new or whose fingerprint differs from the stored one, read a
    chunk at a time; each chunk's new fingerprints written to ``pending`` as it goes."""
    dumps = _canonical
    sha256 = hashlib.sha256
    seen = tally.seen
    while chunk := list(islice(rows, CHUNK)):
        keys: list[str] = []
        digests: list[str] = []
        for row in chunk:
            try:
                value = row[key_column]
                text = dumps(row)
            except (KeyError, TypeError):
                raise _bad_row(row, tally.total + len(keys) + 1, key_column) from None
            key = value if value.__class__ is str else _key_text(value)
            if not key:
                raise _bad_row(row, tally.total + len(keys) + 1, key_column)
            if key in seen:
                raise _Repeated(key, tally.total + len(keys) + 1)
            seen.add(key)
            keys.append(key)
            digests.append(sha256(text.encode("utf-8")).hexdigest())
        stored = store.get_many(keys)
        if stored:
            tally.known = True
        get = stored.get
        new: dict[str, str | None] = {}
        for key, digest, row in zip(keys, digests, chunk, strict=True):
            if get(key) != digest:
                new[key] = digest
                yield row
        pending.write(new)
        tally.total += len(chunk)
        tally.changed += len(new)


class _PendingFile:
    """The fingerprints to store once the run has succeeded, as ``STEP.pending-hashes.jsonl``
    in the run's folder: a line per chunk, each a JSON object of key -> new fingerprint (or
    null: a key gone). Written under a temporary name and renamed when whole, so a step that
    stopped half-way leaves nothing to commit."""

    def __init__(self, context: ActionContext) -> None:
        self.name = f"{context.step_id}{PENDING_SUFFIX}"
        self.run_id = context.run_id
        self.folder = context.files
        self.count = 0

    def __enter__(self) -> _PendingFile:
        private_folder(self.folder)
        self.path = self.folder / self.name
        self.partial = self.folder / f"{self.name}.partial"
        self.path.unlink(missing_ok=True)  # a retried step's earlier attempt
        self.file = private_open(self.partial, "wb")
        return self

    def write(self, batch: Mapping[str, str | None]) -> None:
        if batch:
            self.file.write(orjson.dumps(batch) + b"\n")
            self.count += len(batch)

    def __exit__(self, kind: object, *rest: object) -> None:
        self.file.close()
        if kind is None and self.count:
            os.replace(self.partial, self.path)
        else:
            self.partial.unlink(missing_ok=True)

    @property
    def reference(self) -> dict[str, Any]:
        return {PENDING_FILE: self.name, "run_id": self.run_id, "count": self.count}


def _key_text(value: Any) -> str:
    """A key that is not text as text (a number's JSON); blank for no value."""
    if value is None or isinstance(value, dict | list):
        return ""
    return value if isinstance(value, str) else json.dumps(value, default=str)


def _bad_row(row: Any, number: int, key_column: str) -> StepFailed:
    """Why row ``number`` (from 1) cannot be hashed: it has no key."""
    message = (
        f"Row {number} has no value in the key column {key_column!r}"
        + ("" if key_column in row else f" (its columns: {_columns(row)})")
        + ": every row needs a unique key (an iMIS ID, a sequence number, a GUID)."
    )
    return StepFailed(message, retryable=False)


def _repeated(
    given: Any, context: ActionContext, key_column: str, key: str, number: int
) -> StepFailed:
    """A key on row ``number`` that an earlier row had: the rows read again (only now, the
    step failing) to say which."""
    first = next(
        i
        for i, row in enumerate(iter_rows(given, context), start=1)
        if _key_text(row.get(key_column)) == key
    )
    return StepFailed(
        f"The key {key!r} of column {key_column!r} is on rows {first} and {number}: the key "
        "column must tell every row apart.",
        retryable=False,
    )


def public_output(output: Any) -> Any:
    """The step's output as it is shown and passed on: without the fingerprints waiting for
    the run to succeed."""
    if isinstance(output, dict) and PENDING in output:
        return {k: v for k, v in output.items() if k != PENDING}
    return output


def commit_pending(services: WorkflowServices, workflow_id: str, outputs: Mapping[str, Any]) -> int:
    """Store the fingerprints every Delta Hashing step of a run that ended succeeded left for
    it (``outputs``: step id -> that step's output as it returned it), and forget the keys it
    found gone; how many keys were written or forgotten. Call it once, when the run has
    succeeded; a failed run's rows then come again next time.

    The pending file is read a line (a chunk) at a time, written in one transaction, then
    removed: a second commit of the same output (a run resumed after it) finds nothing to do.
    A file that is not there (committed already; its run's folder pruned before a rerun from
    a later step ended) is left at that: its rows are passed on again next time."""
    done = 0
    for step_id, output in outputs.items():
        pending = output.get(PENDING) if isinstance(output, dict) else None
        if not isinstance(pending, dict):
            continue
        store = services.hashes(workflow_id, step_id)
        if PENDING_FILE not in pending:  # kept inline by an earlier version of idms
            done += store.put_chunks([pending])
            continue
        path = _pending_path(services, pending)
        if path is None:
            log.info("step %s: its pending hashes were committed already", step_id)
            continue
        with path.open("rb") as lines:
            done += store.put_chunks(orjson.loads(line) for line in lines if line.strip())
        path.unlink(missing_ok=True)
    return done


def _pending_path(services: WorkflowServices, reference: Mapping[str, Any]) -> Path | None:
    """The pending file a reference names, in the folder of the run that wrote it; None when
    it is not there. Only a plain ``*.pending-hashes.jsonl`` name of a run's own folder."""
    name, run_id = reference.get(PENDING_FILE), reference.get("run_id")
    if not isinstance(name, str) or not isinstance(run_id, str):
        raise StepFailed("The pending hashes' reference is damaged.", retryable=False)
    if not name.endswith(PENDING_SUFFIX):
        raise StepFailed(f"{printable(name)!r} is not a pending hashes file.", retryable=False)
    path = services.run_files(run_id) / safe_file_name(name)
    return path if path.is_file() else None


def _kind(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, str):
        return "text" + (" (a template that did not give an array?)" if "{" in value else "")
    if isinstance(value, dict):
        return "one object"
    return f"a {type(value).__name__}"


def _columns(row: Mapping[str, Any]) -> str:
    names = list(row)
    return ", ".join(names[:10]) + (", ..." if len(names) > 10 else "") if names else "none"


def _commit(services: WorkflowServices, workflow_id: str, step_id: str, output: Any) -> None:
    commit_pending(services, workflow_id, {step_id: output})


ACTION = ActionSpec(
    name="delta_hashing",
    label="Delta Hashing",
    summary="pass on only the rows that are new or changed since the last successful run",
    params=Params,
    run=run,
    literal=frozenset({"key_column"}),
    public=public_output,
    on_success=lambda services, workflow_id, step_id, output: _commit(
        services, workflow_id, step_id, output
    ),
    example="""\
- id: changed
  action: delta_hashing
  with:
    key_column: ID
    input: "{{ steps.members }}"
    removed_keys: false
# steps.changed.rows: the new or changed rows; steps.changed.count: how many
""",
)
