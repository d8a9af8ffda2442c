"""Select (iDMS): reshape the data — add, rename, hard-code and drop properties.

* **Standard mode** reshapes the whole pipeline object: each entry of ``columns`` is a property
  of the new object, its value a template (``"{{ input.member.Email }}"``) or a constant
  (``"Web"``). Without ``keep_other_properties`` the object holds those properties only; with
  it, they are added to (or replace) the properties already there.
* **Array mode** reshapes each row of a tabular array (``array``, e.g. ``"{{ input.rows }}"``):
  ``item`` is the row, ``input`` the whole object; the new rows go to the step's output
  property (or ``iteration_output``). It fails unless the array holds objects that all have
  the same columns.

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

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from idms.workflows.actions.base import ActionContext, ActionSpec, StepFailed, StepResult


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


def _rows(value: Any) -> list[dict[str, Any]]:
    """The array mode's rows, refused unless an array of objects with the same columns."""
    if not isinstance(value, list):
        kind = "nothing" if value is None else type(value).__name__.replace("dict", "an object")
        raise StepFailed(
            f"Select in array mode needs an array of rows; it got {kind}.", retryable=False
        )
    if not all(isinstance(row, dict) for row in value):
        raise StepFailed(
            "Select in array mode needs an array of objects (rows); some items are not.",
            retryable=False,
        )
    if value:
        first = list(value[0])
        for number, row in enumerate(value[1:], start=2):
            if set(row) != set(first):
                raise StepFailed(
                    f"Select in array mode needs rows that all have the same columns: row "
                    f"{number} has {sorted(row)}, row 1 has {sorted(first)}.",
                    retryable=False,
                )
    return value


def _count(n: int, noun: str) -> str:
    plural = noun[:-1] + "ies" if noun.endswith("y") else noun + "s"
    return f"{n:,} {noun if n == 1 else plural}"


def run(params: SelectParams, data: dict[str, Any], context: ActionContext) -> StepResult:
    if params.mode == "standard":
        selected = {name: _value(v, context, {}) for name, v in params.columns.items()}
        new = {**data, **selected} if params.keep_other_properties else selected
        return StepResult(data=new, message=f"{_count(len(selected), 'property')} selected.")
    rows = _rows(params.array)
    out: list[dict[str, Any]] = []
    for row in rows:
        selected = {name: _value(v, context, {"item": row}) for name, v in params.columns.items()}
        out.append({**row, **selected} if params.keep_other_properties else selected)
    message = f"{_count(len(out), 'row')} reshaped."
    if params.iteration_output:
        return StepResult(output=out, data={**data, params.iteration_output: out}, message=message)
    return StepResult(output=out, message=message)


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
