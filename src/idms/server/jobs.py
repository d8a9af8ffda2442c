"""Jobs that arrive over HTTP: built from a document or a template, checked, then queued or
planned.

A job is checked exactly as ``idms run`` checks it (its shape, then against its input's columns
and the target) before it is queued: an invalid job is refused with every problem listed and
never becomes a run. Its input is a file the server can read (a relative path is taken from the
workspace folder) or a saved query.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from idms.errors import InvalidInputError
from idms.jobs.assemble import finish_document, with_params
from idms.jobs.model import Job
from idms.runs.record import RunInfo
from idms.server.context import ServerContext
from idms.server.schemas import PlanOut, RowOut, RunOut


def with_server_input(context: ServerContext, document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with its input file (if it names one) as the server's path to it."""
    document = dict(document)
    spec = document.get("input")
    if isinstance(spec, str):
        document["input"] = {"file": server_path(context, spec)}
    elif isinstance(spec, dict) and isinstance(spec.get("file"), str):
        document["input"] = {**spec, "file": server_path(context, spec["file"])}
    return document


def job_from_document(context: ServerContext, document: dict[str, Any]) -> Job:
    """A job document (as a job file holds it), merged onto the template it names."""
    document = with_server_input(context, document)
    return finish_document(document, templates=context.templates, input_file=None)


def job_from_template(
    context: ServerContext,
    name: str,
    *,
    input_file: str | None = None,
    params: dict[str, Any] | None = None,
) -> Job:
    """A saved template as a job; ``input_file`` replaces its input, ``params`` fill its query's
    prompts. An unknown template is refused (NotFound: 404)."""
    context.templates.get(name)
    path = server_path(context, input_file) if input_file else None
    job = finish_document({"template": name}, templates=context.templates, input_file=path)
    return with_params(job, params or {})


def queue_job(context: ServerContext, job: Job, *, trigger: str) -> RunInfo:
    """Check ``job``, record it as a queued run and hand it to the executor."""
    run_id = context.workspace.submit(job, trigger=trigger)
    context.dispatch()
    return context.runs.get(run_id)


def plan_job(context: ServerContext, job: Job, *, rows: int) -> PlanOut:
    """Plan ``job`` now (nothing is written): the plan run and its first ``rows`` rows."""
    report = context.workspace.plan(job)
    runs = context.runs
    info = runs.get(report.run_id)
    shown = [RowOut.of(r) for r in runs.rows(info.id, limit=rows)]
    return PlanOut(run=RunOut.of(info, context.prefix), rows=shown)


def server_path(context: ServerContext, path: str) -> str:
    """A path the server reads: a relative one starts at the workspace folder."""
    if not path.strip():
        raise InvalidInputError("input: give the path of a file the server can read")
    candidate = Path(path).expanduser()
    if not candidate.is_absolute():
        candidate = context.settings.workspace / candidate
    return str(candidate.resolve())
