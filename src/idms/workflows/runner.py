"""Running a workflow: its steps in order, the pipeline object flowing through them, each step
recorded as it starts and ends, the run durable like every run.

A workflow run is a run of kind ``workflow`` (:class:`~idms.runs.status.RunKind`), executed by
:func:`~idms.execution.execute.execute_run` like an import: it holds a lease while it works (a
run whose process dies is recovered, :meth:`~idms.runs.leases.Leases.recover_lapsed`), and it
reads, between steps, whether it was cancelled. What it needs to run again — the workflow's
document as it was when the run was recorded, the trigger's output, where to start — is sealed
with the run (``sealed_job``). After each step, the pipeline object is sealed with the step's
row: a resumed run carries on at the first step that had not finished, from the data the last
finished one left, never running a finished step again.

Per step (as iDMS, with a retry policy beyond it): record it ``running``; render its
parameters (:mod:`idms.workflows.templating`); check them against its action; call the action;
on success put its output at the step's output property (or take its new data) and go on (or
stop, or go forward to a step); on failure try again per ``retry``, then apply ``on_failure``
(quit reporting failure, quit reporting success, ignore and continue, go to a later step). A
disabled step is not run: its ``on_failure`` decides what follows, as iDMS does.

What the run page shows of each step (its input and output) is JSON with secrets masked
(:func:`idms.workflows.masking.mask`): the values of keys that look secret, and any stored
secret the run used. Step data past 256 KiB is kept as a sealed file of the run
(:mod:`idms.workflows.stepdata`).

A workflow run writes no rows itself (the runs its steps start do), so its row counts stay
zero and add up; what it did is told by its steps: ``{"total", "succeeded", "failed",
"skipped"}``, kept with the run (``RunInfo.steps``) and in its report.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from idms import jsontext
from idms.config import Settings
from idms.errors import IdmsError, InvalidInputError
from idms.jobs.durable import Lease
from idms.jobs.report import RunReport
from idms.private import private_folder
from idms.runs.durable import Durable
from idms.runs.leases import Leases
from idms.runs.record import NewRun, RunStore
from idms.runs.status import Counts, RunKind, RunStatus
from idms.secrets import SecretBox
from idms.state.models import utcnow
from idms.workflows.actions import actions
from idms.workflows.actions.base import (
    ActionContext,
    ActionSpec,
    StepFailed,
    StepResult,
    WorkflowServices,
)
from idms.workflows.check import steps_context
from idms.workflows.masking import RunServices, shown
from idms.workflows.model import GoTo, OnFailure, Step, When, WorkflowDoc, problems_of
from idms.workflows.store import StepRecord, WorkflowInfo, WorkflowStore
from idms.workflows.templating import TemplateError, render_params, render_value, scope

log = logging.getLogger("idms.workflows")

SLEEP_SLICE = 0.5  # how often a step waiting to be retried reads whether the run was cancelled

StepProgress = Callable[[StepRecord], None]


# ---- the run's record ---------------------------------------------------------------------------


@dataclass
class RunPlan:
    """What a workflow run needs to run (again): sealed with the run."""

    workflow_id: str
    document: dict[str, Any]
    trigger: Any  # the trigger's output: the run's first input
    start_step: str | None = None  # a rerun starts there ...
    start_data: dict[str, Any] | None = None  # ... with the data that step received
    start_outputs: dict[str, Any] = field(default_factory=dict)
    rerun_of: str | None = None

    def to_json(self) -> str:
        return jsontext.dumps(self.__dict__)

    @classmethod
    def from_json(cls, text: str) -> RunPlan:
        return cls(**jsontext.loads(text))


def new_run(
    workflow: WorkflowInfo,
    plan: RunPlan,
    *,
    box: SecretBox,
    trigger: str,
    settings: Settings,
    queued: bool,
    owner: str | None = None,
    lease_seconds: float = 60.0,
    schedule_id: str | None = None,
    started_by: str | None = None,
) -> NewRun:
    """The record of a run of ``workflow`` (queued for an executor, or running here now)."""
    shown: dict[str, Any] = {"workflow": workflow.name, "workflow_id": workflow.id}
    if plan.start_step is not None:
        shown["from_step"] = plan.start_step
    if plan.rerun_of is not None:
        shown["rerun_of"] = plan.rerun_of
    return NewRun(
        kind=RunKind.WORKFLOW,
        name=workflow.name,
        source="workflow",
        action=trigger,
        target=settings.target,
        platform=settings.platform.value,
        job=shown,
        status=RunStatus.QUEUED if queued else RunStatus.RUNNING,
        owner=owner,
        lease_seconds=lease_seconds,
        trigger=trigger,
        started_by=started_by,
        schedule_id=schedule_id,
        sealed_job=box.encrypt(plan.to_json()),
    )


def unseal_plan(box: SecretBox, sealed: str | None, run_id: str) -> RunPlan:
    if sealed is None:
        raise IdmsError(f"Run {run_id} holds no workflow to run.")
    return RunPlan.from_json(box.decrypt(sealed, name="the workflow run"))


# ---- masking what is shown --------------------------------------------------------------------


@dataclass
class _End:
    outcome: str  # success | failure | cancelled | lost
    message: str


@dataclass
class _State:
    """Where the run is: the pipeline object, each finished step's output, the next step."""

    data: dict[str, Any]
    outputs: dict[str, Any]
    index: int
    seq: int = 0  # the last step row's
    resume_seq: int | None = None  # a step row left running by a dead process
    data_in: dict[str, Any] | None = None  # what the step running now was given
    end: _End | None = None
    last_ok: bool = True  # how the last step that ran ended (what a step's ``when`` reads)
    deferred: str | None = None  # the first failure of an ``on_failure: continue`` step


