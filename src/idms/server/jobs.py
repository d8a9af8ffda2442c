"""Jobs that arrive over HTTP: built from a document or a template, checked, then queued or
planned.

A job is checked exactly as ``idms run`` checks it (its shape, then against its input's columns
and the target) before it is queued: an invalid job is refused with every problem listed and
never becomes a run. Its input is an upload, a file in a folder the administrator lists, or a
saved query: nothing else on the server (:mod:`idms.jobs.remote`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from idms.jobs.assemble import finish_document, with_params
from idms.jobs.model import Job, build_job
from idms.runs.record import RunInfo
from idms.server.context import ServerContext
from idms.server.schemas import PlanOut, RowOut, RunOut

InputRef = str | Mapping[str, Any]  # a path in an input folder, or {"upload": ID}


def job_from_document(
    context: ServerContext, document: dict[str, Any], *, must_exist: bool = True
) -> Job:
    """A job document (as a job file holds it), merged onto the template it names, its input
    admitted by the rule of what a request may read (``Workspace.remote_inputs``)."""
    inputs = context.workspace.remote_inputs
    return inputs.job_document(document, templates=context.templates, must_exist=must_exist)[1]


def schedule_document(context: ServerContext, document: Mapping[str, Any]) -> dict[str, Any]:
    """A schedule's job document as a request sent it, its input admitted (a file in an input
    folder need not be there yet) and its template still named (merged at each fire)."""
    inputs = context.workspace.remote_inputs
    return inputs.job_document(document, templates=context.templates, must_exist=False)[0]


def template_job(context: ServerContext, name: str, document: Mapping[str, Any]) -> Job:
    """The job a template document describes (its own ``template`` key ignored), its input,
    if any, admitted as for a run but not needed yet (a drop folder's file to come)."""
    inputs = context.workspace.remote_inputs
    fields = {k: v for k, v in document.items() if k != "template"}
    return inputs.admit(build_job(inputs.document({"name": name, **fields})), must_exist=False)


def job_from_template(
    context: ServerContext,
    name: str,
    *,
    input_file: InputRef | None = None,
    params: dict[str, Any] | None = None,
) -> Job:
    """A saved template as a job; ``input_file`` (a path in an input folder, or an upload)
    replaces its input, ``params`` fill its query's prompts. An unknown template is refused
    (NotFound: 404)."""
    context.templates.get(name)
    inputs = context.workspace.remote_inputs
    path = inputs.input_file(input_file, must_exist=True) if input_file is not None else None
    job = finish_document({"template": name}, templates=context.templates, input_file=path)
    return inputs.admit(with_params(job, params or {}), must_exist=True)


def queue_job(
    context: ServerContext, job: Job, *, trigger: str, started_by: str | None = None
) -> RunInfo:
    """Check ``job``, record it as a queued run (started by ``started_by``) and hand it to
    the executor."""
    run_id = context.workspace.submit(job, trigger=trigger, started_by=started_by)
    context.dispatch()
    return context.runs.get(run_id)


def plan_job(context: ServerContext, job: Job, *, rows: int) -> PlanOut:
    """Plan ``job`` now (nothing is written): the plan run and its first ``rows`` rows."""
    report = context.workspace.plan(job)
    runs = context.runs
    info = runs.get(report.run_id)
    shown = [RowOut.of(r) for r in runs.rows(info.id, limit=rows)]
    from idms.jobs.options import option_report

    return PlanOut(run=RunOut.of(info, context.prefix), rows=shown, options=option_report(job))
