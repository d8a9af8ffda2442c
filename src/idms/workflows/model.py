"""The workflow document (iWorkflow): a name, a state, one trigger and ordered steps.

A workflow is written as YAML or JSON (``idms workflow save FILE``, ``PUT /api/v1/workflows``),
checked here before it is saved or run, with every problem listed by where it is
(``steps[2].with.url: …``), and kept in the suite database as JSON. The format is documented in
``docs/workflows.md``; an example::

    name: LMS completion to CE activity
    state: active                       # active | disabled | archived
    trigger:
      type: webhook                     # manual | schedule | webhook | change_notification
      respond_status: 200               # or 202
    steps:
      - id: check
        action: json_schema_validation
        with: {schema: {type: object, required: [imisId, course]}}
      - id: record
        action: insert_record
        with: {source: Activity, rows: "{{ input | array }}", mappings: [...]}
        on_failure: quit_failure        # quit_success | ignore | {goto: STEP}
        retry: {attempts: 3, backoff_seconds: 2}

``with`` holds the action's parameters (each action's own model checks them,
:mod:`idms.workflows.actions`); a string in it may be a Liquid template, rendered when the step
runs (:mod:`idms.workflows.templating`).
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from idms.errors import InvalidInputError, printable

STEP_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")
EVENT_TYPE = re.compile(r"^[A-Za-z][A-Za-z0-9]*\.(\*|[A-Za-z][A-Za-z0-9]*)$")
MAX_STEPS = 100


class WorkflowState(StrEnum):
    """iDMS's workflow states: an active workflow answers its triggers; a disabled one is kept
    and editable but started by nothing but a manual run; an archived one is read-only and
    started by nothing."""

    ACTIVE = "active"
    DISABLED = "disabled"
    ARCHIVED = "archived"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ManualTrigger(Strict):
    """Started by hand (``idms workflow run``, the API, the UI) with an optional JSON body."""

    type: Literal["manual"] = "manual"


class ScheduleTrigger(Strict):
    """Started by a schedule (``idms schedule add NAME --workflow W --cron …``): the schedule
    holds the timing; the run's input is ``input`` here (an object, default empty)."""

    type: Literal["schedule"] = "schedule"
    input: dict[str, Any] = Field(default_factory=dict)


class WebhookTrigger(Strict):
    """iHook: ``POST /hooks/{token}`` with a JSON object body starts a run (``hook-url``)."""

    type: Literal["webhook"] = "webhook"
    respond_status: Literal[200, 202] = 200
    omit_response_body: bool = False
    # Beyond iDMS: a Standard Webhooks signing secret (the name of a stored secret, never the
    # secret itself); deliveries must then carry a valid, fresh webhook-signature.
    signing_secret: str | None = None
    max_body_bytes: int = Field(default=1024 * 1024, ge=1, le=100 * 1024 * 1024)
    # Where the request's host and headers go in the run's input (iDMS's "Metadata Output
    # Property"); none: the body alone.
    metadata_property: str | None = None


class ChangeNotificationTrigger(Strict):
    """An iMIS change notification (Azure Event Grid schema) whose event type matches:
    ``Party.Updated``, ``Activity.*``; empty: every event."""

    type: Literal["change_notification"] = "change_notification"
    event_types: list[str] = Field(default_factory=list)
    include_full_record: bool = False
    metadata_property: str | None = None

    @field_validator("event_types")
    @classmethod
    def _event_types(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if not EVENT_TYPE.match(v)]
        if bad:
            raise ValueError(
                f"{', '.join(repr(printable(b)) for b in bad)}: an event type is Entity.Action "
                f"(Party.Updated) or Entity.* (Activity.*)"
            )
        return value


Trigger = Annotated[
    ManualTrigger | ScheduleTrigger | WebhookTrigger | ChangeNotificationTrigger,
    Field(discriminator="type"),
]


class OnFailure(StrEnum):
    """What happens when a step fails (or is disabled), as iDMS's step sequencing says."""

    QUIT_FAILURE = "quit_failure"  # the default: the run ends failed
    QUIT_SUCCESS = "quit_success"  # the run ends succeeded
    IGNORE = "ignore"  # carry on with the next step, the input passed through
    # Beyond iDMS: carry on with the next steps (a step with ``when: failure`` can report the
    # failure), but the run ends failed, and what waits for a successful run (Delta Hashing's
    # fingerprints) is not kept. What a transfer's connection steps are compiled with.
    CONTINUE = "continue"


class When(StrEnum):
    """Whether a step runs, by the outcome of the step that ran before it (a step skipped by
    its ``when`` is passed over: the one before it decides): iDMS's conditional job steps, e.g.
    "send a failure webhook only if the upload failed". Unset, a step runs whenever it is
    reached, as it always has (after a step that succeeded, or whose failure was ignored)."""

    SUCCESS = "success"  # only if the previous step succeeded
    FAILURE = "failure"  # only if the previous step failed
    ALWAYS = "always"  # whatever the previous step did


