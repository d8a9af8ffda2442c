"""Queued runs: a job recorded now, to be run by an executor (``execute.py``).

The job is sealed with the run (it may hold a password constant), and its input file is copied
into the run's folder, so that what runs later, or resumes after a crash, is what was asked for
now, whatever happens to the original file meanwhile. A query input is read when the run starts.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from idms.execution.context import Workspace
from idms.jobs.durable import file_identity
from idms.jobs.model import Job
from idms.state.runs import RunStore, new_run_id

RUN_KINDS = {"file": "import", "query": "update"}


def enqueue_job(
    workspace: Workspace,
    job: Job,
    *,
    trigger: str,
    schedule_id: str | None = None,
    target: str | None = None,
    platform: str | None = None,
    run_id: str | None = None,
    connection: Connection | None = None,
) -> str:
    """Record ``job`` as a queued run on ``target`` (default: the settings' target).

    With ``connection``, the run is recorded in that connection's open transaction (the
    scheduler records a run and advances its schedule together), under ``run_id`` if given.
    """
    run = queued_run(
        workspace,
        job,
        trigger=trigger,
        schedule_id=schedule_id,
        target=target,
        platform=platform,
        run_id=run_id,
    )
    return RunStore(workspace.suite).create(**run, connection=connection)


def queued_run(
    workspace: Workspace,
    job: Job,
    *,
    trigger: str,
    schedule_id: str | None = None,
    target: str | None = None,
    platform: str | None = None,
    run_id: str | None = None,
) -> dict[str, Any]:
    """What :func:`enqueue_job` records, as :meth:`RunStore.create`'s keyword arguments: the
    input file is copied into the run's folder now and the job sealed; nothing is recorded yet
    (the scheduler records a batch of them with :meth:`RunStore.create_many`)."""
    settings = workspace.settings
    run_id = run_id or new_run_id()
    folder = workspace.runs_folder / run_id
    spec = job.input
    input_ref: dict[str, object] | None = None
    if spec is not None and spec.file is not None:
        source = Path(spec.file)
        folder.mkdir(parents=True, exist_ok=True)
        copy = folder / f"input{source.suffix.lower()}"
        if source.is_file():
            shutil.copyfile(source, copy)
            job = job.model_copy(update={"input": spec.model_copy(update={"file": str(copy)})})
            input_ref = file_identity(copy)
        # A missing file is left as it is: the run fails when it starts, saying so.
    elif spec is not None and spec.query is not None:
        input_ref = {"kind": "query", "spool": str(folder / "input.rows")}
    kind = "update" if spec is not None and spec.query is not None else "import"
    document = job.model_dump(mode="json", exclude_none=True)
    for mapping in document.get("mappings", []):
        if "value" in mapping and _secret_name(str(mapping.get("field", ""))):
            mapping["value"] = "********"
    return {
        "run_id": run_id,
        "kind": kind,
        "name": job.name,
        "source": job.source,
        "action": job.action.value,
        "target": target or settings.target,
        "platform": platform or settings.platform.value,
        "plan_only": False,
        "job": document,
        "status": "queued",
        "trigger": trigger,
        "schedule_id": schedule_id,
        "sealed_job": workspace.box.encrypt(job.model_dump_json(exclude_unset=True)),
        "input_ref": input_ref,
    }


def _secret_name(field: str) -> bool:
    return field.replace(" ", "").lower() in {"password"}
