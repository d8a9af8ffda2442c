"""Run Job (iDMS "iDMS iUpdate"): run a saved template whose input is a saved query (an
iUpdate task), its prompts filled from the pipeline; queued for an executor, or waited for to
its end. The step's output is the run's summary, its ``run_id`` linking the run."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from idms.workflows.actions.base import ActionContext, ActionSpec, StepFailed, StepResult

TRIGGER = "workflow"


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    template: str = Field(min_length=1, description="a saved template's name")
    params: dict[str, Any] = Field(
        default_factory=dict, description="its query's prompts' values (templates allowed)"
    )
    wait_for_completion: bool = Field(
        default=False, description="run it to its end here (else queue it and go on)"
    )


def run(params: Params, data: dict[str, Any], context: ActionContext) -> StepResult:
    summary = context.services.run_template(
        params.template,
        params.params,
        wait=params.wait_for_completion,
        trigger=TRIGGER,
        key=context.idempotency_key("job"),  # run again, the step finds its run: never two
    )
    run_id, status = summary["run_id"], summary["status"]
    if status in ("failed", "cancelled"):
        reason = f": {summary['message']}" if summary.get("message") else "."
        raise StepFailed(
            f"Run {run_id} of template {params.template!r} {status}{reason}",
            output=summary,
            retryable=False,  # what it wrote stays; resume or undo run RUN, not a second run
        )
    if status == "queued":
        message = f"Run {run_id} of template {params.template!r} queued."
    else:
        counts = ", ".join(
            f"{summary[k]} {k}" for k in ("inserted", "updated", "deleted", "errors") if summary[k]
        )
        message = f"Run {run_id} of template {params.template!r} {status}" + (
            f" ({counts})." if counts else "."
        )
    return StepResult(output=summary, message=message)


ACTION = ActionSpec(
    name="run_job",
    label="iDMS iUpdate",
    summary="run a saved iUpdate template (queued, or waited for), its run linked",
    params=Params,
    run=run,
    literal=frozenset({"template"}),
    example="""\
- id: unlock
  action: run_job
  with:
    template: Unlock locked-out accounts
    params:
      last_name: "{{ input.last_name }}"
    wait_for_completion: true
""",
)