class WorkflowRunner:
    """Runs (or resumes) one claimed workflow run."""

    def __init__(
        self,
        run_id: str,
        *,
        runs: RunStore,
        store: WorkflowStore,
        durable: Durable,
        services: WorkflowServices,
        progress: Callable[[int], None] | None = None,
        step_progress: StepProgress | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.run_id = run_id
        self.runs, self.store, self.durable = runs, store, durable
        self.services = RunServices(services)
        self.progress, self.step_progress = progress, step_progress
        self.leases = Leases(runs.engine)
        self.sleep = sleep
        self.box = durable.box

    # ---- the run as a whole ----

    def run(self) -> RunReport:
        info = self.runs.get(self.run_id)
        plan = unseal_plan(self.box, info.sealed_job, self.run_id)
        doc = WorkflowDoc.model_validate(plan.document)
        self.doc, self.plan, self.workflow_name = doc, plan, info.name
        state = self._restore(doc, plan)
        lease = Lease(self.leases, self.run_id, self.durable.owner, self.durable.lease_seconds)
        with lease:
            while state.end is None and state.index < len(doc.steps):
                if self.leases.is_cancel_requested(self.run_id):
                    state.end = _End("cancelled", self._cancelled_message(state))
                    break
                if not lease.renew():
                    state.end = _End("lost", "Another worker took this run over.")
                    break
                self._step(doc, state)
                if self.progress is not None:
                    self.progress(state.seq)
        return self._finish(state)

    def _cancelled_message(self, state: _State) -> str:
        last = self.doc.steps[state.index - 1].id if state.index > 0 else None
        where = f"after step '{last}'" if last else "before its first step"
        return f"Cancelled {where}; the steps after it were not run."

    def _finish(self, state: _State) -> RunReport:
        if state.end is not None and state.end.outcome == "lost":
            info = self.runs.get(self.run_id)
            status = RunStatus(info.status)
            return RunReport(self.run_id, status, Counts(), None, {}, state.end.message)
        steps = self.store.step_tally(self.run_id)  # every step of the run, resumed or not
        if state.end is None:
            ran = steps["total"] - steps["skipped"]
            done = f"{ran} step{'s' if ran != 1 else ''} run"
            extra = []
            if steps["skipped"]:
                extra.append(f"{steps['skipped']} skipped")
            if steps["failed"]:
                extra.append(f"{steps['failed']} failed and passed over")
            message = "Finished: " + done + (f" ({', '.join(extra)})" if extra else "") + "."
            status = RunStatus.SUCCEEDED
        else:
            message = state.end.message
            status = {
                "success": RunStatus.SUCCEEDED,
                "failure": RunStatus.FAILED,
                "cancelled": RunStatus.CANCELLED,
            }[state.end.outcome]
        if status is RunStatus.SUCCEEDED and state.deferred is not None:
            # A step that had to succeed failed, the run went on past it: it ends failed.
            status, message = RunStatus.FAILED, state.deferred
        if status is RunStatus.SUCCEEDED:
            try:
                self._on_success(state)
            except IdmsError as exc:
                status = RunStatus.FAILED
                message = (
                    f"The steps succeeded, but what they keep could not be stored: {exc.message}"
                )
        # No row of its own: the counts are zero (and add up); the steps tell what it did.
        self.runs.finish(
            self.run_id,
            status=status,
            counts=Counts().as_dict(),
            message=message,
            job={**self.runs.get(self.run_id).job, "steps": steps},
        )
        return RunReport(self.run_id, status, Counts(), None, {}, message, steps=steps)

    def _restore(self, doc: WorkflowDoc, plan: RunPlan) -> _State:
        """Where the run starts: at its first step (or a rerun's), or — resumed — after the
        last step that finished, with the data it left."""
        data = plan.start_data if plan.start_data is not None else _object(plan.trigger)
        index = doc.index_of(plan.start_step) if plan.start_step is not None else 0
        state = _State(data=dict(data), outputs=dict(plan.start_outputs), index=index)
        for seq, step_id, status, after in self.store.step_data(self.run_id):
            state.seq = seq
            if status == "running" or after is None:
                # Its process died while it ran: run it again, in the same row.
                state.resume_seq = seq
                state.index = doc.index_of(step_id)
                break
            state.data = after["data"]
            if "output" in after:
                state.outputs[step_id] = after["output"]
            state.index = after["next"]
            state.last_ok = after.get("ok", True)
            state.deferred = after.get("deferred")
            if after.get("end") is not None:
                state.end = _End(after["end"], after.get("message") or "")
            self.services.recall(after.get("secrets") or [])
        return state

    # ---- one step ----

    def _step(self, doc: WorkflowDoc, state: _State) -> None:
        step = doc.steps[state.index]
        spec = actions().get(step.action)
        if state.resume_seq is not None:
            seq, state.resume_seq = state.resume_seq, None
        else:
            seq = state.seq + 1
        state.seq = seq
        state.data_in = None
        if not _runs_after(step, state.last_ok):
            self._skip(step, state, seq)
            return
        if not step.enabled:
            self._after_failure(
                step,
                state,
                reason=f"Step '{step.id}' is disabled.",
                output=None,
                status="skipped",
                seq=seq,
                new_row=True,
            )
            return
        state.data_in = data_in = state.data
        self.store.start_step(
            self.run_id, seq, step.id, step.action, shown(data_in, self.services.secrets)
        )
        if spec is None:
            known = ", ".join(sorted(actions()))
            self._after_failure(
                step,
                state,
                reason=f"Step '{step.id}': no action '{step.action}' (the actions: {known}).",
                output=None,
                status="failed",
                seq=seq,
            )
            return
        try:
            result = self._attempts(step, spec, state, seq)
        except StepFailed as exc:
            if exc.data is not None:  # what the step passes on if the run carries on past it
                state.data = dict(exc.data)
            self._after_failure(
                step, state, reason=exc.message, output=exc.output, status="failed", seq=seq
            )
            return
        self._after_success(step, state, result, seq)

    def _skip(self, step: Step, state: _State, seq: int) -> None:
        """Record a step whose ``when`` does not hold as skipped, and go on (the step before
        it still decides the next one's ``when``)."""
        before = "succeeded" if state.last_ok else "failed"
        wanted = "succeeded" if step.when == When.SUCCESS else "failed"
        reason = f"Not run: it runs only if the previous step {wanted}; it {before}."
        self.store.add_step(
            self.run_id, seq, step.id, step.action, status="skipped", message=reason,
            sealed_data=None,
        )  # fmt: skip
        self._record(step, state, seq, "skipped", reason, None, state.index + 1, None, None)

    def _attempts(self, step: Step, spec: ActionSpec, state: _State, seq: int) -> StepResult:
        """The step's action called, and called again per its retry policy; StepFailed with
        the last failure's reason when no attempt succeeded."""
        policy = step.retry
        delay = policy.backoff_seconds
        attempt = 0
        while True:
            attempt = self.store.attempt(self.run_id, seq)
            try:
                return self._call(step, spec, state, attempt)
            except StepFailed as exc:
                if not exc.retryable or attempt >= policy.attempts:
                    raise
                log.info(
                    "run %s step %s: attempt %d failed: %s",
                    self.run_id,
                    step.id,
                    attempt,
                    exc.message,
                )
            if not self._wait(min(delay, policy.max_backoff_seconds)):
                raise StepFailed(
                    "The run was cancelled while the step waited to be retried.", retryable=False
                )
            delay *= 2

    def _wait(self, seconds: float) -> bool:
        """Sleep ``seconds``; False when the run is cancelled meanwhile."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self.sleep(min(left, SLEEP_SLICE))
            if self.leases.is_cancel_requested(self.run_id):
                return False
        return True

    def _call(self, step: Step, spec: ActionSpec, state: _State, attempt: int) -> StepResult:
        names = scope(state.data, self.plan.trigger, self._public_outputs(state), utcnow())
        try:
            rendered = render_params(step.with_, names, literal=spec.literal)
        except TemplateError as exc:
            raise StepFailed(
                f"A template of step '{step.id}' failed: {exc.message}", retryable=False
            ) from None
        try:
            params = spec.params.model_validate(
                rendered, context=steps_context([s.id for s in self.doc.steps], step.id)
            )
        except ValidationError as exc:
            lines = "; ".join(f"with.{line}" for line in problems_of(exc))
            raise StepFailed(
                f"Step '{step.id}' got parameters its action cannot take: {lines}",
                retryable=False,
            ) from None

        def render(text: str, extra: Mapping[str, Any]) -> Any:
            try:
                return render_value(text, {**names, **extra})
            except TemplateError as exc:
                raise StepFailed(
                    f"A template of step '{step.id}' failed: {exc.message}", retryable=False
                ) from None

        context = ActionContext(
            services=self.services,
            workflow_id=self.plan.workflow_id,
            workflow=self.workflow_name,
            run_id=self.run_id,
            step_id=step.id,
            attempt=attempt,
            files=self._files(),
            render=render,
            log=lambda line: log.info("run %s step %s: %s", self.run_id, step.id, line),
            stop_requested=lambda: self.leases.is_cancel_requested(self.run_id),
        )
        try:
            result = spec.run(params, dict(state.data), context)
        except StepFailed:
            raise
        except InvalidInputError as exc:  # what was asked is wrong: trying again will not help
            raise StepFailed(exc.message, retryable=False) from None
        except IdmsError as exc:
            raise StepFailed(exc.message) from None
        except Exception as exc:
            log.exception("run %s step %s crashed", self.run_id, step.id)
            raise StepFailed(
                f"Step '{step.id}' stopped on an unexpected error ({type(exc).__name__}).",
                retryable=False,
            ) from None
        if not isinstance(result, StepResult):
            raise StepFailed(f"Step '{step.id}''s action gave no result.", retryable=False)
        return result

    def _files(self) -> Path:
        return private_folder(self.durable.folder(self.run_id) / "files")

    def _public(self, step_id: str, output: Any) -> Any:
        """A step's output as later steps and the run page see it (an action may keep more in
        it for the run's end: :attr:`ActionSpec.public`)."""
        spec = actions().get(self.doc.step(step_id).action) if step_id in self._ids else None
        return spec.public(output) if spec is not None and spec.public is not None else output

    def _public_outputs(self, state: _State) -> dict[str, Any]:
        return {k: self._public(k, v) for k, v in state.outputs.items()}

    def _on_success(self, state: _State) -> None:
        """The run has succeeded: each action that waits for that (Delta Hashing stores its
        fingerprints only now, so a failed run's rows come again next time) is told."""
        for step_id, output in state.outputs.items():
            if step_id not in self._ids:
                continue
            spec = actions().get(self.doc.step(step_id).action)
            if spec is not None and spec.on_success is not None:
                spec.on_success(self.services, self.plan.workflow_id, step_id, output)

    @property
    def _ids(self) -> set[str]:
        return {s.id for s in self.doc.steps}

    def _after_success(self, step: Step, state: _State, result: StepResult, seq: int) -> None:
        if result.data is not None:
            data = dict(result.data)
            output = result.output if result.output is not None else data
        else:
            data = dict(state.data)
            output = result.output
            if output is not None:
                data[step.output_property] = self._public(step.id, output)
        state.data = data
        state.outputs[step.id] = output
        state.last_ok = True
        end: str | None = None
        message = result.message
        next_index = state.index + 1
        if result.stop is not None:
            end = result.stop
            why = f": {result.message}" if result.message else ""
            if result.stop == "failure":
                message = f"Stopped as failed at step '{step.id}'{why}"
            else:
                message = f"Stopped as succeeded at step '{step.id}'{why}"
        elif result.goto is not None:
            target = self._forward(step, result.goto, state.index)
            if isinstance(target, str):
                self._after_failure(
                    step, state, reason=target, output=output, status="failed", seq=seq
                )
                return
            next_index = target
        self._record(
            step, state, seq, "succeeded", result.message, output, next_index, end, message
        )

    def _forward(self, step: Step, goto: str, index: int) -> int | str:
        """The index of step ``goto`` when it is after step ``index``; else why not (text)."""
        ids = [s.id for s in self.doc.steps]
        if goto not in ids:
            return f"Step '{step.id}' asked to go to step '{goto}', which this workflow lacks."
        target = ids.index(goto)
        if target <= index:
            return f"Step '{step.id}' asked to go back to step '{goto}': steps go forward only."
        return target

    def _after_failure(
        self,
        step: Step,
        state: _State,
        *,
        reason: str,
        output: Any,
        status: str,
        seq: int,
        new_row: bool = False,
    ) -> None:
        """Apply the step's ``on_failure``: quit reporting failure or success, ignore and go
        on with the data it was given, or go to a later step."""
        choice = step.on_failure
        end: str | None = None
        message: str | None = None
        next_index = state.index + 1
        label = "is disabled" if status == "skipped" else "failed"
        if status == "failed":
            state.last_ok = False
        if isinstance(choice, GoTo):
            target = self._forward(step, choice.goto, state.index)
            if isinstance(target, str):
                end, message = "failure", f"Step '{step.id}' {label}: {reason} {target}"
            else:
                next_index = target
        elif choice == OnFailure.QUIT_SUCCESS:
            end = "success"
            message = f"Ended as succeeded at step '{step.id}', which {label}: {reason}"
        elif choice == OnFailure.CONTINUE:
            if state.deferred is None:
                state.deferred = f"Step '{step.id}' ({step.action}) {label}: {reason}"
        elif choice == OnFailure.QUIT_FAILURE:
            end = "failure"
            message = (
                f"Step '{step.id}' ({step.action}) {label}: {reason}"
                if status != "skipped"
                else f"Step '{step.id}' is disabled, and its on_failure is quit_failure."
            )
        if output is not None:
            state.outputs[step.id] = output
        if new_row:
            self.store.add_step(
                self.run_id,
                seq,
                step.id,
                step.action,
                status=status,
                message=reason,
                sealed_data=None,
            )
        self._record(step, state, seq, status, reason, output, next_index, end, message)

    def _record(
        self,
        step: Step,
        state: _State,
        seq: int,
        status: str,
        step_message: str | None,
        output: Any,
        next_index: int,
        end: str | None,
        run_message: str | None,
    ) -> None:
        sealed = {
            "data": state.data,
            "next": next_index,
            "end": end,
            "message": run_message,
            "secrets": self.services.names,
            "ok": state.last_ok,
            "deferred": state.deferred,
        }
        if output is not None:
            sealed["output"] = output
        # The input masked again: a secret may have been fetched by the step itself.
        data_in = None if status == "skipped" else state.data_in
        self.store.finish_step(
            self.run_id,
            seq,
            status=status,
            message=step_message,
            shown_input=None if data_in is None else shown(data_in, self.services.secrets),
            shown_output=None
            if output is None
            else shown(self._public(step.id, output), self.services.secrets),
            data=jsontext.dumps(sealed),
        )
        state.index = next_index
        if end is not None:
            state.end = _End(end, run_message or "")
        if self.step_progress is not None:
            record = next((r for r in self.store.steps(self.run_id) if r.seq == seq), None)
            if record is not None:
                self.step_progress(record)


def _runs_after(step: Step, last_ok: bool) -> bool:
    """Whether ``step`` runs after a step that succeeded (``last_ok``) or failed."""
    if step.when is None or step.when == When.ALWAYS:
        return True
    return last_ok if step.when == When.SUCCESS else not last_ok


def _object(value: Any) -> dict[str, Any]:
    """The trigger's output as the pipeline object: an object as it is, anything else under
    ``body``."""
    if isinstance(value, dict):
        return value
    return {} if value is None else {"body": value}


def run_workflow(
    run_id: str,
    *,
    runs: RunStore,
    store: WorkflowStore,
    durable: Durable,
    services: WorkflowServices,
    progress: Callable[[int], None] | None = None,
    step_progress: StepProgress | None = None,
) -> RunReport:
    """Run (or resume) claimed workflow run ``run_id`` to its end (see the module docstring)."""
    return WorkflowRunner(
        run_id,
        runs=runs,
        store=store,
        durable=durable,
        services=services,
        progress=progress,
        step_progress=step_progress,
    ).run()


def rerun_plan(
    runs: RunStore, store: WorkflowStore, box: SecretBox, run_id: str, from_step: str | None
) -> tuple[RunPlan, str]:
    """What a rerun of ``run_id`` from ``from_step`` runs (the workflow as it is saved now,
    from that step with the data it received in that run), and the workflow's ID."""
    info = runs.get(run_id)
    if info.kind != RunKind.WORKFLOW:
        raise InvalidInputError(
            f"Run {info.id} is not a workflow run ({info.kind}): 'rerun' is for workflow runs."
        )
    old = unseal_plan(box, info.sealed_job, info.id)
    if from_step is None:
        return RunPlan(old.workflow_id, old.document, old.trigger, rerun_of=info.id), info.name
    rows = store.step_data(info.id)
    data = old.start_data if old.start_data is not None else _object(old.trigger)
    outputs = dict(old.start_outputs)
    for _seq, step_id, _status, after in rows:
        if step_id == from_step:
            return (
                RunPlan(
                    old.workflow_id,
                    old.document,
                    old.trigger,
                    start_step=from_step,
                    start_data=data,
                    start_outputs=outputs,
                    rerun_of=info.id,
                ),
                info.name,
            )
        if after is None:
            break
        data = after["data"]
        if "output" in after:
            outputs[step_id] = after["output"]
    ids = [s[1] for s in rows]
    raise InvalidInputError(
        f"Step '{from_step}' did not run in run {info.id}: there is no data it received "
        f"to start from (the steps it ran: {', '.join(ids) or 'none'})."
    )
