"""The import wizard's choices: 3. the source and action, 4. the mapping (proposed by
auto-matching, then as the person leaves it), 5. the options."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from idms.errors import IdmsError
from idms.jobs.options import effective_defaults
from idms.ui.context import ui_context
from idms.ui.drafts import Draft
from idms.ui.import_views import (
    constants,
    field_choices,
    mapping_rows,
    option_views,
    parse_value_map,
    proposal_mappings,
    source_choices,
    source_facts,
)
from idms.ui.pages.imports.wizard import draft_input, go, open_draft, router, text, wizard
from idms.ui.render import page
from idms.ui.sessions import Editor

# ---- 3. source and action ---------------------------------------------------------------------


def _source_page(
    request: Request, draft: Draft, source: str | None, *, error: str = "", status: int = 200
) -> Response:
    workspace = ui_context(request).workspace
    platform, defs = workspace.import_sources()
    chosen = source or draft.source or "Contact"
    facts = None
    try:
        platform, sdef = workspace.describe_source(chosen)
        facts = source_facts(sdef, platform)
    except IdmsError as refused:
        error = error or str(refused)
    return wizard(
        request,
        "import_source.html",
        title="Import: source and action",
        step=3,
        draft=draft,
        status=status,
        error=error,
        sources=source_choices(defs),
        chosen=facts.name if facts is not None else chosen,
        facts=facts,
        action=draft.action or "",
    )


@router.get("/import/{upload_id}/source")
def source_page(
    request: Request, session: Editor, upload_id: str, source: str | None = None
) -> Response:
    return _source_page(request, open_draft(request, session, upload_id), source)


@router.get("/import/{upload_id}/actions")
def actions_panel(request: Request, session: Editor, upload_id: str, source: str = "") -> Response:
    """The actions and rules of one source (htmx swaps them in when the source changes)."""
    draft = open_draft(request, session, upload_id)
    try:
        platform, sdef = ui_context(request).workspace.describe_source(source)
    except IdmsError as refused:
        return page(
            request, "import_actions.html", title="", facts=None, error=str(refused), action=""
        )
    return page(
        request,
        "import_actions.html",
        title="",
        facts=source_facts(sdef, platform),
        error="",
        action=draft.action or "",
    )


@router.post("/import/{upload_id}/source")
async def choose_source(request: Request, session: Editor, upload_id: str) -> Response:
    draft = open_draft(request, session, upload_id)
    form = await request.form()
    source, action = text(form, "source"), text(form, "action")
    workspace = ui_context(request).workspace
    try:
        platform, sdef = await run_in_threadpool(workspace.describe_source, source)
    except IdmsError as refused:
        return await run_in_threadpool(
            _source_page, request, draft, source, error=str(refused), status=400
        )
    allowed = {a.value for a in sdef.actions_on(platform)}
    if action not in allowed:
        error = f"Choose one of the actions {sdef.name} allows: {', '.join(sorted(allowed))}."
        return await run_in_threadpool(
            _source_page, request, draft, sdef.name, error=error, status=400
        )
    if (sdef.name, action) != (draft.source, draft.action):
        draft.source, draft.action = sdef.name, action
        draft.mappings, draft.found, draft.plan_run = None, {}, None
    return go(request, draft, "mapping")


# ---- 4. mapping -------------------------------------------------------------------------------


def _mapping_page(
    request: Request, draft: Draft, *, error: str = "", status: int = 200
) -> Response:
    if draft.source is None or draft.action is None:
        return go(request, draft, "source")
    workspace = ui_context(request).workspace
    given = draft_input(workspace, draft)
    columns = given.columns
    proposal = workspace.suggest_mapping(
        draft.source, columns, action=draft.action, samples=given.samples, keep=given.known
    )
    if draft.mappings is None:
        draft.mappings, draft.found = proposal_mappings(proposal)
        for column, field in given.known.items():
            draft.found[column] = f"the query shows {draft.source}.{field} here"
    _, sdef = workspace.describe_source(draft.source)
    return wizard(
        request,
        "import_mapping.html",
        title="Import: mapping",
        step=4,
        draft=draft,
        status=status,
        error=error,
        rows=mapping_rows(columns, draft.mappings, draft.found, given.samples),
        fields=field_choices(sdef, proposal),
        constants=constants(draft.mappings),
        blanks=[0, 1] if len(constants(draft.mappings)) < 8 else [],
        match_reason=proposal.match_reason,
    )


@router.get("/import/{upload_id}/mapping")
def mapping_page(request: Request, session: Editor, upload_id: str) -> Response:
    return _mapping_page(request, open_draft(request, session, upload_id))


@router.post("/import/{upload_id}/mapping")
async def choose_mapping(request: Request, session: Editor, upload_id: str) -> Response:
    """The mapping as the form left it: each column's field (or none), its match box and date
    format, then the constants (field = value)."""
    draft = open_draft(request, session, upload_id)
    form = await request.form()
    workspace = ui_context(request).workspace
    given = await run_in_threadpool(draft_input, workspace, draft)
    mappings: list[dict[str, Any]] = []
    problems: list[str] = []
    for i, column in enumerate(given.columns):
        field = text(form, f"field_{i}")
        if not field:
            continue
        entry: dict[str, Any] = {"field": field, "column": column}
        if text(form, f"match_{i}"):
            entry["match"] = True
        if fmt := text(form, f"format_{i}"):
            entry["format"] = fmt
        value_map, wrong = parse_value_map(text(form, f"values_{i}"), column)
        problems += wrong
        if value_map:
            entry["values"] = value_map
        mappings.append(entry)
    fields, values = form.getlist("const_field"), form.getlist("const_value")
    for named, value in zip(fields, values, strict=False):
        if isinstance(named, str) and named.strip() and isinstance(value, str):
            mappings.append({"field": named.strip(), "value": value})
    if not mappings:
        problems.append("Map at least one column.")
    if problems:
        return await run_in_threadpool(
            _mapping_page, request, draft, error=" ".join(problems), status=400
        )
    chosen = {str(m["column"]): str(m["field"]) for m in mappings if "column" in m}
    for column, field in chosen.items():
        if field != next(
            (str(m["field"]) for m in draft.mappings or [] if m.get("column") == column), None
        ):
            draft.found[column] = "chosen by you"
    draft.mappings = mappings
    draft.plan_run = None
    return go(request, draft, "options")


# ---- 5. options -------------------------------------------------------------------------------


def _defaults(request: Request) -> dict[str, Any]:
    """What each option is when the job leaves it: the installation's default, else the
    built-in one; the form starts there and keeps only what is changed from it."""
    return effective_defaults(ui_context(request).workspace.option_defaults.get())


@router.get("/import/{upload_id}/options")
def options_page(request: Request, session: Editor, upload_id: str) -> Response:
    draft = open_draft(request, session, upload_id)
    if draft.mappings is None:
        return go(request, draft, "mapping")
    defaults = _defaults(request)
    return wizard(
        request,
        "import_options.html",
        title="Import: options",
        step=5,
        draft=draft,
        options=option_views(draft.options, defaults),
        error="",
    )


@router.post("/import/{upload_id}/options")
async def choose_options(request: Request, session: Editor, upload_id: str) -> Response:
    draft = open_draft(request, session, upload_id)
    form = await request.form()
    defaults = _defaults(request)
    chosen: dict[str, Any] = {}
    for view in option_views({}, defaults):
        given = text(form, view.name)
        if view.kind == "bool":
            value: Any = bool(given)
        elif view.kind == "number":
            value = int(given) if given.isdigit() and int(given) > 0 else None
        else:
            value = given if given in view.choices else defaults[view.name]
        if value != defaults[view.name]:
            chosen[view.name] = value
    draft.options = chosen
    draft.plan_run = None
    return go(request, draft, "plan")
