"""The library facade: one object through which every shell does everything.

The command line, the JSON API, Celery workers and schedules (and next, workflow steps and the
web UI) call the few methods of :class:`Workspace` and nothing else: a shell parses what it was
given, calls one method, and presents the result or the error. The rules of what may be done
with a run (resume, cancel, undo) live here or below, never in a shell, so every shell answers
the same way; errors come as :class:`~idms.errors.NotFound` and :class:`~idms.errors.Conflict`
(and the rest of the one error tree), which each shell translates once (exit code 2, HTTP 404,
409 or 400).

::

    with Workspace.open(Settings.load()) as workspace:
        job = job_from_file("attendance.yml")
        report = workspace.plan(job)              # what would change; nothing written
        report = workspace.run(job)               # run it here and now (durable, resumable)
        run_id = workspace.submit(job, trigger="api")  # queue it for an executor
        workspace.undo(report.run_id)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal, Self

from idms.config import Settings
from idms.errors import Conflict
from idms.execution.execute import OpenTarget, execute_run
from idms.execution.listeners import subscribe_defaults
from idms.jobs.enqueue import enqueue_job
from idms.jobs.model import Job
from idms.jobs.prepare import PreparedJob, prepare_job
from idms.jobs.report import RunReport
from idms.jobs.runner import run_job, spool_path, start_record
from idms.jobs.sealing import seal_constants
from idms.queries.store import QueryStore
from idms.runs.context import RunContext
from idms.runs.durable import Durable, describe_holder, holder_is_here
from idms.runs.leases import Leases
from idms.runs.record import RunInfo, RunStore, new_run_id
from idms.runs.status import RunStatus
from idms.state.templates import TemplateStore
from idms.targets import factory
from idms.targets.base import FullTarget, QueryResult

if TYPE_CHECKING:
    from idms.io.uploads import UploadStore
    from idms.jobs.remote import RemoteInputs
    from idms.jobs.undo import UndoReport
    from idms.queries.compile import CompiledQuery
    from idms.queries.model import SavedQuery
    from idms.schedules.define import NewSchedule
    from idms.schedules.model import ScheduleInfo
    from idms.schedules.store import ScheduleStore
    from idms.state.tokens import TokenStore
    from idms.transfers.service import TransferService
    from idms.transfers.store import TransferInfo
    from idms.workflow_services import WorkspaceServices
    from idms.workflows.hashes import HashingInfo, HashKind, HashOwner
    from idms.workflows.model import WorkflowState
    from idms.workflows.store import StepRecord, WorkflowInfo, WorkflowStore

Progress = Callable[[int], None]

# Who hears of each step of a workflow run executed in this thread (``run_workflow``'s caller).
_STEP_PROGRESS: ContextVar[Callable[[StepRecord], None] | None] = ContextVar(
    "idms_step_progress", default=None
)


@dataclass
class Workspace(RunContext):
    """A workspace opened: its stores, its target, and everything that can be done with jobs
    and runs. Open it once per process (or request scope) and close it (or use ``with``)."""

    # How the target is opened from the settings (default: the factory, looked up at each
    # call); a test may wrap it, e.g. in a FaultyTarget.
    target_opener: OpenTarget | None = field(default=None, repr=False)

    @classmethod
    def open(cls, settings: Settings) -> Self:
        """Open the workspace the settings name (created if new); the schedules and
        notifications hear of every run that ends in this process."""
        subscribe_defaults()
        return super().open(settings)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- the stores and the target ------------------------------------------------------------

    @property
    def runs(self) -> RunStore:
        return RunStore(self.suite)

    @property
    def leases(self) -> Leases:
        return Leases(self.suite)

    @property
    def templates(self) -> TemplateStore:
        return TemplateStore(self.suite, self.box)

    @property
    def queries(self) -> QueryStore:
        return QueryStore(self.suite)

    @property
    def schedules(self) -> ScheduleStore:
        from idms.schedules.store import ScheduleStore

        return ScheduleStore(self.suite, self.box)

    @property
    def tokens(self) -> TokenStore:
        from idms.state.tokens import TokenStore

        return TokenStore(self.suite)

    @property
    def uploads(self) -> UploadStore:
        """The files sent to ``idms serve`` for jobs to read (``WORKSPACE/uploads``)."""
        from idms.io.uploads import UploadStore

        return UploadStore(self.settings.workspace / "uploads", self.settings.serve_max_upload)

    @property
    def remote_inputs(self) -> RemoteInputs:
        """What a job that comes over the network may read: uploads, and the files in the
        folders the settings list (``IDMS_SERVE_INPUT_FOLDERS``); nothing else."""
        from idms.jobs.remote import RemoteInputs

        return RemoteInputs(
            self.settings.serve_input_folders, self.uploads, private=(self.settings.workspace,)
        )

    def open_target(self, settings: Settings) -> FullTarget:
        """The target ``settings`` name, opened (the caller closes it)."""
        if self.target_opener is not None:
            return self.target_opener(settings)
        return factory.open_target(settings)

    def target(self) -> FullTarget:
        """The settings' target, opened: ``with workspace.target() as target:`` closes it."""
        return self.open_target(self.settings)

    # ---- saved queries ---------------------------------------------------------------------------

    @contextmanager
    def run_query(
        self,
        query: SavedQuery,
        params: Mapping[str, Any],
        *,
        offset: int = 0,
        limit: int | None = None,
    ) -> Iterator[tuple[CompiledQuery, QueryResult]]:
        """Run ``query`` on the target with its prompts' ``params`` (a missing required prompt
        is refused before anything runs): the query as compiled, and its rows, streamed."""
        from idms.queries.compile import compile_query

        with self.target() as target:
            compiled = compile_query(query, target.sources())
            if compiled.source is not None:
                compiled.bind(params)
            with target.query(compiled, params, offset=offset, limit=limit) as result:
                yield compiled, result

    # ---- jobs: check, plan, run, submit --------------------------------------------------------

    def prepare(self, job: Job, *, plan: bool = False) -> PreparedJob:
        """Open the job's input and check the whole job against it and the target (JobInvalid,
        QueryInvalid... with every problem listed; nothing is written). The prepared job holds
        its input and target open until it runs (or is closed)."""
        run_id = new_run_id()
        spool = spool_path(job, None if plan else self.durable(), run_id)
        target = self.open_target(self.settings)
        try:
            prepared = prepare_job(job, target, self.queries, spool=spool, run_id=run_id)
        except BaseException:
            target.close()
            raise
        prepared.target = target
        return prepared

    def check(self, job: Job) -> None:
        """Refuse ``job`` unless it can run (every problem listed); nothing is written."""
        with self.prepare(job, plan=True):
            pass

    def plan(self, job: Job | PreparedJob, *, progress: Progress | None = None) -> RunReport:
        """What ``job`` would do, row by row, computed without writing (a ``planned`` run)."""
        prepared = job if isinstance(job, PreparedJob) else self.prepare(job, plan=True)
        with prepared:
            assert prepared.target is not None
            return run_job(
                prepared,
                target=prepared.target,
                runs=self.runs,
                plan=True,
                progress=progress,
                target_label=self.settings.target,
                lease_seconds=self.settings.lease_seconds,
            )

    def run(
        self,
        job: Job | PreparedJob,
        *,
        progress: Progress | None = None,
        trigger: str = "cli",
    ) -> RunReport:
        """Run ``job`` here and now. The run is durable: if this process dies, ``resume``
        carries it on from its checkpoint, writing nothing twice. It is executed as every run
        is (:func:`~idms.execution.execute.execute_run`): a failure ends it as ``failed`` with
        the reason, and the schedules and notifications hear of it."""
        prepared = job if isinstance(job, PreparedJob) else self.prepare(job)
        with prepared:
            assert prepared.target is not None
            durable = self.durable()
            record = start_record(
                prepared,
                run_id=prepared.run_id,
                target_label=self.settings.target,
                durable=durable,
                trigger=trigger,
            )
            self.runs.create(record)
            report = execute_run(
                self,
                prepared.run_id,
                durable=durable,
                progress=progress,
                prepared=prepared,
                target=prepared.target,
            )
        if report is None:  # cannot happen: the run was recorded as this thread's own
            raise Conflict(f"Run {prepared.run_id} was taken over by another process.")
        return report

    def submit(
        self,
        job: Job,
        *,
        trigger: str,
        schedule_id: str | None = None,
        target: str | None = None,
        platform: str | None = None,
    ) -> str:
        """Check ``job`` (refused with every problem listed), then record it as a queued run
        for an executor; returns the run's ID."""
        with self.prepare(job, plan=True) as prepared:
            return enqueue_job(
                self,
                job,
                trigger=trigger,
                schedule_id=schedule_id,
                target=target,
                platform=platform,
                prepared=prepared,
            )

    def check_definition(self, job: Job) -> None:
        """Check a job kept to run later (a template, a schedule's job) against the target: its
        fields, action and options, and the columns it maps, against its input file when the
        file is there now (it is read again when the job runs)."""
        spec = job.input
        if spec is not None and spec.file is not None and not Path(spec.file).is_file():
            from idms.jobs.compile import compile_without_input

            with self.target() as target:
                compile_without_input(job, target)
            return
        self.check(job)

    def save_template(
        self, name: str, job: Job, *, description: str | None = None, keep_file: bool = False
    ) -> bool:
        """Check ``job`` and save it as template ``name`` (True: a new one, False: replaced).
        A query-fed job keeps its input (the query and its parameters); a file input is kept
        only with ``keep_file`` (a template usually gets its file when it runs)."""
        from idms.jobs.compile import compile_without_input

        with self.target() as target:
            job = compile_without_input(job, target).job  # its --match keys on their mappings
        document = job.to_document()
        by_query = job.input is not None and job.input.query is not None
        if not by_query and not keep_file:
            document.pop("input", None)
        sealed = seal_constants(document, self.box)  # a password constant is never stored plain
        return self.templates.save(name, sealed, description or job.description)

    def add_schedule(self, new: NewSchedule) -> ScheduleInfo:
        """Check a schedule's job (:meth:`check_definition`), then add the schedule."""
        if new.job is not None:  # a workflow schedule's workflow was checked when saved
            self.check_definition(new.job)
        return self.schedules.add(new)

    def remove_schedule(self, name: str) -> ScheduleInfo:
        """Remove a schedule (its runs stay in the history), and the job file the API once
        wrote for it in ``WORKSPACE/schedule-jobs`` (before it kept the document itself)."""
        info = self.schedules.remove(name)
        legacy = (self.settings.workspace / "schedule-jobs").resolve()
        if info.job_file and Path(info.job_file).parent == legacy:
            Path(info.job_file).unlink(missing_ok=True)
        return info

    # ---- runs: execute, resume, cancel, undo ---------------------------------------------------

    def execute(self, run_id: str, *, progress: Progress | None = None) -> RunReport | None:
        """Carry out (or carry on) a recorded run if it can be claimed; None when another
        process holds it or it has ended. What every executor calls."""
        return execute_run(self, run_id, progress=progress, target_opener=self.open_target)

    def resumable(self, run_ref: str) -> RunInfo:
        """The run ``run_ref`` names, if it can be resumed (Conflict otherwise, saying why)."""
        info = self.runs.get(run_ref)
        if info.finished:
            raise Conflict(
                f"Run {info.id} has finished ({info.status}): there is nothing to resume."
            )
        if info.sealed_job is None:
            raise Conflict(f"Run {info.id} was not recorded as resumable: run the job again.")
        return info

    def resume(self, run_ref: str, *, progress: Progress | None = None) -> RunReport:
        """Carry on, here and now, a run whose process died, from its checkpoint (nothing is
        written twice): at once when that process was on this machine, once its lease has
        expired when it was on another. A run still held by a live process is refused
        (Conflict)."""
        info = self.resumable(run_ref)
        report = self.execute(info.id, progress=progress)
        if report is None:
            info = self.runs.get(info.id)
            if info.finished:
                raise Conflict(f"Run {info.id} has finished ({info.status}).")
            raise self._held(info)
        return report

    def requeue(self, run_ref: str) -> RunInfo:
        """Queue again a run whose process died, for an executor to resume (as :meth:`resume`
        says when); one still held by a live process is refused (Conflict)."""
        info = self.resumable(run_ref)
        if info.status == RunStatus.RUNNING:
            self.leases.requeue_expired()
            info = self.runs.get(info.id)
            if info.status == RunStatus.RUNNING:
                raise self._held(info)
        return info

    @staticmethod
    def _held(info: RunInfo) -> Conflict:
        """Why run ``info``, still running, cannot be taken over."""
        holder = describe_holder(info.lease_owner)
        if holder_is_here(info.lease_owner):
            return Conflict(
                f"Run {info.id} is running in another process ({holder}), which is still alive: "
                "wait for it to finish, or cancel the run."
            )
        expiry = info.lease_expires_at
        until = expiry.strftime("%Y-%m-%d %H:%M:%S UTC") if expiry is not None else "unknown"
        return Conflict(
            f"Run {info.id} is running in another process ({holder}, lease until {until}). "
            "If that process is gone, the run can be resumed once the lease has expired."
        )

    def cancel(self, run_ref: str) -> RunInfo:
        """Cancel a run: a queued one at once, a running one at its next row (what is recorded
        stays recorded; the batch in hand is not written)."""
        info = self.runs.get(run_ref)
        if info.finished:
            raise Conflict(
                f"Run {info.id} has finished ({info.status}): there is nothing to cancel."
            )
        self.leases.request_cancel(info.id)
        return self.runs.get(info.id)

    def undo(
        self, run_ref: str, *, force: bool = False, progress: Progress | None = None
    ) -> UndoReport:
        """Put back what a run inserted, updated and deleted (the undo is a run of its own)."""
        from idms.jobs.undo import undo_run

        with self.target() as target:
            return undo_run(
                run_ref,
                target=target,
                runs=self.runs,
                force=force,
                progress=progress,
                target_label=self.settings.target,
                lease_seconds=self.settings.lease_seconds,
            )

    def run_schedule_now(self, name: str, *, wait: bool = True) -> RunInfo:
        """Run a schedule's job now, whatever its state (its next fire is not affected):
        queued, then executed here unless ``wait`` is False."""
        from idms.schedules.scheduler import Scheduler

        run_id = Scheduler(self, elect=False).run_now(name)
        if wait:
            self.execute(run_id)
        return self.runs.get(run_id)

    def failed_rows_download(self, run_ref: str, extension: str) -> Path:
        """The run's failed rows written now to a file of their own (``extension``: csv or
        xlsx), in a private folder of the runs folder; :meth:`discard_download` removes it."""
        import tempfile

        from idms.io.errorfile import write_error_file

        info = self.runs.get(run_ref)
        folder = Path(tempfile.mkdtemp(prefix="idms-errors-", dir=self.runs_folder))
        try:
            return write_error_file(self.runs, info.id, folder / f"{info.id}-failed.{extension}")
        except BaseException:
            self.discard_download(folder / "x")
            raise

    def discard_download(self, path: Path) -> None:
        """Remove a file :meth:`failed_rows_download` made, with its folder."""
        import shutil

        folder = path.parent
        if folder.parent == self.runs_folder and folder.name.startswith("idms-errors-"):
            shutil.rmtree(folder, ignore_errors=True)

    def prune(self, *, max_age_days: int | None, max_count: int | None) -> int:
        """Delete finished runs older than ``max_age_days`` or beyond the newest
        ``max_count`` (their rows and files with them), and the uploads past their retention
        (:meth:`prune_uploads`); how many runs were deleted."""
        deleted = self.runs.prune(
            max_age_days=max_age_days, max_count=max_count, runs_folder=self.runs_folder
        )
        self.prune_uploads()
        return deleted

    def prune_uploads(self) -> int:
        """Remove the uploads older than ``IDMS_UPLOAD_RETENTION_DAYS``, except those a saved
        template or a schedule still reads (a queued run reads its own sealed copy, so no run
        needs one); how many were removed."""
        days = self.settings.upload_retention_days
        if days is None:
            return 0
        return self.uploads.prune(max_age_days=days, keep=self.uploads_in_use())

    def uploads_in_use(self) -> set[str]:
        """The IDs of the uploads a saved template or a schedule reads (each stores the
        upload's file as its input)."""
        from idms.jobs.remote import input_files

        files = [f for t in self.templates.list() for f in input_files(t.document)]
        for schedule in self.schedules.list():
            files += input_files(schedule.stored_job or schedule.job)
            if schedule.input_file:
                files.append(schedule.input_file)
        uploads = self.uploads
        return {i for i in map(uploads.id_of, files) if i is not None}

    # ---- workflows (iWorkflow, iHook) ------------------------------------------------------------

    @property
    def workflow_store(self) -> WorkflowStore:
        from idms.workflows.store import WorkflowStore

        return WorkflowStore(self.suite, self.box, self.runs_folder)

    def workflow_services(self) -> WorkspaceServices:
        """What workflow actions may ask of the suite (secrets, queries, jobs, hashes)."""
        from idms.workflow_services import WorkspaceServices

        return WorkspaceServices(self)

    def save_workflow(self, document: Mapping[str, Any]) -> WorkflowInfo:
        """Check ``document`` whole (WorkflowInvalid lists every problem, where it is) and save
        it, creating or replacing the workflow of its name. A webhook workflow gets its URL on
        first save and keeps it when replaced."""
        from idms.workflows.check import check_workflow

        doc = check_workflow(dict(document))
        info, _created = self.workflow_store.save(doc)
        return info

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
    ) -> RunInfo:
        """Record a queued run of workflow ``name`` for an executor (``trigger``: manual,
        schedule, webhook, change_notification, api, cli; ``schedule_id``: the schedule that
        started it, whose failures it counts towards). ``workflow``: the workflow as the caller
        has just read it (a webhook's), not read again."""
        info = workflow if workflow is not None and workflow.name == name else self.workflow(name)
        return self._workflow_run(
            info, input, trigger=trigger, metadata=metadata, queued=True, schedule_id=schedule_id
        )

    def run_workflow(
        self,
        name: str,
        input: Mapping[str, Any] | None = None,
        *,
        trigger: str = "cli",
        progress: Callable[[StepRecord], None] | None = None,
    ) -> RunInfo:
        """Record a run of workflow ``name`` and execute it here and now (as every run is
        executed, :func:`~idms.execution.execute.execute_run`); the run as it ended."""
        info = self.workflow(name)
        run_id = self._workflow_run(info, input, trigger=trigger, metadata=None, queued=False).id
        token = _STEP_PROGRESS.set(progress)
        try:
            execute_run(self, run_id)
        finally:
            _STEP_PROGRESS.reset(token)
        return self.runs.get(run_id)

    def execute_workflow(
        self,
        run_id: str,
        *,
        durable: Durable,
        progress: Callable[[int], None] | None = None,
    ) -> RunReport:
        """Run (or resume) claimed workflow or transfer run ``run_id`` (what ``execute_run``
        calls)."""
        from idms.runs.status import RunKind
        from idms.workflows.runner import run_workflow

        if self.runs.get(run_id).kind == RunKind.TRANSFER:
            return self.transfer_service.execute(
                run_id, durable=durable, progress=progress, step_progress=_STEP_PROGRESS.get()
            )
        return run_workflow(
            run_id,
            runs=self.runs,
            store=self.workflow_store,
            durable=durable,
            services=self.workflow_services(),
            progress=progress,
            step_progress=_STEP_PROGRESS.get(),
        )

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

    def rerun_workflow(self, run_id: str, *, from_step: str | None = None) -> RunInfo:
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
            info, plan, box=self.box, trigger="rerun", settings=self.settings, queued=True
        )
        new_id = self.runs.create(record)
        if from_step is not None:  # its data may name the old run's files (a row set)
            from idms.workflows.stepdata import carry_files

            carry_files(self.runs_folder, old.id, new_id)
        return self.runs.get(new_id)

    def hash_owner(self, name: str, *, kind: HashKind = "workflow") -> HashOwner:
        """Workflow (or, with ``kind="transfer"``, transfer) ``name`` as the owner of delta
        hashes: its ID and its steps that hash (NotFound for an unknown name; a transfer
        without delta hashing is refused, saying so)."""
        from idms.workflows.hashes import HashOwner, hashing_steps

        if kind == "transfer":
            return self.transfer_service.hash_owner(name)
        flow = self.workflow(name)
        return HashOwner("workflow", flow.name, flow.id, tuple(hashing_steps(flow.doc)))

    def workflow_hashes(
        self,
        name: str,
        *,
        kind: HashKind = "workflow",
        step: str | None = None,
        key: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> HashingInfo:
        """iDMS's View Hashing Info: how many keys workflow (or transfer) ``name``'s Delta
        Hashing steps keep (each step's count), and a page of them with when each was
        stored; with ``key``, that key's hash in each step (NotFound when none keeps it)."""
        from idms.workflows.hashes import hashing_info

        owner = self.hash_owner(name, kind=kind)
        return hashing_info(self.suite, owner, step=step, key=key, limit=limit, offset=offset)

    def delete_workflow_hash(
        self, name: str, key: str, *, kind: HashKind = "workflow", step: str | None = None
    ) -> int:
        """Forget one key (in ``step``, or in every step keeping it): the next run passes its
        row on again. How many entries went; NotFound when none kept it."""
        from idms.workflows.hashes import delete_hash

        return delete_hash(self.suite, self.hash_owner(name, kind=kind), key, step=step)

    def clear_workflow_hashes(
        self, name: str, *, kind: HashKind = "workflow", step: str | None = None
    ) -> int:
        """Forget every key (of ``step``, or of every step): the next run passes every row on,
        as its first did. How many keys went."""
        from idms.workflows.hashes import clear_hashes

        return clear_hashes(self.suite, self.hash_owner(name, kind=kind), step=step)

    def hook_token(self, name: str) -> str:
        """The secret part of workflow ``name``'s webhook URL (``/hooks/{token}``)."""
        return self.workflow_store.hook_token(name)

    def regenerate_hook(self, name: str) -> str:
        """A new webhook URL token; the old URL is refused from now on."""
        return self.workflow_store.regenerate_hook(name)

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

    # ---- transfers (iTransfer) -------------------------------------------------------------------

    @property
    def transfer_service(self) -> TransferService:
        from idms.transfers.service import TransferService

        return TransferService(self)

    def save_transfer(self, document: Mapping[str, Any]) -> TransferInfo:
        """Check ``document`` whole (TransferInvalid lists every problem, where it is: the
        shape, each connection against its action, the query's prompts) and save it, creating
        or replacing the transfer of its name (which keeps its delta hashes)."""
        info, _created = self.transfer_service.save(document)
        return info

    def transfer(self, name: str) -> TransferInfo:
        return self.transfer_service.store.get(name)

    def transfers(self) -> list[TransferInfo]:
        return self.transfer_service.store.list()

    def delete_transfer(self, name: str) -> TransferInfo:
        """Delete a transfer and its delta hashes (its runs stay in the history)."""
        return self.transfer_service.store.delete(name)

    def export_transfer(self, name: str) -> dict[str, Any]:
        """The transfer's document, as ``save_transfer`` takes it back."""
        return self.transfer_service.export(name)

    def start_transfer(self, name: str, *, trigger: str, schedule_id: str | None = None) -> RunInfo:
        """Record a queued run of transfer ``name`` for an executor (refused when its query
        needs a prompt it does not give, or when it is disabled and not started by hand)."""
        service = self.transfer_service
        run_id = service.record_run(name, trigger=trigger, queued=True, schedule_id=schedule_id)
        return self.runs.get(run_id)

    def run_transfer(
        self,
        name: str,
        *,
        trigger: str = "cli",
        progress: Callable[[StepRecord], None] | None = None,
    ) -> RunInfo:
        """Record a run of transfer ``name`` and execute it here and now; the run as it
        ended (its alert sent, if the transfer asks for one)."""
        run_id = self.transfer_service.record_run(name, trigger=trigger, queued=False)
        token = _STEP_PROGRESS.set(progress)
        try:
            execute_run(self, run_id)
        finally:
            _STEP_PROGRESS.reset(token)
        return self.runs.get(run_id)

    def transfer_runs(self, name: str | None = None, *, limit: int = 50) -> list[dict[str, Any]]:
        """The latest runs (of transfer ``name``), newest first, each with what its steps
        sent (rows, bytes, requests, remote path, status, response code)."""
        from idms.paging import check_window

        check_window(limit=limit)
        service = self.transfer_service
        return [service.history(info) for info in service.runs(name, limit)]

    def transfer_hook_token(self, name: str) -> str:
        """The secret part of an inbound transfer's URL (``/hooks/{token}``)."""
        return self.transfer_service.hook_token(name)

    def receive_transfer_hook(self, token: str, body: bytes) -> tuple[int, dict[str, Any]] | None:
        """A delivery to ``/hooks/{token}`` when the token is an inbound transfer's: the
        record checked against its schema and inserted, answered as iDMS did (status, body);
        None for any other token (a workflow's webhook, or none)."""
        return self.transfer_service.receive(token, body)
