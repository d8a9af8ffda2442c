"""Workflows and their runs' steps in the suite database (tables ``workflows`` and
``workflow_steps``).

A workflow is kept as its document (JSON), by name. A webhook workflow's URL token — the
webhook's only credential — is made once (:func:`new_hook_token`, 192 random bits), kept
sealed with the workspace key (so ``hook-url`` can show it again) and found by its SHA-256, so
the look-up of a request's token never compares secrets character by character.

Each step a run takes is a row: what the run page shows (its input and output as JSON, secrets
masked) and the pipeline object after it, sealed, from which a resumed run carries on. Any of the
three past 256 KiB is kept as a sealed file of the run instead, the row holding a note (its size,
and a preview of what is shown): :mod:`idms.workflows.stepdata`.
"""

from __future__ import annotations

import builtins
import hashlib
import io
import json
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Engine, delete, func, insert, select, update

from idms import jsontext
from idms.db import writer
from idms.errors import Conflict, NotFound, suggest
from idms.secrets import SecretBox
from idms.state.models import Run, Workflow, WorkflowHash, WorkflowStep, utcnow
from idms.state.store import translate_errors
from idms.workflows.model import WorkflowDoc, WorkflowState
from idms.workflows.stepdata import Part, StepFiles, note_of

HOOK_TOKEN_BYTES = 24  # 192 bits: more than the 128 the URL must carry


@dataclass(frozen=True)
class WorkflowInfo:
    id: str
    name: str
    description: str
    state: WorkflowState
    trigger_type: str
    document: dict[str, Any]  # the WorkflowDoc as JSON (by alias: ``with``)
    created_at: datetime
    updated_at: datetime
    has_hook: bool

    @property
    def doc(self) -> WorkflowDoc:
        return WorkflowDoc.model_validate(self.document)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "state": self.state.value,
            "trigger": self.trigger_type,
            "steps": len(self.document.get("steps", [])),
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "has_hook": self.has_hook,
        }


@dataclass(frozen=True)
class StepRecord:
    seq: int
    step_id: str
    action: str
    status: str  # running | succeeded | failed | skipped
    attempts: int
    message: str | None
    input: Any  # masked JSON value (None when kept as a file)
    output: Any  # masked JSON value (None when kept as a file)
    started_at: datetime
    finished_at: datetime | None
    # Kept as a file (too large for the row): {"bytes": size of the JSON, "preview": its start}
    input_file: dict[str, Any] | None = None
    output_file: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "step": self.step_id,
            "action": self.action,
            "status": self.status,
            "attempts": self.attempts,
            "message": self.message,
            "input": self.input,
            "output": self.output,
            "input_file": self.input_file,
            "output_file": self.output_file,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
        }


def new_hook_token() -> str:
    """A webhook URL's secret part: 192 random bits, URL-safe."""
    return secrets.token_urlsafe(HOOK_TOKEN_BYTES)


def hook_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def document_of(doc: WorkflowDoc) -> dict[str, Any]:
    """The document as stored and exported (JSON, ``with`` by its name)."""
    out: dict[str, Any] = doc.model_dump(mode="json", by_alias=True)
    return out


