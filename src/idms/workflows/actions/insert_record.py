"""Insert Record (iHook's "Insert Activity" and "Insert Panel Record", for any source): rows
from the pipeline written through the import engine, as a job without a file.

Every rule of an import applies (the source's fields and actions, matching, validation, the
task options), each row gets its outcome, and the run is recorded like any other: ``idms runs``
shows it, ``idms undo RUN`` puts back what it wrote. The step's output is the run's summary
with each row's outcome (``rows``: [{row, outcome, message, identity}]).

``mappings`` are a job's mappings (``field`` with ``column``, ``value`` or ``template``) and are
not rendered by the workflow as a whole: a ``column`` names a key of each row, a ``template``
is rendered per row by the import engine with the row in scope (``{{ row.course }}``, as
in a job file), and
a ``value`` holding ``{{ }}`` is rendered once by the step with the pipeline in scope (a
constant taken from the trigger: ``{{ input.course_code }}``).

The step fails when the run failed, or when rows came and every one of them failed (nothing
was written); with ``fail_on_row_errors``, when any row failed (the rows that succeeded stay
written: undo the run to take them back).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from idms.sources.model import Action
from idms.workflows.actions.base import ActionContext, ActionSpec, StepFailed, StepResult
from idms.workflows.actions.rowsets import is_row_set, iter_rows, row_count

TRIGGER = "workflow"
SHOWN_ERRORS = 3  # row errors quoted in the step's message


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str = Field(min_length=1, description="Activity, a panel's name, or any source")
    action: Action = Field(
        default=Action.INSERT, description="insert (default), insert-with-matching, update..."
    )
    mappings: list[dict[str, Any]] = Field(
        min_length=1, description="a job's mappings: field with column, value or template"
    )
    match_on: list[str] = Field(default_factory=list, description="further match keys")
    options: dict[str, Any] = Field(default_factory=dict, description="a job's options")
    rows: Any = Field(
        description="an object, an array of objects, or an earlier step's rows, e.g. {{ input }}"
    )
    name: str | None = Field(default=None, description="the run's name (default: the step's)")
    fail_on_row_errors: bool = Field(
        default=False, description="fail the step when any row failed (not only all of them)"
    )


def run(params: Params, data: dict[str, Any], context: ActionContext) -> StepResult:
    rows: Any = params.rows
    columns: list[str] | None = None
    if is_row_set(rows):  # an earlier step's rows, sealed into the run one at a time
        columns = [str(c) for c in rows.get("columns") or []]
    elif isinstance(rows, dict):
        rows = [rows]
    if columns is None and (
        not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows)
    ):
        raise StepFailed(
            "Insert Record needs an object or an array of objects (or an earlier step's rows) as "
            "its rows: check the rows template (e.g. {{ input }} for a webhook's body).",
            retryable=False,
        )
    total = row_count(rows) or 0
    job = {
        "name": params.name or f"{context.workflow}: {context.step_id}",
        "source": params.source,
        "action": params.action.value,
        "mappings": [_rendered(m, context) for m in params.mappings],
        "match_on": params.match_on,
        "options": params.options,
    }
    if not total:
        summary: dict[str, Any] = {"run_id": None, "status": "no rows", "rows": []}
        return StepResult(output=summary, message="No rows to insert: nothing was run.")
    # The key names the run: a step run again (its workflow run resumed after its process
    # died) carries that run on, or reports it, instead of inserting the rows twice.
    key = context.idempotency_key("insert")
    summary = context.services.insert_rows(
        job,
        iter_rows(rows, context, what="rows") if columns is not None else rows,
        trigger=TRIGGER,
        key=key,
        columns=columns,
    )
    run_id, status, errors = summary["run_id"], summary["status"], summary["errors"]
    failed = [r for r in summary["rows"] if r["outcome"] == "error"]
    quoted = "; ".join(
        f"row {r['row']}: {str(r['message']).rstrip('.')}" for r in failed[:SHOWN_ERRORS]
    )
    more = f" (and {len(failed) - SHOWN_ERRORS} more)" if len(failed) > SHOWN_ERRORS else ""
    if status in ("failed", "cancelled"):
        reason = f": {summary['message']}" if summary.get("message") else "."
        raise StepFailed(
            f"Run {run_id} ({params.source}) {status}{reason} What it wrote before stays: "
            "resume or undo that run.",
            output=summary,
            retryable=False,
        )
    if errors and errors == total:
        raise StepFailed(
            f"Every row failed ({errors} of {total}), nothing was written to "
            f"{params.source} (run {run_id}): {quoted}{more}.",
            output=summary,
            retryable=False,
        )
    if errors and params.fail_on_row_errors:
        raise StepFailed(
            f"{errors} of {total} rows failed (run {run_id}): {quoted}{more}. The other rows "
            "were written: undo the run to take them back.",
            output=summary,
            retryable=False,
        )
    written = ", ".join(
        f"{summary[k]} {k}" for k in ("inserted", "updated", "unchanged", "skipped") if summary[k]
    )
    message = f"Run {run_id} ({params.source}): {written or 'nothing written'}"
    if errors:
        message += f"; {errors} rows failed: {quoted}{more}"
    return StepResult(output=summary, message=message + ".")


def _rendered(mapping: dict[str, Any], context: ActionContext) -> dict[str, Any]:
    """A mapping with its constant rendered when it is a template (the pipeline in scope)."""
    value = mapping.get("value")
    if isinstance(value, str) and ("{{" in value or "{%" in value):
        return {**mapping, "value": context.render(value, {})}
    return mapping


ACTION = ActionSpec(
    name="insert_record",
    label="Insert Record",
    summary="insert the pipeline's rows into any source through the import engine "
    "(Insert Activity, Insert Panel Record)",
    params=Params,
    run=run,
    literal=frozenset({"mappings"}),
    example="""\
- id: activity
  action: insert_record
  with:
    source: Activity
    rows: "{{ input }}"
    mappings:
      - {field: ImisId, column: memberId}
      - {field: ActivityType, value: COURSE}
      - {field: Description, template: "{{ row.courseName }} completed"}
      - {field: Units, column: credits}
      - {field: Source, value: "{{ trigger.host | default: 'LMS' }}"}
""",
)
