"""Fetch Query Data (iDMS "Fetch IQA Data"): a saved query's rows, on the workspace's target,
put on the pipeline as an array of objects (one per row, by the query's column names)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from idms.workflows.actions.base import ActionContext, ActionSpec, StepResult


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, description="a saved query's name, or an IQA's $/ path")
    params: dict[str, Any] = Field(
        default_factory=dict, description="its prompts' values (templates allowed)"
    )
    limit: int | None = Field(default=None, ge=1, description="at most this many rows")


def run(params: Params, data: dict[str, Any], context: ActionContext) -> StepResult:
    rows = context.services.query_rows(params.query, params.params, limit=params.limit)
    shown = "1 row" if len(rows) == 1 else f"{len(rows)} rows"
    return StepResult(output=rows, message=f"{shown} from query {params.query!r}.")


ACTION = ActionSpec(
    name="fetch_query",
    label="Fetch IQA Data",
    summary="a saved query's rows, as an array of objects",
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
