"""Wait (beyond iDMS): pause the run for a number of seconds — to pace calls to a service
that limits their rate, or give another system time to catch up. The data passes through.

::

    - id: pause
      action: wait
      with: {seconds: 30}
"""

from __future__ import annotations

import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from idms.workflows.actions.base import ActionContext, ActionSpec, StepResult


class WaitParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seconds: float = Field(ge=0, le=3600)


SLICE = 0.5  # how often a wait asks whether the run was cancelled


def run(params: WaitParams, data: dict[str, Any], context: ActionContext) -> StepResult:
    deadline = time.monotonic() + params.seconds
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(min(left, SLICE))
        if context.stop_requested():
            waited = params.seconds - max(deadline - time.monotonic(), 0)
            return StepResult(
                output={"waited_seconds": round(waited, 3)},
                message=f"Stopped waiting after {waited:.1f} seconds: the run was cancelled.",
            )
    return StepResult(
        output={"waited_seconds": params.seconds},
        message=f"Waited {params.seconds:g} seconds.",
    )


ACTION = ActionSpec(
    name="wait",
    label="Wait",
    summary="Pause the run for a number of seconds (at most an hour).",
    params=WaitParams,
    run=run,
    example="- id: pause\n  action: wait\n  with: {seconds: 30}\n",
)
