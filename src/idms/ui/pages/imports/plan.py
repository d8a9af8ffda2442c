"""The import wizard's 6th step: the plan (what the job would do, row by row, nothing
written), and saving the job as a template."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from idms.errors import IdmsError
from idms.jobs.model import JobInvalid
from idms.ui.context import ui_context
from idms.ui.drafts import Draft
from idms.ui.import_views import plan_rows
from idms.ui.pages.imports.wizard import go, open_draft, router, text, wizard
from idms.ui.render import root_of
from idms.ui.sessions import Editor
from idms.ui.template_drafts import save_draft
from idms.ui.views import counts_text

PLAN_ERRORS = 50  # error rows shown first on the plan
PLAN_ROWS = 100  # then the other rows


# ---- 6. plan, and 8. save as template ---------------------------------------------------------


def plan_view(
    request: Request,
    draft: Draft,
    *,
    problems: list[str] | None = None,
    notice: str = "",
    error: str = "",
    status: int = 200,
) -> Response:
    runs = ui_context(request).workspace.runs
    plan = None
    rows: list[Any] = []
    if draft.plan_run is not None:
        plan = runs.get(draft.plan_run)
        errors = list(runs.rows(plan.id, outcomes=["error"], limit=PLAN_ERRORS))
        others = ["inserted", "updated", "deleted", "skipped", "unchanged"]
        rows = plan_rows([*errors, *runs.rows(plan.id, outcomes=others, limit=PLAN_ROWS)])
    return wizard(
        request,
        "import_plan.html",
        title="Import: plan",
        step=6,
        draft=draft,
        status=status,
        problems=problems or [],
        notice=notice,
        error=error,
        plan=plan,
        counts=counts_text(plan.counts) if plan is not None else "",
        errors=plan.counts["errors"] if plan is not None else 0,
        rows=rows,
        summary=_summary(draft),
    )


def _summary(draft: Draft) -> list[str]:
    """The job in words, as the plan page recalls it."""
    mapped = [m for m in draft.mappings or [] if m.get("column") is not None]
    keys = [str(m["field"]) for m in mapped if m.get("match")]
    return [
        f"{draft.action} into {draft.source}",
        f"{len(mapped)} column{'s' if len(mapped) != 1 else ''} mapped"
        + (f", matched on {', '.join(keys)}" if keys else ""),
        ", ".join(f"{k}: {v}" for k, v in draft.options.items()) or "default options",
    ]


@router.get("/import/{upload_id}/plan")
def plan_page(request: Request, session: Editor, upload_id: str) -> Response:
    draft = open_draft(request, session, upload_id)
    if draft.mappings is None:
        return go(request, draft, "mapping")
    return plan_view(request, draft)


@router.post("/import/{upload_id}/plan")
def make_plan(request: Request, session: Editor, upload_id: str) -> Response:
    """Plan the job now, in this request (nothing is written): fine for the files a person
    uploads; the rows are kept as a planned run."""
    draft = open_draft(request, session, upload_id)
    workspace = ui_context(request).workspace
    try:
        job = workspace.job_from_request(draft.document())
        report = workspace.plan(job)
    except JobInvalid as refused:
        return plan_view(request, draft, problems=refused.problems, status=400)
    except IdmsError as refused:
        return plan_view(request, draft, error=str(refused), status=400)
    draft.plan_run = report.run_id
    return go(request, draft, "plan")


@router.post("/import/{upload_id}/template")
async def save_template(request: Request, session: Editor, upload_id: str) -> Response:
    draft = open_draft(request, session, upload_id)
    form = await request.form()
    name = text(form, "template_name")
    if not name:
        return await run_in_threadpool(
            plan_view, request, draft, error="Give the template a name.", status=400
        )
    workspace = ui_context(request).workspace
    try:
        new = await run_in_threadpool(save_draft, workspace, draft, name)
    except JobInvalid as refused:
        return await run_in_threadpool(
            plan_view, request, draft, problems=refused.problems, status=400
        )
    except IdmsError as refused:
        return await run_in_threadpool(plan_view, request, draft, error=str(refused), status=400)
    if text(form, "then") == "schedule":  # the results step's "Schedule this import"
        return RedirectResponse(f"{root_of(request)}{draft.schedule_path}", status_code=303)
    verb = "saved" if new else "replaced"
    notice = f"Template '{name}' {verb}: it can run again on next month's file."
    return await run_in_threadpool(plan_view, request, draft, notice=notice)
