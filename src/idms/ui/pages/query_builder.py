"""``/queries/new`` and ``/queries/NAME/edit`` (editors): the saved-query builder.

The form lays a query out as ``docs/queries.md`` describes it: the source it reads, its columns
(field and alias), its filters (field, operator, a value or a prompt), its order and limit. What
the form cannot express (relations with their own conditions, an IQA path) is written in the
definition area below it, as the YAML or JSON of a query file. Either way the query is saved
through the facade as ``idms query save`` saves it (checked against the target's sources first);
a refused query comes back as it was entered, each problem next to the field it names.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from idms.errors import IdmsError
from idms.queries.model import QueryInvalid, SavedQuery, build_query, parse_query_document
from idms.sources.model import SourceDef
from idms.ui.context import ui_context
from idms.ui.import_views import source_choices
from idms.ui.pages.queries import done, saved_query
from idms.ui.query_views import (
    MAX_DEFINITION,
    OPERATORS,
    QueryForm,
    definition_text,
    form_from_post,
    form_of_query,
)
from idms.ui.render import page, root_of
from idms.ui.sessions import Editor

router = APIRouter()


def _builder(
    request: Request,
    form: QueryForm,
    *,
    editing: str = "",
    definition: str = "",
    cannot: list[str] | None = None,
    problems: list[str] | None = None,
    status: int = 200,
) -> Response:
    workspace = ui_context(request).workspace
    _, defs = workspace.import_sources()
    known = {d.name for d in defs}
    root = root_of(request)
    action = f"{root}/queries/{quote(editing, safe='')}/edit" if editing else f"{root}/queries/new"
    return page(
        request,
        "query_form.html",
        title=f"Change query '{editing}'" if editing else "New query",
        status=status,
        form=form.padded(),
        editing=editing,
        action=action,
        sources=source_choices(defs),
        unknown_source=form.source and form.source not in known,
        fields=_fields(defs, form.source),
        operators=OPERATORS,
        definition=definition,
        cannot=cannot or [],
        problems=problems or [],
        max_definition=MAX_DEFINITION,
    )


def _fields(defs: list[SourceDef], source: str) -> list[tuple[str, str]]:
    """The fields of ``source`` a query may show (not secret, read back), name and label."""
    sdef = next((d for d in defs if d.name == source), None)
    if sdef is None:
        return []
    return [(f.name, f.label) for f in sdef.fields if not f.secret and not f.write_only]


@router.get("/queries/new/fields")
def source_fields(request: Request, session: Editor, source: str = "") -> Response:
    """The field names the builder offers for ``source`` (htmx swaps them in when the source
    changes)."""
    _, defs = ui_context(request).workspace.import_sources()
    return page(request, "query_fields.html", title="", fields=_fields(defs, source[:200]))


@router.get("/queries/new")
def new_query(request: Request, session: Editor, source: str = "Contact") -> Response:
    """An empty builder; ``source`` picks the source whose fields it offers."""
    return _builder(request, QueryForm(source=source[:200]))


@router.get("/queries/{name:path}/edit")
def edit_query(request: Request, session: Editor, name: str) -> Response:
    query = saved_query(request, name)
    form, cannot = form_of_query(query)
    return _builder(
        request, form, editing=query.name, definition=definition_text(query), cannot=cannot
    )


@router.post("/queries/new")
async def save_new(request: Request, session: Editor) -> Response:
    return await _save(request, editing="")


@router.post("/queries/{name:path}/edit")
async def save_edited(request: Request, session: Editor, name: str) -> Response:
    query = await run_in_threadpool(saved_query, request, name)
    return await _save(request, editing=query.name)


async def _save(request: Request, *, editing: str) -> Response:
    """The builder's fields, or with ``use=definition`` the definition written by hand, saved
    as ``idms query save`` saves a file (a query being changed keeps its name)."""
    sent = await request.form()
    form = form_from_post(sent)
    raw = sent.get("definition")
    definition = raw[:MAX_DEFINITION] if isinstance(raw, str) else ""
    by_hand = sent.get("use") == "definition"
    if editing:
        form.name = editing
    return await run_in_threadpool(_check_and_save, request, form, definition, by_hand, editing)


def _check_and_save(
    request: Request, form: QueryForm, definition: str, by_hand: bool, editing: str
) -> Response:
    workspace = ui_context(request).workspace
    try:
        document = _document(form, definition, by_hand, editing)
        query, new = workspace.save_query(document)
    except QueryInvalid as refused:
        if not by_hand:
            form.place(refused.problems)  # each next to its field too
        return _refused(request, form, definition, editing, by_hand, refused.problems)
    except IdmsError as refused:
        return _refused(request, form, definition, editing, by_hand, [str(refused)])
    return done(request, "saved" if new else "replaced", query.name)


def _document(form: QueryForm, definition: str, by_hand: bool, editing: str) -> dict[str, Any]:
    if not by_hand:
        if not form.name:
            raise QueryInvalid(["name: give the query a name"])
        return form.document()
    if not definition.strip():
        raise QueryInvalid(["the definition is empty: write the query as YAML or JSON"])
    document = parse_query_document(definition, where="the definition")
    if editing:
        document["name"] = editing  # the query being changed keeps its name
    return document


def _refused(
    request: Request,
    form: QueryForm,
    definition: str,
    editing: str,
    by_hand: bool,
    problems: list[str],
) -> Response:
    shown: SavedQuery | None = None
    if not by_hand and not definition:
        try:  # the definition area shows what the form described, when it has a shape
            shown = build_query(form.document())
        except QueryInvalid:
            shown = None
    return _builder(
        request,
        form,
        editing=editing,
        definition=definition or definition_text(shown),
        problems=problems,
        status=400,
    )
