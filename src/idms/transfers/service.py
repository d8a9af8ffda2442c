"""What the facade does with transfers (``Workspace.save_transfer``, ``run_transfer``…): check
and save them, record and execute their runs on the workflow runner, send their alerts, read
their history and their delta hashes.

A transfer run is a run of kind ``transfer`` (``idms runs`` shows it as one) whose sealed plan
is the workflow the transfer compiles to, as it was when the run was recorded, owned by the
transfer's ID (so its Delta Hashing step keeps its fingerprints under the transfer). It is
executed like every run (:func:`~idms.execution.execute.execute_run`), which hands it to the
workflow runner through :meth:`TransferService.execute`; once it has ended, the alert (if the
transfer asks for one) is sent and recorded as a last step of the run (``alert``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from idms.errors import Conflict, InvalidInputError, NotFound
from idms.jobs.query_input import resolve_query
from idms.runs.status import RunKind, RunStatus
from idms.transfers.alerts import send_alert, wanted
from idms.transfers.compile import check_transfer, compile_transfer, compiled_steps
from idms.transfers.history import run_history
from idms.transfers.model import TransferDoc, TransferInvalid, TransferState
from idms.transfers.store import TransferInfo, TransferStore, document_of
from idms.workflows.hashes import HashOwner

if TYPE_CHECKING:
    from idms.jobs.report import RunReport
    from idms.runs.durable import Durable
    from idms.runs.record import RunInfo
    from idms.workflows.actions.base import HashStore
    from idms.workflows.store import StepRecord
    from idms.workspace import Workspace

HAND_TRIGGERS = ("manual", "cli", "api")
DELTA_STEP = "changed"  # the compiled Delta Hashing step, whose hashes are the transfer's


def prompt_problems(doc: TransferDoc, queries: Any) -> list[str]:
    """What is wrong with the source: a query that is not there, a prompt it needs that is not
    given (a transfer runs unattended: iDMS refuses a data source with prompts), a parameter
    that names no prompt."""
    if doc.source is None:
        return []
    try:
        saved = resolve_query(doc.source.query, queries)
    except NotFound as exc:
        return [f"source.query: {exc.message}"]
    prompts = saved.prompt_list()
    given = doc.source.parameters
    problems = []
    for name, required in prompts:
        if (required or saved.from_ is None) and name not in given:
            problems.append(
                f"source.parameters: query '{saved.name}' needs a value for its prompt "
                f"{name!r}; a transfer runs unattended, so give it here"
            )
    names = [name for name, _ in prompts]
    if saved.from_ is not None:
        for key in given:
            if key not in names:
                known = ", ".join(names) or "none"
                problems.append(
                    f"source.parameters.{key}: query '{saved.name}' has no prompt {key!r} "
                    f"(its prompts: {known})"
                )
    return problems


class TransferService:
    """Transfers over one workspace."""

    def __init__(self, workspace: Workspace) -> None:
        self.ws = workspace
        self.store = TransferStore(workspace.suite, workspace.box)

    # ---- the documents ----------------------------------------------------------------------

    def check(self, document: Mapping[str, Any]) -> TransferDoc:
        return check_transfer(
            dict(document), more=lambda doc: prompt_problems(doc, self.ws.queries)
        )

    def save(self, document: Mapping[str, Any]) -> tuple[TransferInfo, bool]:
        return self.store.save(self.check(document))

    def export(self, name: str) -> dict[str, Any]:
        return dict(self.store.get(name).document)

    # ---- runs -------------------------------------------------------------------------------

    def record_run(
        self,
        name: str,
        *,
        trigger: str,
        queued: bool,
        schedule_id: str | None = None,
        started_by: str | None = None,
    ) -> str:
        """Record a run of transfer ``name`` (checked again first: its query may have changed
        since it was saved); its ID. A disabled transfer runs only when started by hand."""
        from idms.runs.record import NewRun
        from idms.workflows.runner import RunPlan
        from idms.workflows.store import document_of as workflow_document

        info = self.store.get(name)
        if info.state == TransferState.DISABLED and trigger not in HAND_TRIGGERS:
            raise Conflict(f"Transfer '{name}' is disabled: only a run started by hand runs it.")
        try:
            doc = self.check(info.document)
        except TransferInvalid as exc:
            raise TransferInvalid(
                exc.problems, hint="Fix the transfer and save it again: idms transfer save FILE"
            ) from None
        if not doc.sends:
            raise InvalidInputError(
                f"Transfer '{name}' only receives records (inbound): it has nothing to send. "
                f"Its URL: idms transfer hook-url {name!r}"
            )
        plan = RunPlan(info.id, workflow_document(compile_transfer(doc)), {})
        durable = self.ws.durable()
        settings = self.ws.settings
        record = NewRun(
            kind=RunKind.TRANSFER,
            name=info.name,
            source="transfer",
            action=trigger,
            target=settings.target,
            platform=settings.platform.value,
            job={"transfer": info.name, "transfer_id": info.id, "connections": compiled_steps(doc)},
            status=RunStatus.QUEUED if queued else RunStatus.RUNNING,
            owner=durable.owner,
            lease_seconds=durable.lease_seconds,
            trigger=trigger,
            started_by=started_by,
            schedule_id=schedule_id,
            sealed_job=self.ws.box.encrypt(plan.to_json()),
        )
        return self.ws.runs.create(record)

    def execute(
        self,
        run_id: str,
        *,
        durable: Durable,
        progress: Callable[[int], None] | None = None,
        step_progress: Callable[[StepRecord], None] | None = None,
    ) -> RunReport:
        """Run (or resume) claimed transfer run ``run_id`` on the workflow runner; then send
        its alert, if the transfer asks for one."""
        from idms.workflows.runner import run_workflow

        report = run_workflow(
            run_id,
            runs=self.ws.runs,
            store=self.ws.workflow_store,
            durable=durable,
            services=self.ws.workflow_services(),
            progress=progress,
            step_progress=step_progress,
        )
        if report.status.finished:
            self._alert(run_id)
        return report

    def _alert(self, run_id: str) -> None:
        info = self.ws.runs.get(run_id)
        try:
            transfer = self.store.get_by_id(str(info.job.get("transfer_id")))
        except NotFound:
            return
        alerts = transfer.doc.alerts
        if alerts is None or not wanted(alerts.when, str(info.status)):
            return
        steps = self.ws.workflow_store.steps(run_id)
        sent, said = send_alert(
            self.ws.settings,
            alerts.recipients,
            transfer=info.name,
            run_id=run_id,
            status=str(info.status),
            message=info.message,
            history=run_history(steps, info.job.get("connections") or {}),
        )
        seq = max((s.seq for s in steps), default=0) + 1
        self.ws.workflow_store.add_step(
            run_id,
            seq,
            "alert",
            "alert",
            status="succeeded" if sent else "failed",
            message=said,
            sealed_data=None,
        )

    def runs(self, name: str | None, limit: int) -> list[RunInfo]:
        ids = self.store.runs_of(name, limit)
        if not ids and name is not None:
            self.store.get(name)  # no such transfer: NotFound, with the closest name
        return [self.ws.runs.get(i) for i in ids]

    def history(self, info: RunInfo) -> dict[str, Any]:
        """A transfer run with what each of its steps sent."""
        if info.kind != RunKind.TRANSFER:
            raise InvalidInputError(f"Run {info.id} is not a transfer run ({info.kind}).")
        steps = self.ws.workflow_store.steps(info.id)
        alert = next((s for s in steps if s.step_id == "alert"), None)
        return {
            "run_id": info.id,
            "transfer": info.name,
            "status": str(info.status),
            "trigger": info.trigger,
            "message": info.message,
            "created_at": info.created_at,
            "started_at": info.started_at,
            "finished_at": info.finished_at,
            **run_history(steps, info.job.get("connections") or {}),
            "alert": None if alert is None else {"status": alert.status, "message": alert.message},
        }

    # ---- inbound (legacy iTransfer webhooks) ------------------------------------------------

    def hook_token(self, name: str) -> str:
        return self.store.hook_token(name)

    def receive(self, token: str, raw: bytes) -> tuple[int, dict[str, Any]] | None:
        """A delivery to ``/hooks/{token}`` if the token is a transfer's (its answer, as iDMS
        answered: :mod:`idms.transfers.inbound`); None for any other token."""
        from idms.transfers.inbound import receive

        info = self.store.by_hook(token)
        if info is None:
            return None
        doc = info.doc
        active = info.state == TransferState.ACTIVE
        return receive(doc.inbound, info.name, raw, self.ws.workflow_services(), active=active)

    # ---- delta hashes -----------------------------------------------------------------------

    def hash_owner(self, name: str) -> HashOwner:
        """Transfer ``name`` as the owner of its delta hashes (iDMS's View Hashing Info): they
        are kept under its ID, in its one Delta Hashing step."""
        info = self.store.get(name)
        if info.doc.delta is None:
            raise InvalidInputError(
                f"Transfer '{info.name}' has no delta hashing (no delta: key): it keeps no hashes."
            )
        return HashOwner("transfer", info.name, info.id, (DELTA_STEP,))

    def hashes(self, name: str) -> HashStore:
        """The delta-hash store of transfer ``name`` itself (what its runs read and write)."""
        return self.ws.workflow_services().hashes(self.hash_owner(name).id, DELTA_STEP)


__all__ = ["TransferService", "document_of", "prompt_problems"]