class GoTo(Strict):
    """Go on at a later step (forward only, as iDMS)."""

    goto: str


class Retry(Strict):
    """Beyond iDMS: try a failing step again (``attempts`` in all, waiting ``backoff_seconds``,
    doubled each time, at most ``max_backoff_seconds``)."""

    attempts: int = Field(default=1, ge=1, le=20)
    backoff_seconds: float = Field(default=1.0, ge=0, le=3600)
    max_backoff_seconds: float = Field(default=300.0, ge=0, le=86400)


class Step(Strict):
    """One step: an action with its parameters (``with``), where its result goes (``output``,
    default the step's id) and what to do when it fails."""

    id: str
    action: str
    name: str | None = None  # a label for people
    enabled: bool = True
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")
    output: str | None = None
    on_failure: OnFailure | GoTo = OnFailure.QUIT_FAILURE
    retry: Retry = Field(default_factory=Retry)
    when: When | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not STEP_ID.match(value):
            raise ValueError(
                f"{printable(value)!r}: a step id is a letter or _ then letters, digits or _ "
                f"(it is how templates name the step: steps.{{id}})"
            )
        return value

    @property
    def output_property(self) -> str:
        return self.output or self.id


class WorkflowDoc(Strict):
    """A whole workflow, as saved, exported and imported."""

    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    state: WorkflowState = WorkflowState.ACTIVE
    trigger: Trigger = Field(default_factory=ManualTrigger)
    steps: list[Step] = Field(min_length=1, max_length=MAX_STEPS)

    @model_validator(mode="after")
    def _steps(self) -> WorkflowDoc:
        problems = sequence_problems(list(enumerate(self.steps)))
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def step(self, step_id: str) -> Step:
        return next(s for s in self.steps if s.id == step_id)

    def index_of(self, step_id: str) -> int:
        return next(i for i, s in enumerate(self.steps) if s.id == step_id)


def sequence_problems(steps: list[tuple[int, Step]]) -> list[str]:
    """What is wrong with the order of ``steps`` (each with its index in the document): a step
    id used twice, a ``goto`` to no step or to a step not after its own."""
    problems: list[str] = []
    seen: dict[str, int] = {}
    for index, step in steps:
        if step.id in seen:
            problems.append(f"steps[{index}].id: {step.id!r} is also step {seen[step.id]}")
        seen.setdefault(step.id, index)
    if steps and steps[0][0] == 0 and steps[0][1].when == When.FAILURE:
        problems.append(
            "steps[0].when: the first step has no step before it that could have failed"
        )
    for index, step in steps:
        if isinstance(step.on_failure, GoTo):
            target = step.on_failure.goto
            if target not in seen:
                problems.append(f"steps[{index}].on_failure.goto: no step {target!r}")
            elif seen[target] <= index:
                problems.append(
                    f"steps[{index}].on_failure.goto: {target!r} is not after this step "
                    f"(steps go forward only)"
                )
    return problems


class WorkflowInvalid(InvalidInputError):
    """A workflow document with problems: every one listed, each with where it is."""

    def __init__(self, problems: list[str], *, hint: str | None = None) -> None:
        self.problems = [printable(p) for p in problems]
        listed = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"The workflow is not valid:\n{listed}", hint=hint)


def problems_of(error: ValidationError) -> list[str]:
    """pydantic's errors as ``where: what`` lines (``steps[2].with.url: …``)."""
    lines = []
    for item in error.errors():
        where = ""
        for part in item.get("loc", ()):
            if isinstance(part, int):
                where += f"[{part}]"
            elif part in ("manual", "schedule", "webhook", "change_notification"):
                continue  # the discriminated union's branch: not a place in the document
            else:
                where += f".{part}" if where else str(part)
        message = str(item.get("msg", "is invalid")).removeprefix("Value error, ")
        lines.append(f"{where or '(top level)'}: {message}")
    return lines


def parse_workflow(document: Any) -> WorkflowDoc:
    """``document`` (a parsed YAML/JSON object) as a :class:`WorkflowDoc`, or
    :class:`WorkflowInvalid` listing every problem of its shape. Each step's parameters are
    checked against its action by :func:`idms.workflows.check.check_workflow`."""
    if not isinstance(document, dict):
        raise WorkflowInvalid(["(top level): a workflow is a mapping (name:, trigger:, steps:)"])
    try:
        return WorkflowDoc.model_validate(document)
    except ValidationError as exc:
        raise WorkflowInvalid(problems_of(exc)) from None
