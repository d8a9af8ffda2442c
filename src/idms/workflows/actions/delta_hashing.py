"""Delta Hashing (iDMS "Delta Hashing"): pass on only the rows that are new or changed since
the workflow last ran.

Each row is known by its key column (an iMIS ID, a sequence number, a GUID: unique in the
rows) and fingerprinted by the SHA-256 of its canonical JSON (keys sorted, no spaces), so the
same data in another column order is the same row. The first run passes every row on; later
runs only the rows whose key is new or whose fingerprint differs from the one stored. Only the
key and the fingerprint are stored (per workflow and step: :class:`HashStore`), as iDMS
keeps them.

The store learns the new fingerprints only when the whole run has succeeded: a row sent to a
failing upload must be sent again next time. So the step does not write them; it leaves them in
its output under :data:`PENDING` and the runner, once the run ends succeeded, calls
:func:`commit_pending` with every step's output (and strips :data:`PENDING` from what it shows
and passes on: :func:`public_output`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from idms.workflows.actions.base import (
    ActionContext,
    ActionSpec,
    StepFailed,
    StepResult,
    WorkflowServices,
)

PENDING = "_pending_hashes"  # key -> new fingerprint, or None: a key gone (forgotten)
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
    rows = params.input
    if not isinstance(rows, list):
        raise StepFailed(
            f"Delta Hashing needs an array of rows as its input, not {_kind(rows)}: "
            "check the input template (e.g. {{ steps.fetch }}).",
            retryable=False,
        )
    store = context.services.hashes(context.workflow_id, context.step_id)
    key_column = params.key_column
    dumps = _canonical
    sha256 = hashlib.sha256
    pending: dict[str, str | None] = {}
    seen: set[str] = set()  # to refuse a key repeated
    changed: list[Any] = []
    first_run = True
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        keys: list[str] = []
        digests: list[str] = []
        for row in chunk:
            try:
                value = row[key_column]
                text = dumps(row)
            except (KeyError, TypeError, IndexError):
                raise _bad_row(rows, start + len(keys), key_column) from None
            key = value if value.__class__ is str else _key_text(value)
            if not key or key in seen:
                raise _bad_row(rows, start + len(keys), key_column)
            seen.add(key)
            keys.append(key)
            digests.append(sha256(text.encode("utf-8")).hexdigest())
        stored = store.get_many(keys)
        if stored:
            first_run = False
        get = stored.get
        for key, digest, row in zip(keys, digests, chunk, strict=True):
            if get(key) != digest:
                changed.append(row)
                pending[key] = digest
    output: dict[str, Any] = {"rows": changed, "count": len(changed), "total": len(rows)}
    if params.removed_keys:
        gone = sorted(set(store.keys()).difference(seen))
        output["removed_keys"] = gone
        pending.update(dict.fromkeys(gone))
        if gone:
            first_run = False
    output[PENDING] = pending
    if first_run and not rows:
        message = "No rows came in."
    elif first_run and len(changed) == len(rows):
        message = f"All {len(rows)} rows passed on (none known yet)."
    else:
        message = f"{len(changed)} of {len(rows)} rows new or changed."
    if params.removed_keys:
        message += f" {len(output['removed_keys'])} keys gone."
    return StepResult(output=output, message=message)


def _key_text(value: Any) -> str:
    """A key that is not text as text (a number's JSON); blank for no value."""
    if value is None or isinstance(value, dict | list):
        return ""
    return value if isinstance(value, str) else json.dumps(value, default=str)


def _bad_row(rows: list[Any], index: int, key_column: str) -> StepFailed:
    """Why row ``index`` (0-based) cannot be hashed: not an object, no key, a repeated key."""
    row, number = rows[index], index + 1
    if not isinstance(row, dict):
        message = (
            f"Row {number} of the input is {_kind(row)}, not an object: Delta Hashing needs an "
            "array of rows with columns."
        )
    elif not _key_text(row.get(key_column)):
        message = (
            f"Row {number} has no value in the key column {key_column!r}"
            + ("" if key_column in row else f" (its columns: {_columns(row)})")
            + ": every row needs a unique key (an iMIS ID, a sequence number, a GUID)."
        )
    else:
        key = _key_text(row[key_column])
        first = next(
            i + 1
            for i, other in enumerate(rows)
            if isinstance(other, dict) and _key_text(other.get(key_column)) == key
        )
        message = (
            f"The key {key!r} of column {key_column!r} is on rows {first} and {number}: the key "
            "column must tell every row apart."
        )
    return StepFailed(message, retryable=False)


def public_output(output: Any) -> Any:
    """The step's output as it is shown and passed on: without the fingerprints waiting for
    the run to succeed."""
    if isinstance(output, dict) and PENDING in output:
        return {k: v for k, v in output.items() if k != PENDING}
    return output


def commit_pending(services: WorkflowServices, workflow_id: str, outputs: Mapping[str, Any]) -> int:
    """Store the fingerprints every Delta Hashing step of a run that ended succeeded left in
    its output (``outputs``: step id -> that step's output as it returned it), and forget the
    keys it found gone; how many keys were written or forgotten. Call it once, when the run
    has succeeded; a failed run's rows then come again next time."""
    done = 0
    for step_id, output in outputs.items():
        if not isinstance(output, dict) or not isinstance(output.get(PENDING), dict):
            continue
        pending: dict[str, str | None] = output[PENDING]
        store = services.hashes(workflow_id, step_id)
        store.put_many({k: v for k, v in pending.items() if v is not None})
        gone = [k for k, v in pending.items() if v is None]
        delete_many = getattr(store, "delete_many", None)
        if delete_many is not None:
            delete_many(gone)
        else:
            for key in gone:
                store.delete(key)
        done += len(pending)
    return done


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
