"""Queued runs: a job recorded now, to be run by an executor (:mod:`idms.execution`).

The job is sealed with the run (it may hold a password constant), and its input file is copied
(``runs/inputs``, one copy per version of a file), so that what runs later, or resumes after a
crash, is what was asked for now, whatever happens to the original file meanwhile. The copy is
sealed too (:mod:`idms.runs.sealed`): an input may hold passwords, and every copy is sealed
alike rather than guessing which columns matter (a column mapped to a password today may be
mapped so by the next job run on the same copy). It goes with the last run that refers to it
(:meth:`RunStore.prune`). A query input is read when the run starts.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from dataclasses import replace
from pathlib import Path
from stat import S_ISREG as stat_is_file

from idms.errors import UnknownSourceError
from idms.jobs.durable import file_identity
from idms.jobs.model import Job
from idms.jobs.prepare import PreparedJob, new_run, spool_file
from idms.private import private_folder
from idms.runs.context import RunContext
from idms.runs.record import INPUTS, NewRun, RunStore, new_run_id
from idms.runs.sealed import seal_file
from idms.runs.status import RunStatus
from idms.secrets import SecretBox
from idms.sources.catalog import BUILTIN_SOURCES
from idms.sources.model import SourceDef
from idms.sources.registry import resolve_source


def enqueue_job(
    context: RunContext,
    job: Job,
    *,
    trigger: str,
    schedule_id: str | None = None,
    target: str | None = None,
    platform: str | None = None,
    prepared: PreparedJob | None = None,
    started_by: str | None = None,
) -> str:
    """Record ``job`` as a queued run on ``target`` (default: the settings' target)."""
    run = queued_run(
        context,
        job,
        trigger=trigger,
        schedule_id=schedule_id,
        target=target,
        platform=platform,
        prepared=prepared,
        started_by=started_by,
    )
    return RunStore(context.suite).create(run)


def queued_run(
    context: RunContext,
    job: Job,
    *,
    trigger: str,
    schedule_id: str | None = None,
    target: str | None = None,
    platform: str | None = None,
    run_id: str | None = None,
    prepared: PreparedJob | None = None,
    started_by: str | None = None,
) -> NewRun:
    """What :func:`enqueue_job` records: the input file is copied into the runs folder now and
    the job sealed; nothing is recorded yet (the scheduler records a batch of them with
    :meth:`RunStore.create_many`). ``prepared`` is the job as checked, when it was."""
    settings = context.settings
    run_id = run_id or new_run_id()
    spec = job.input
    input_ref: dict[str, object] | None = None
    if spec is not None and spec.file is not None:
        copy = input_copy(context.box, context.runs_folder, spec.file)
        if copy is not None:
            job = job.model_copy(update={"input": spec.model_copy(update={"file": str(copy)})})
            input_ref = {**file_identity(copy), "sealed": True}
        # A missing file is left as it is: the run fails when it starts, saying so.
    elif spec is not None and spec.query is not None:
        input_ref = {"kind": "query", "spool": str(spool_file(context.runs_folder, run_id))}
    source: SourceDef | None
    if prepared is not None:
        source = prepared.compiled.source
    else:
        try:
            source = resolve_source(job.source, BUILTIN_SOURCES)
        except UnknownSourceError:
            source = None  # a panel: panels have no secret fields
    record = new_run(
        job,
        source=source,
        target=target or settings.target,
        platform=platform or settings.platform.value,
    )
    return replace(
        record,
        source=job.source,
        run_id=run_id,
        status=RunStatus.QUEUED,
        trigger=trigger,
        started_by=started_by,
        schedule_id=schedule_id,
        sealed_job=context.box.encrypt(job.model_dump_json(exclude_unset=True)),
        input_ref=input_ref,
    )


def input_copy(box: SecretBox, runs_folder: Path, source: str) -> Path | None:
    """The run's own copy of ``source`` as it is now, sealed with ``box``, or None if there is
    no such file.

    Copies are kept by content identity (path, size, modification time) under
    ``runs/inputs`` (0700; each copy 0600, and sealed): the runs of a schedule that reads an
    unchanged file share one copy, which is never written again; a changed file gets a new
    one. The copy keeps the file's extension, which says how to read it.
    """
    try:
        stat = os.stat(source)
    except OSError:
        return None
    if not stat_is_file(stat.st_mode):
        return None
    absolute = os.path.abspath(source)
    key = hashlib.sha256(f"{absolute}\0{stat.st_size}\0{stat.st_mtime_ns}".encode()).hexdigest()
    folder = runs_folder / INPUTS
    copy = folder / f"{key[:24]}{Path(source).suffix.lower()}"
    if not copy.exists():
        private_folder(folder)
        part = copy.with_name(f".{copy.name}.{os.getpid()}.{threading.get_native_id()}.part")
        try:
            seal_file(box, source, part)
            # Published only if no other run published it meanwhile (two runs queued at once
            # on one file): a copy already recorded with a run is never replaced, or that run
            # would find its input changed.
            with contextlib.suppress(FileExistsError):
                os.link(part, copy)
        finally:
            part.unlink(missing_ok=True)
    return copy
