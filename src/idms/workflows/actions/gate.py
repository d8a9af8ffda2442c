"""Gate (iDMS): stop the run as succeeded, stop it as failed, or go on at a later step — when
its activation expression is true, or always when it has none.

The gate itself always succeeds (so its step's ``on_failure`` never applies), except when its
expression is not a valid template. Its output is its expression's text (what it evaluated to),
put at the step's output property; the rest of the data passes through.

::

    - id: nothing_to_send
      action: gate
      with:
        mode: success                  # success | error | goto
        when: "{% if input.changed.size == 0 %}true{% endif %}"
        message: No member changed since last night.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_validator

from idms.workflows.actions.base import ActionContext, ActionSpec, StepResult


class GateParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: Literal["success", "error", "goto"] = "success"
    # The activation expression: the gate acts when it renders to true (the text "true", in
    # any case, or a true value); empty: always.
    when: str | None = None
    step: str | None = Field(default=None, description="the step to go to (mode goto)")
    message: str | None = None

    @model_validator(mode="after")
    def _step(self, info: ValidationInfo) -> GateParams:
        if self.mode != "goto":
            return self
        if not self.step:
            raise ValueError("mode goto needs the step to go to (step: ID)")
        known = (info.context or {}).get("steps")
        later = (info.context or {}).get("later_steps")
        if known is not None and self.step not in known:
            raise ValueError(f"no step {self.step!r} to go to")
        if later is not None and self.step not in later and "{" not in self.step:
            raise ValueError(f"{self.step!r} is not after this step (steps go forward only)")
        return self


def is_true(value: Any) -> bool:
    """Whether an activation expression's value says act: true, or the text "true"."""
    if isinstance(value, bool):
        return value
    return isinstance(value, str) and value.strip().casefold() == "true"


def run(params: GateParams, data: dict[str, Any], context: ActionContext) -> StepResult:
    text: Any = True
    if params.when is not None and params.when.strip():
        text = context.render(params.when, {})
    output = text if isinstance(text, str) else ("true" if text is True else str(text))
    if params.when is not None and params.when.strip() and not is_true(text):
        return StepResult(output=output, message="The gate's expression is not true: passed on.")
    why = params.message or "the gate's expression is true"
    if params.mode == "success":
        return StepResult(output=output, stop="success", message=why)
    if params.mode == "error":
        return StepResult(output=output, stop="failure", message=why)
    return StepResult(output=output, goto=params.step, message=f"Going on at step '{params.step}'.")


ACTION = ActionSpec(
    name="gate",
    label="Gate",
    summary="Stop the run (succeeded or failed) or go on at a later step, when a condition holds.",
    params=GateParams,
    run=run,
    literal=frozenset({"when"}),
    example=(
        "- id: nothing_to_send\n"
        "  action: gate\n"
        "  with:\n"
        "    mode: success\n"
        '    when: "{% if input.changed.size == 0 %}true{% endif %}"\n'
    ),
)
