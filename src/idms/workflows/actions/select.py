"""Select (iDMS): reshape the data — add, rename, hard-code and drop properties.

* **Standard mode** reshapes the whole pipeline object: each entry of ``columns`` is a property
  of the new object, its value a template (``"{{ input.member.Email }}"``) or a constant
  (``"Web"``). Without ``keep_other_properties`` the object holds those properties only; with
  it, they are added to (or replace) the properties already there.
* **Array mode** reshapes each row of a tabular array (``array``, e.g. ``"{{ input.rows }}"``)
  or of a row set (:mod:`idms.workflows.actions.rowsets`), one row at a time: ``item`` is the
  row, ``input`` the whole object; the new rows go to the step's output property (or
  ``iteration_output``), as an array while few, as a row set beyond. It fails unless the
  rows are objects that all have the same columns.

Column expressions are case-sensitive: ``item.Email`` and ``item.email`` are two columns.

::

    - id: shape
      action: select
      with:
        mode: array
        array: "{{ input.changed }}"
        columns:
          ImisId: "{{ item.ID }}"
          Email: "{{ item.Email }}"
          Source: Web
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from idms.workflows.actions.base import ActionContext, ActionSpec, StepFailed, StepResult
from idms.workflows.actions.rowsets import is_row_set, iter_rows, row_count, rows_output


class SelectParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: Literal["standard", "array"] = "standard"
    columns: dict[str, Any] = Field(min_length=1)
    keep_other_properties: bool = False
    array: Any = None  # array mode: the rows (usually a template)
    iteration_output: str | None = None  # array mode: where the new rows go


def _value(value: Any, context: ActionContext, extra: dict[str, Any]) -> Any:
    """A column's value: its templates rendered (inside an object or a list too)."""
    if isinstance(value, str) and ("{{" in value or "{%" in value):
        return context.render(value, extra)
    if isinstance(value, dict):
        return {k: _value(v, context, extra) for k, v in value.items()}
    if isinstance(value, list):
        return [_value(v, context, extra) for v in value]
    return value


def _rows(value: Any, context: ActionContext) -> Iterator[dict[str, Any]]:
    """The array mode's rows (an array, or a row set of the run), one at a time, refused
    unless objects that all have the same columns."""
    if not isinstance(value, list) and not is_row_set(value):
        kind = "nothing" if value is None else type(value).__name__.replace("dict", "an object")
        raise StepFailed(
            f"Select in array mode needs an array of rows; it got {kind}.", retryable=False
        )
    first: list[str] | None = None
    columns: set[str] = set()
    try:
        for number, row in enumerate(iter_rows(value, context, what="array"), start=1):
            if first is None:
                first, columns = list(row), set(row)
            elif set(row) != columns:
                raise StepFailed(
                    f"Select in array mode needs rows that all have the same columns: row "
                    f"{number} has {sorted(row)}, row 1 has {sorted(first)}.",
                    retryable=False,
                )
            yield row
    except StepFailed as exc:
        if exc.message.startswith("Select in array mode"):
            raise
        raise StepFailed(
            f"Select in array mode needs an array of objects (rows): {exc.message}",
            retryable=False,
        ) from None


def _count(n: int, noun: str) -> str:
    plural = noun[:-1] + "ies" if noun.endswith("y") else noun + "s"
    return f"{n:,} {noun if n == 1 else plural}"


def run(params: SelectParams, data: dict[str, Any], context: ActionContext) -> StepResult:
    if params.mode == "standard":
        selected = {name: _value(v, context, {}) for name, v in params.columns.items()}
        new = {**data, **selected} if params.keep_other_properties else selected
        return StepResult(data=new, message=f"{_count(len(selected), 'property')} selected.")
    shaped = (_shaped(row, params, context) for row in _rows(params.array, context))
    out = rows_output(shaped, context, context.step_id)
    message = f"{_count(row_count(out) or 0, 'row')} reshaped."
    if params.iteration_output:
        return StepResult(output=out, data={**data, params.iteration_output: out}, message=message)
    return StepResult(output=out, message=message)


def _shaped(row: dict[str, Any], params: SelectParams, context: ActionContext) -> dict[str, Any]:
    selected = {name: _value(v, context, {"item": row}) for name, v in params.columns.items()}
    return {**row, **selected} if params.keep_other_properties else selected


ACTION = ActionSpec(
    name="select",
    label="Select",
    summary="Reshape the data or each row of an array: add, rename, hard-code, drop properties.",
    params=SelectParams,
    run=run,
    literal=frozenset({"columns"}),
    example=(
        "- id: shape\n"
        "  action: select\n"
        "  with:\n"
        "    mode: array\n"
        '    array: "{{ input.changed }}"\n'
        '    columns: {ImisId: "{{ item.ID }}", Source: Web}\n'
    ),
)
