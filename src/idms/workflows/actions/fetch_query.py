"""Fetch Query Data (iDMS "Fetch IQA Data"): a saved query's rows, on the workspace's target,
put on the pipeline: an array of objects (one per row, by the query's column names) while they
are few, a row set of the run beyond (:mod:`idms.workflows.actions.rowsets`: a JSON Lines file
the rows are streamed into as the target gives them, so 500,000 members are never held)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from idms.workflows.actions.base import ActionContext, ActionSpec, StepResult
from idms.workflows.actions.rowsets import row_count, rows_output


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, description="a saved query's name, or an IQA's $/ path")
    params: dict[str, Any] = Field(
        default_factory=dict, description="its prompts' values (templates allowed)"
    )
    limit: int | None = Field(default=None, ge=1, description="at most this many rows")


def run(params: Params, data: dict[str, Any], context: ActionContext) -> StepResult:
    rows = context.services.iter_query_rows(params.query, params.params, limit=params.limit)
    close = getattr(rows, "close", None)
    try:
        output = rows_output(rows, context, context.step_id)
    finally:
        if close is not None:
            close()  # the query and the target, even when a row could not be written
    count = row_count(output) or 0
    shown = "1 row" if count == 1 else f"{count:,} rows"
    return StepResult(output=output, message=f"{shown} from query {params.query!r}.")


ACTION = ActionSpec(
    name="fetch_query",
    label="Fetch IQA Data",
    summary="a saved query's rows, as an array of objects (a row set when many)",
    params=Params,
    run=run,
    example="""\
- id: members
  action: fetch_query
  with:
    query: Members changed since
    params:
      since: "{{ now | date: '%Y-%m-%d' }}"
    limit: 50000
""",
)
