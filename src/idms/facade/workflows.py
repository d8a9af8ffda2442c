"""The workflow part of the facade (iWorkflow, iHook): save and read workflows, start and run
them, their runs' steps and data, reruns, webhook URLs and the Template Tester."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import IO, TYPE_CHECKING, Any, Literal, cast

from idms.errors import Conflict
from idms.execution.execute import execute_run
from idms.facade.base import WorkspaceBase
from idms.runs.record import RunInfo

if TYPE_CHECKING:
    from idms.workflow_services import WorkspaceServices
    from idms.workflows.model import WorkflowState
    from idms.workflows.store import StepRecord, WorkflowInfo, WorkflowStore
    from idms.workspace import Workspace

# Who hears of each step of a workflow run executed in this thread (``run_workflow``'s caller).
STEP_PROGRESS: ContextVar[Callable[[StepRecord], None] | None] = ContextVar(
    "idms_step_progress", default=None
)


class WorkflowFacade(WorkspaceBase):
    """Workflows and their runs (a part of :class:`idms.workspace.Workspace`)."""

    @property
    def workflow_store(self) -> WorkflowStore:
        from idms.workflows.store import WorkflowStore

        return WorkflowStore(self.suite, self.box, self.runs_folder)

    def workflow_services(self) -> WorkspaceServices:
        """What workflow actions may ask of the suite (secrets, queries, jobs, hashes)."""
        from idms.workflow_services import WorkspaceServices

        return WorkspaceServices(cast("Workspace", self))  # a part of one, never alone

    def save_workflow(self, document: Mapping[str, Any]) -> tuple[WorkflowInfo, bool]:
        """Check ``document`` whole (WorkflowInvalid lists every problem, where it is) and save
        it, creating or replacing the workflow of its name: (the workflow, True when it was
        new). A webhook workflow gets its URL on first save and keeps it when replaced."""
        from idms.workflows.check import check_workflow

        doc = check_workflow(dict(document))
        return self.workflow_store.save(doc)

    def workflow(self, name: str) -> WorkflowInfo:
        return self.workflow_store.get(name)

    def workflows(self, *, state: WorkflowState | None = None) -> list[WorkflowInfo]:
        return self.workflow_store.list(state=state)

    def delete_workflow(self, name: str) -> None:
        """Delete a workflow (its runs stay in the history)."""
        self.workflow_store.delete(name)

    def set_workflow_state(self, name: str, state: WorkflowState) -> WorkflowInfo:
        return self.workflow_store.set_state(name, state)

    def _workflow_run(
        self,
        info: WorkflowInfo,
        input: Mapping[str, Any] | None,
        *,
        trigger: str,
        metadata: Mapping[str, Any] | None,
        queued: bool,
        schedule_id: str | None = None,
        started_by: str | None = None,
    ) -> RunInfo:
        """Record a run of ``info`` (refused for an archived workflow, and for a disabled one
        unless started by hand)."""
        from idms.workflows.model import WorkflowState
        from idms.workflows.runner import RunPlan, new_run

        if info.state == WorkflowState.ARCHIVED:
            raise Conflict(f"Workflow '{info.name}' is archived: it cannot be run.")
        if info.state == WorkflowState.DISABLED and trigger not in ("manual", "cli", "api"):
            raise Conflict(
                f"Workflow '{info.name}' is disabled: only a run started by hand can start it."
            )
        doc = info.doc
        first: dict[str, Any]
        if input is not None:
            first = dict(input)
        elif doc.trigger.type == "schedule":
            first = dict(doc.trigger.input)
        else:
            first = {}
        prop = getattr(doc.trigger, "metadata_property", None)
        if metadata is not None and prop:
            first[prop] = dict(metadata)
        plan = RunPlan(info.id, info.document, first)
        durable = self.durable()
        record = new_run(
            info,
            plan,
            box=self.box,
            trigger=trigger,
            settings=self.settings,
            queued=queued,
            owner=durable.owner,
            lease_seconds=durable.lease_seconds,
            schedule_id=schedule_id,
            started_by=started_by,
        )
        return self.runs.record(record)

    def start_workflow(
        self,
        name: str,
        input: Mapping[str, Any] | None = None,
        *,
        trigger: str,
        metadata: Mapping[str, Any] | None = None,
        schedule_id: str | None = None,
        workflow: WorkflowInfo | None = None,
        started_by: str | None = None,
    ) -> RunInfo:
        """Record a queued run of workflow ``name`` for an executor (``trigger``: manual,
        schedule, webhook, change_notification, api, cli; ``schedule_id``: the schedule that
        started it, whose failures it counts towards). ``workflow``: the workflow as the caller
        has just read it (a webhook's), not read again."""
        info = workflow if workflow is not None and workflow.name == name else self.workflow(name)
        return self._workflow_run(
            info,
            input,
            trigger=trigger,
            metadata=metadata,
            queued=True,
            schedule_id=schedule_id,
            started_by=started_by,
        )

    def run_workflow(
        self,
        name: str,
        input: Mapping[str, Any] | None = None,
        *,
        trigger: str = "cli",
        progress: Callable[[StepRecord], None] | None = None,
        started_by: str | None = None,
    ) -> RunInfo:
        """Record a run of workflow ``name`` and execute it here and now (as every run is
        executed, :func:`~idms.execution.execute.execute_run`); the run as it ended."""
        info = self.workflow(name)
        run_id = self._workflow_run(
            info, input, trigger=trigger, metadata=None, queued=False, started_by=started_by
        ).id
        token = STEP_PROGRESS.set(progress)
        try:
            execute_run(self, run_id)
        finally:
            STEP_PROGRESS.reset(token)
        return self.runs.get(run_id)

    def workflow_runs(self, name: str | None = None, *, limit: int = 50) -> list[RunInfo]:
        """The latest workflow runs (of workflow ``name``), newest first."""
        from idms.paging import check_window

        check_window(limit=limit)
        ids = self.workflow_store.runs_of(name, limit)
        if not ids and name is not None:
            self.workflow(name)  # no such workflow (NotFound, with the closest name)?
        return [self.runs.get(i) for i in ids]

    def workflow_steps(self, run_id: str) -> list[StepRecord]:
        """Every step of a workflow (or transfer) run, in the order they ran (input, output,
        status, time)."""
        from idms.runs.status import STEP_KINDS

        info = self.runs.get(run_id)
        if info.kind not in STEP_KINDS:
            raise Conflict(f"Run {info.id} is not a workflow run ({info.kind}): it has no steps.")
        return self.workflow_store.steps(info.id)

    def workflow_step_data(
        self, run_id: str, step: str, part: Literal["input", "output"]
    ) -> tuple[StepRecord, IO[bytes]]:
        """Step ``step`` (its ID or number) of a workflow run, and its input or output in full
        as masked JSON bytes (from the sealed file it is kept in when large): for a download.
        NotFound when the run has no such step or the step no such data."""
        info = self.runs.get(run_id)
        self.workflow_steps(info.id)  # a workflow run (Conflict otherwise)
        return self.workflow_store.open_shown(info.id, step, part)

    def rerun_workflow(
        self, run_id: str, *, from_step: str | None = None, started_by: str | None = None
    ) -> RunInfo:
        """Queue a new run of a workflow run's workflow (as saved now): from its start with the
        same trigger output, or from step ``from_step`` with the data that step received."""
        from idms.errors import InvalidInputError
        from idms.workflows.runner import new_run, rerun_plan

        old = self.runs.get(run_id)
        plan, _name = rerun_plan(self.runs, self.workflow_store, self.box, old.id, from_step)
        info = self.workflow_store.get_by_id(plan.workflow_id)
        plan.document = info.document
        if from_step is not None and from_step not in [s.id for s in info.doc.steps]:
            raise InvalidInputError(
                f"Workflow '{info.name}' has no step '{from_step}' now: it cannot start there."
            )
        from idms.workflows.model import WorkflowState

        if info.state == WorkflowState.ARCHIVED:
            raise Conflict(f"Workflow '{info.name}' is archived: it cannot be run.")
        record = new_run(
            info,
            plan,
            box=self.box,
            trigger="rerun",
            settings=self.settings,
            queued=True,
            started_by=started_by,
        )
        new_id = self.runs.create(record)
        if from_step is not None:  # its data may name the old run's files (a row set)
            from idms.workflows.stepdata import carry_files

            carry_files(self.runs_folder, old.id, new_id)
        return self.runs.get(new_id)

    def hook_token(self, name: str) -> str:
        """The secret part of workflow ``name``'s webhook URL (``/hooks/{token}``)."""
        return self.workflow_store.hook_token(name)

    def regenerate_hook(self, name: str) -> str:
        """A new webhook URL token; the old URL is refused from now on."""
        return self.workflow_store.regenerate_hook(name)

    def change_url_token(self) -> str:
        """The secret part of the workspace's change-notification URL (``/hooks/imis/{token}``,
        one for every change-notification workflow), made on first use."""
        from idms.workflows.notifications import ChangeUrl

        return ChangeUrl(cast("Workspace", self)).token()

    def workflow_by_hook(self, token: str) -> WorkflowInfo:
        return self.workflow_store.by_hook(token)

    def test_template(self, template: str, data: Mapping[str, Any]) -> Any:
        """iDMS's Template Tester: ``template`` rendered with ``data`` as a step would see it
        (``data`` is ``input`` and ``trigger``; its ``steps``, if any, is ``steps``)."""
        from idms.errors import InvalidInputError
        from idms.state.models import utcnow
        from idms.workflows.templating import TemplateError, render_value, scope

        names = scope(data, data, dict(data.get("steps") or {}), utcnow())
        try:
            return render_value(template, names)
        except TemplateError as exc:
            raise InvalidInputError(f"The template cannot be rendered: {exc.message}") from None
