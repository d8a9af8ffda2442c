"""A run's row results in their three forms: :class:`RowResult` (what the engine, reports and
undo read), the recorded tuple (:func:`recorded`: its images as JSON text, made once per row)
and the batch journal's text (:func:`rows_text`), with the parameters the suite's ``run_rows``
table is written with (:func:`row_params`). Storing them is :class:`~idms.runs.record.RunStore`'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from idms import jsontext


def dumps(value: Any) -> str | None:
    return None if value is None else jsontext.dumps(value)


def loads(text: str | None) -> Any:
    return None if text is None else jsontext.loads(text)


@dataclass
class RowResult:
    """One input row's outcome, as the engine records it."""

    seq: int
    row_number: int
    outcome: str
    code: str | None = None
    message: str | None = None
    field: str | None = None
    column: str | None = None
    identity: dict[str, Any] | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    input: dict[str, Any] | None = None


# A row result as it is recorded: RowResult's fields in their order, its identity, before, after
# and input as JSON text (made once per row, for the batch journal and the run's rows alike).
RowValues = tuple[Any, ...]
ROW_KEYS = (
    "seq", "row_number", "outcome", "code", "message", "field", "column",
    "identity", "before", "after", "input",
)  # fmt: skip


def recorded(
    seq: int,
    row_number: int,
    outcome: str,
    code: str | None,
    message: str | None,
    field: str | None,
    column: str | None,
    identity: Any,
    before: Any,
    after: Any,
    input: Any,  # RowResult's name
) -> RowValues:
    """A row result in its recorded form, straight from its parts (no RowResult made)."""
    return (
        seq,
        row_number,
        outcome,
        code,
        message,
        field,
        column,
        dumps(identity),
        dumps(before),
        dumps(after),
        dumps(input),
    )


def row_values(r: RowResult) -> RowValues:
    return recorded(
        r.seq,
        r.row_number,
        r.outcome,
        r.code,
        r.message,
        r.field,
        r.column,
        r.identity,
        r.before,
        r.after,
        r.input,
    )


def rows_text(rows: Sequence[RowValues]) -> str:
    """Row results as one JSON text (kept in a store's batch journal until they are recorded:
    ``ApplyOptions.journal``); :func:`rows_from_text` gives them back exactly."""
    return jsontext.dumps(rows)


def rows_from_text(text: str) -> list[RowValues]:
    return [tuple(item) for item in jsontext.loads(text)]


def row_params(run_id: str, rows: Sequence[RowValues]) -> list[dict[str, Any]]:
    keys = ("run_id", *ROW_KEYS)
    return [dict(zip(keys, (run_id, *values), strict=True)) for values in rows]
