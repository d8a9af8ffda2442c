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
        workspace.undo(report.run_id)           # here and now (queue_undo: for an executor)
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from idms.errors import Conflict
from idms.execution.execute import execute_run
from idms.facade.admin import AdminFacade
from idms.facade.history import HistoryFacade
from idms.facade.imports import ImportFacade
from idms.facade.preflight import PreflightFacade
from idms.facade.queries import QueryFacade
from idms.facade.schedules import ScheduleFacade
from idms.facade.templates import TemplateFacade
from idms.facade.users import UserFacade
from idms.facade.workflows import STEP_PROGRESS
from idms.jobs.enqueue import enqueue_job
from idms.jobs.model import Job
from idms.jobs.prepare import PreparedJob, prepare_job
from idms.jobs.report import RunReport
from idms.jobs.runner import run_job, spool_path, start_record
from idms.jobs.sealing import seal_constants
from idms.runs.durable import Durable, describe_holder, holder_is_here
from idms.runs.record import RunInfo, new_run_id
from idms.runs.status import RunStatus
from idms.sources.automap import MappingProposal, suggest_mapping

if TYPE_CHECKING:
    from idms.jobs.undo import UndoReport
    from idms.schedules.define import NewSchedule
    from idms.schedules.model import ScheduleInfo

Progress = Callable[[int], None]


@dataclass
class Workspace(
    ScheduleFacade,
    TemplateFacade,
    AdminFacade,
    UserFacade,
    ImportFacade,
    HistoryFacade,
    QueryFacade,
    PreflightFacade,
):
    """A workspace opened: its stores and target (:mod:`idms.facade.base`), everything that can
    be done with jobs and runs (here), with workflows (:mod:`idms.facade.workflows`) and with
    transfers (:mod:`idms.facade.transfers`), and with the web UI's users
    (:mod:`idms.facade.users`), with schedules (:mod:`idms.facade.schedules`), with templates
    (:mod:`idms.facade.templates`), with the settings, secrets and API tokens
    (:mod:`idms.facade.admin`), with the run history (:mod:`idms.facade.history`) and with saved
    queries (:mod:`idms.facade.queries`). Open it once per process (or request scope) and close
    it (or use ``with``)."""

    # ---- jobs: check, plan, run, submit --------------------------------------------------------

    def prepare(self, job: Job, *, plan: bool = False) -> PreparedJob:
        """Open the job's input and check the whole job against it and the target (JobInvalid,
        QueryInvalid... with every problem listed; nothing is written). The prepared job holds
        its input and target open until it runs (or is closed). A run (not a plan) against
        iMIS is refused first if the checks before a run find an error (:meth:`preflight`)."""
        run_id = new_run_id()
        spool = spool_path(job, None if plan else self.durable(), run_id)
        target = self.open_target(self.settings)
        try:
            if not plan:  # a run against iMIS refuses to start on a failing check (preflight)
                self.refuse_on_preflight(job, target)
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
        started_by: str | None = None,
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
                started_by=started_by,
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
        started_by: str | None = None,
    ) -> str:
        """Check ``job`` (refused with every problem listed), then record it as a queued run
        for an executor; returns the run's ID. ``started_by`` says who (``user:NAME``,
        ``token:NAME``...; default: from the trigger, ``record.started_by_default``)."""
        with self.prepare(job, plan=True) as prepared:
            return enqueue_job(
                self,
                job,
                trigger=trigger,
                schedule_id=schedule_id,
                target=target,
                platform=platform,
                prepared=prepared,
                started_by=started_by,
            )

    def suggest_mapping(
        self,
        source: str,
        headers: Sequence[str],
        *,
        action: str | None = None,
        samples: Mapping[str, Sequence[Any]] | None = None,
        keep: Mapping[str, str] | None = None,
        reserved: Collection[str] = (),
    ) -> MappingProposal:
        """Auto-matching: the field each of a file's ``headers`` maps to, and the match keys
        to tick for ``action``, as the target describes ``source`` on its platform
        (:func:`idms.sources.automap.suggest_mapping`; ``keep``: columns already mapped)."""
        with self.target() as target:
            return suggest_mapping(
                target.describe(source),
                headers,
                action=action,
                platform=target.platform,
                samples=samples,
                keep=keep,
                reserved=reserved,
                contact=target.describe("Contact"),
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
        self,
        run_ref: str,
        *,
        force: bool = False,
        progress: Progress | None = None,
        started_by: str | None = None,
        trigger: str = "cli",
    ) -> UndoReport:
        """Put back, here and now, what a run inserted, updated and deleted (the undo is a run
        of its own, started by ``started_by``: default the command line's user). What the
        command line does; over HTTP an undo is queued instead (:meth:`queue_undo`)."""
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
                started_by=started_by,
                trigger=trigger,
            )

    def queue_undo(
        self,
        run_ref: str,
        *,
        force: bool = False,
        started_by: str | None = None,
        trigger: str = "api",
    ) -> RunInfo:
        """Queue the undo of a run, for an executor to carry out (as it carries out every run:
        :meth:`execute`), and return it. A run that cannot be undone is refused at once, saying
        why (Conflict, InvalidInputError), and nothing is queued. An undo of a large run takes
        as long as the run did: queued, it is followed as every run is, and no request waits
        for it."""
        from idms.jobs.undo import record_undo

        undo_id = record_undo(
            run_ref,
            runs=self.runs,
            force=force,
            target_label=self.settings.target,
            lease_seconds=self.settings.lease_seconds,
            trigger=trigger,
            started_by=started_by,
        )
        return self.runs.get(undo_id)

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
        from idms.io.errorfile import write_error_file
        from idms.private import private_temp_folder

        info = self.runs.get(run_ref)
        folder = private_temp_folder(self.runs_folder, "idms-errors-")
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

    # ---- executing a workflow or transfer run -------------------------------------------------

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
                run_id, durable=durable, progress=progress, step_progress=STEP_PROGRESS.get()
            )
        return run_workflow(
            run_id,
            runs=self.runs,
            store=self.workflow_store,
            durable=durable,
            services=self.workflow_services(),
            progress=progress,
            step_progress=STEP_PROGRESS.get(),
        )