class WorkflowStore:
    """Save, read and delete workflows; record their runs' steps."""

    def __init__(self, engine: Engine, box: SecretBox, runs_folder: Path) -> None:
        self.engine = engine
        self.box = box
        self.files = StepFiles(runs_folder, box)

    # ---- workflows ---------------------------------------------------------------------------

    def save(self, doc: WorkflowDoc) -> tuple[WorkflowInfo, bool]:
        """Create or replace the workflow named ``doc.name``; True when it is new. A webhook
        workflow gets its URL token when first saved as one, and keeps it when replaced."""
        now = utcnow()
        text = json.dumps(document_of(doc), ensure_ascii=False)
        webhook = doc.trigger.type == "webhook"
        with translate_errors("Cannot save the workflow"), writer(self.engine).begin() as conn:
            row = conn.execute(
                select(Workflow.id, Workflow.state, Workflow.hook_hash).where(
                    Workflow.name == doc.name
                )
            ).first()
            if row is None:
                workflow_id = uuid.uuid4().hex
                values: dict[str, Any] = {}
                if webhook:
                    values = self._hook_values(new_hook_token())
                conn.execute(
                    insert(Workflow).values(
                        id=workflow_id,
                        name=doc.name,
                        state=doc.state.value,
                        trigger_type=doc.trigger.type,
                        document=text,
                        created_at=now,
                        updated_at=now,
                        **values,
                    )
                )
                created = True
            else:
                workflow_id, state, hashed = str(row[0]), str(row[1]), row[2]
                if state == WorkflowState.ARCHIVED and doc.state == WorkflowState.ARCHIVED:
                    raise Conflict(
                        f"Workflow '{doc.name}' is archived, so it cannot be changed: save it "
                        "with state active or disabled to bring it back."
                    )
                values = {}
                if webhook and hashed is None:
                    values = self._hook_values(new_hook_token())
                conn.execute(
                    update(Workflow)
                    .where(Workflow.id == workflow_id)
                    .values(
                        state=doc.state.value,
                        trigger_type=doc.trigger.type,
                        document=text,
                        updated_at=now,
                        **values,
                    )
                )
                created = False
        return self.get(doc.name), created

    def _hook_values(self, token: str) -> dict[str, Any]:
        return {"hook_sealed": self.box.encrypt(token), "hook_hash": hook_hash(token)}

    def get(self, name: str) -> WorkflowInfo:
        """Workflow ``name``; NotFound (suggesting the closest name) when there is none."""
        with translate_errors("Cannot read the workflows"), self.engine.connect() as conn:
            row = conn.execute(select(Workflow).where(Workflow.name == name)).first()
            if row is None:
                names = [str(n) for n in conn.execute(select(Workflow.name)).scalars()]
        if row is None:
            close = suggest(name, names)
            hint = f" Did you mean '{close}'?" if close else ""
            raise NotFound(f"No workflow '{name}'.{hint}", hint="'idms workflow list' shows them.")
        return _info(row)

    def get_by_id(self, workflow_id: str) -> WorkflowInfo:
        with translate_errors("Cannot read the workflows"), self.engine.connect() as conn:
            row = conn.execute(select(Workflow).where(Workflow.id == workflow_id)).first()
        if row is None:
            raise NotFound(f"The workflow of this run ({workflow_id}) was deleted.")
        return _info(row)

    def list(self, *, state: WorkflowState | None = None) -> builtins.list[WorkflowInfo]:
        stmt = select(Workflow).order_by(Workflow.name)
        if state is not None:
            stmt = stmt.where(Workflow.state == state.value)
        with translate_errors("Cannot read the workflows"), self.engine.connect() as conn:
            return [_info(r) for r in conn.execute(stmt)]

    def delete(self, name: str) -> None:
        info = self.get(name)
        with translate_errors("Cannot delete the workflow"), self.engine.begin() as conn:
            conn.execute(delete(WorkflowHash).where(WorkflowHash.workflow_id == info.id))
            conn.execute(delete(Workflow).where(Workflow.id == info.id))

    def set_state(self, name: str, state: WorkflowState) -> WorkflowInfo:
        """Set the workflow's state (its document says the same)."""
        info = self.get(name)
        document = dict(info.document, state=state.value)
        with translate_errors("Cannot save the workflow"), self.engine.begin() as conn:
            conn.execute(
                update(Workflow)
                .where(Workflow.id == info.id)
                .values(
                    state=state.value,
                    document=json.dumps(document, ensure_ascii=False),
                    updated_at=utcnow(),
                )
            )
        return self.get(name)

    # ---- the webhook URL ---------------------------------------------------------------------

    def hook_token(self, name: str) -> str:
        """The secret part of the workflow's webhook URL; Conflict for a workflow not started
        by a webhook."""
        info = self.get(name)
        with self.engine.connect() as conn:
            sealed = conn.execute(
                select(Workflow.hook_sealed).where(Workflow.id == info.id)
            ).scalar()
        if sealed is None or info.trigger_type != "webhook":
            raise Conflict(
                f"Workflow '{name}' is not started by a webhook (its trigger is "
                f"{info.trigger_type}): it has no URL."
            )
        return self.box.decrypt(sealed, name=f"workflow {name}'s webhook URL")

    def regenerate_hook(self, name: str) -> str:
        """A new URL token for the workflow; the old one is refused from now on."""
        info = self.get(name)
        if info.trigger_type != "webhook":
            raise Conflict(
                f"Workflow '{name}' is not started by a webhook (its trigger is "
                f"{info.trigger_type}): it has no URL."
            )
        token = new_hook_token()
        with translate_errors("Cannot save the workflow"), self.engine.begin() as conn:
            conn.execute(
                update(Workflow)
                .where(Workflow.id == info.id)
                .values(**self._hook_values(token), updated_at=utcnow())
            )
        return token

    def by_hook(self, token: str) -> WorkflowInfo:
        """The webhook workflow whose URL token is ``token``; NotFound for any other token."""
        with translate_errors("Cannot read the workflows"), self.engine.connect() as conn:
            row = conn.execute(
                select(Workflow).where(
                    Workflow.hook_hash == hook_hash(token), Workflow.trigger_type == "webhook"
                )
            ).first()
        if row is None:
            raise NotFound("No workflow has this webhook URL (unknown, or regenerated).")
        return _info(row)

    # ---- the steps of runs -------------------------------------------------------------------

    def start_step(
        self, run_id: str, seq: int, step_id: str, action: str, shown_input: str | None
    ) -> None:
        """Record step ``seq`` of the run as running (again, when a resumed run takes up the
        step its dead process was running: the row is kept and its attempts go on)."""
        now = utcnow()
        shown_input = self.files.keep_shown(run_id, seq, "input", shown_input)
        with translate_errors("Cannot record the step"), self.engine.begin() as conn:
            done = conn.execute(
                update(WorkflowStep)
                .where(WorkflowStep.run_id == run_id, WorkflowStep.seq == seq)
                .values(
                    status="running",
                    step_id=step_id,
                    action=action,
                    shown_input=shown_input,
                    started_at=now,
                    finished_at=None,
                )
            ).rowcount
            if not done:
                conn.execute(
                    insert(WorkflowStep).values(
                        run_id=run_id,
                        seq=seq,
                        step_id=step_id,
                        action=action,
                        status="running",
                        attempts=0,
                        shown_input=shown_input,
                        started_at=now,
                    )
                )

    def attempt(self, run_id: str, seq: int) -> int:
        """Count one more attempt of step ``seq``; the attempts made so far, this one too."""
        with translate_errors("Cannot record the step"), self.engine.begin() as conn:
            conn.execute(
                update(WorkflowStep)
                .where(WorkflowStep.run_id == run_id, WorkflowStep.seq == seq)
                .values(attempts=WorkflowStep.attempts + 1)
            )
            return int(
                conn.execute(
                    select(WorkflowStep.attempts).where(
                        WorkflowStep.run_id == run_id, WorkflowStep.seq == seq
                    )
                ).scalar()
                or 0
            )

    def finish_step(
        self,
        run_id: str,
        seq: int,
        *,
        status: str,
        message: str | None,
        shown_input: str | None,
        shown_output: str | None,
        data: str | None,
    ) -> None:
        """Record step ``seq`` as ended: what is shown of its input and output (masked JSON)
        and ``data``, the JSON the run carries on from, sealed here; each kept as a file when
        large. The files are written before the row refers to them."""
        shown_input = self.files.keep_shown(run_id, seq, "input", shown_input)
        shown_output = self.files.keep_shown(run_id, seq, "output", shown_output)
        sealed_data = self.files.keep_sealed(run_id, seq, data)
        with translate_errors("Cannot record the step"), self.engine.begin() as conn:
            conn.execute(
                update(WorkflowStep)
                .where(WorkflowStep.run_id == run_id, WorkflowStep.seq == seq)
                .values(
                    status=status,
                    message=message,
                    shown_input=shown_input,
                    shown_output=shown_output,
                    sealed_data=sealed_data,
                    finished_at=utcnow(),
                )
            )

    def add_step(
        self,
        run_id: str,
        seq: int,
        step_id: str,
        action: str,
        *,
        status: str,
        message: str | None,
        sealed_data: str | None,
    ) -> None:
        """A step that did not run (skipped), recorded at once (in its row, when a resumed
        run records it again)."""
        now = utcnow()
        values = {
            "step_id": step_id,
            "action": action,
            "status": status,
            "message": message,
            "sealed_data": sealed_data,
            "started_at": now,
            "finished_at": now,
        }
        with translate_errors("Cannot record the step"), self.engine.begin() as conn:
            done = conn.execute(
                update(WorkflowStep)
                .where(WorkflowStep.run_id == run_id, WorkflowStep.seq == seq)
                .values(**values)
            ).rowcount
            if not done:
                conn.execute(
                    insert(WorkflowStep).values(run_id=run_id, seq=seq, attempts=0, **values)
                )

    def steps(self, run_id: str) -> builtins.list[StepRecord]:
        """The steps of run ``run_id`` in the order they ran."""
        with translate_errors("Cannot read the run's steps"), self.engine.connect() as conn:
            rows = conn.execute(
                select(WorkflowStep).where(WorkflowStep.run_id == run_id).order_by(WorkflowStep.seq)
            ).all()
        records = []
        for r in rows:
            shown_in, in_file = _shown(r.shown_input)
            shown_out, out_file = _shown(r.shown_output)
            records.append(
                StepRecord(
                    seq=r.seq,
                    step_id=r.step_id,
                    action=r.action,
                    status=r.status,
                    attempts=r.attempts,
                    message=r.message,
                    input=shown_in,
                    output=shown_out,
                    started_at=r.started_at,
                    finished_at=r.finished_at,
                    input_file=in_file,
                    output_file=out_file,
                )
            )
        return records

    def open_shown(self, run_id: str, step: str, part: Part) -> tuple[StepRecord, IO[bytes]]:
        """Step ``step`` (its ID, or its number) of the run, and what is shown of its input or
        output (``part``) as masked JSON bytes, from its file or its row: for a download.
        NotFound when the run has no such step, or the step has no such data."""
        records = self.steps(run_id)
        record = next((r for r in records if r.step_id == step), None)
        if record is None and step.isdigit():
            record = next((r for r in records if r.seq == int(step)), None)
        if record is None:
            ids = ", ".join(r.step_id for r in records) or "none"
            raise NotFound(f"Run {run_id} has no step '{step}' (its steps: {ids}).")
        if (record.input_file if part == "input" else record.output_file) is not None:
            return record, self.files.open(run_id, record.seq, part)
        value = record.input if part == "input" else record.output
        if value is None:
            raise NotFound(f"Step '{record.step_id}' of run {run_id} has no {part} kept.")
        return record, io.BytesIO(jsontext.dumps(value).encode("utf-8"))

    def step_data(self, run_id: str) -> builtins.list[tuple[int, str, str, Any]]:
        """(seq, step id, status, what it left) of each step of the run, in order: what it
        left (the pipeline object after it, its output…) unsealed, from its file when kept
        as one; None for a step that left nothing (not ended, or skipped)."""
        unseal = self.files.unseal
        return [
            (seq, step_id, status, None if sealed is None else unseal(run_id, seq, sealed))
            for seq, step_id, status, sealed in self._sealed_steps(run_id)
        ]

    def step_tally(self, run_id: str) -> dict[str, int]:
        """How many steps the run took, and how many of them succeeded, failed (and were
        passed over, or ended the run), were skipped: a workflow run's summary."""
        with translate_errors("Cannot read the run's steps"), self.engine.connect() as conn:
            rows = conn.execute(
                select(WorkflowStep.status, func.count())
                .where(WorkflowStep.run_id == run_id)
                .group_by(WorkflowStep.status)
            ).all()
        found = {str(status): int(n) for status, n in rows}
        tally = {key: found.get(key, 0) for key in ("succeeded", "failed", "skipped")}
        return {"total": sum(found.values()), **tally}

    def _sealed_steps(self, run_id: str) -> builtins.list[tuple[int, str, str, str | None]]:
        """(seq, step id, status, sealed data) of each step of the run, in order."""
        with translate_errors("Cannot read the run's steps"), self.engine.connect() as conn:
            rows = conn.execute(
                select(
                    WorkflowStep.seq,
                    WorkflowStep.step_id,
                    WorkflowStep.status,
                    WorkflowStep.sealed_data,
                )
                .where(WorkflowStep.run_id == run_id)
                .order_by(WorkflowStep.seq)
            ).all()
        return [(int(a), str(b), str(c), d) for a, b, c, d in rows]

    def runs_of(self, name: str | None, limit: int) -> builtins.list[str]:
        """The IDs of the latest workflow runs (of workflow ``name`` when given), newest first."""
        stmt = (
            select(Run.id)
            .where(Run.kind == "workflow")
            .order_by(Run.created_at.desc(), Run.id.desc())
            .limit(limit)
        )
        if name is not None:
            stmt = stmt.where(Run.name == name)
        with translate_errors("Cannot read the runs"), self.engine.connect() as conn:
            return [str(i) for i in conn.execute(stmt).scalars()]

    def count_steps(self, run_id: str) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(select(func.count()).where(WorkflowStep.run_id == run_id)).scalar()
                or 0
            )


def _loads(text: str | None) -> Any:
    return None if text is None else jsontext.loads(text)


def _shown(text: str | None) -> tuple[Any, dict[str, Any] | None]:
    """A shown column's value, or (None, its file's size and preview) when kept as a file."""
    value = _loads(text)
    note = note_of(value)
    if note is None:
        return value, None
    return None, {"bytes": note["bytes"], "preview": note.get("preview", "")}


def _info(row: Any) -> WorkflowInfo:
    return WorkflowInfo(
        id=row.id,
        name=row.name,
        description=str(json.loads(row.document).get("description", "")),
        state=WorkflowState(row.state),
        trigger_type=row.trigger_type,
        document=json.loads(row.document),
        created_at=row.created_at,
        updated_at=row.updated_at,
        has_hook=row.hook_hash is not None and row.trigger_type == "webhook",
    )


__all__: Sequence[str] = [
    "StepRecord",
    "WorkflowInfo",
    "WorkflowStore",
    "hook_hash",
    "new_hook_token",
]
