"""The transfer part of the facade (iTransfer): save, read, export and delete transfers, start
and run them, their history and their inbound webhooks; and the delta hashes of a workflow or
a transfer (iDMS's View Hashing Info: one for both, since a transfer hashes as a workflow's
Delta Hashing step does)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, cast

from idms.execution.execute import execute_run
from idms.facade.workflows import STEP_PROGRESS, WorkflowFacade
from idms.runs.record import RunInfo

if TYPE_CHECKING:
    from idms.transfers.service import TransferService
    from idms.transfers.store import TransferInfo
    from idms.workflows.hashes import HashingInfo, HashKind, HashOwner
    from idms.workflows.store import StepRecord
    from idms.workspace import Workspace


class TransferFacade(WorkflowFacade):
    """Transfers (a part of :class:`idms.workspace.Workspace`): a transfer is compiled to a
    workflow and runs as one, so this part stands on the workflow part."""

    @property
    def transfer_service(self) -> TransferService:
        from idms.transfers.service import TransferService

        return TransferService(cast("Workspace", self))  # a part of one, never alone

    def save_transfer(self, document: Mapping[str, Any]) -> tuple[TransferInfo, bool]:
        """Check ``document`` whole (TransferInvalid lists every problem, where it is: the
        shape, each connection against its action, the query's prompts) and save it, creating
        or replacing the transfer of its name (which keeps its delta hashes): (the transfer,
        True when it was new)."""
        return self.transfer_service.save(document)

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

    def start_transfer(
        self,
        name: str,
        *,
        trigger: str,
        schedule_id: str | None = None,
        started_by: str | None = None,
    ) -> RunInfo:
        """Record a queued run of transfer ``name`` for an executor (refused when its query
        needs a prompt it does not give, or when it is disabled and not started by hand)."""
        service = self.transfer_service
        run_id = service.record_run(
            name, trigger=trigger, queued=True, schedule_id=schedule_id, started_by=started_by
        )
        return self.runs.get(run_id)

    def run_transfer(
        self,
        name: str,
        *,
        trigger: str = "cli",
        progress: Callable[[StepRecord], None] | None = None,
        started_by: str | None = None,
    ) -> RunInfo:
        """Record a run of transfer ``name`` and execute it here and now; the run as it
        ended (its alert sent, if the transfer asks for one)."""
        run_id = self.transfer_service.record_run(
            name, trigger=trigger, queued=False, started_by=started_by
        )
        token = STEP_PROGRESS.set(progress)
        try:
            execute_run(self, run_id)
        finally:
            STEP_PROGRESS.reset(token)
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

    # ---- delta hashes (iDMS's View Hashing Info), a workflow's or a transfer's ---------------

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
