"""Finding what a URL names (a run, a template, a query), or answering 404."""

from __future__ import annotations

from idms.errors import InvalidInputError
from idms.server.context import ServerContext
from idms.server.errors import not_found
from idms.state.queries import QueryInfo
from idms.state.runs import RunInfo
from idms.state.templates import TemplateInfo


def run_or_404(context: ServerContext, run_id: str) -> RunInfo:
    """The run with this ID (or unique start of an ID)."""
    try:
        return context.runs.get(run_id)
    except InvalidInputError as exc:
        raise not_found(_api_words(exc.message)) from None


def template_or_404(context: ServerContext, name: str) -> TemplateInfo:
    try:
        return context.templates.get(name)
    except InvalidInputError as exc:
        raise not_found(_api_words(exc.message)) from None


def query_or_404(context: ServerContext, name: str) -> QueryInfo:
    try:
        return context.queries.get(name)
    except InvalidInputError as exc:
        raise not_found(_api_words(exc.message)) from None


def _api_words(message: str) -> str:
    """The store's message without its pointer to a command (the API lists them itself)."""
    for pointer in (
        " 'idms runs list' shows the runs.",
        " 'idms template list' shows them.",
        " 'idms query list' shows them.",
    ):
        message = message.replace(pointer, "")
    return message
