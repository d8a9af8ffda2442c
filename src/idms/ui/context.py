"""What every page needs: the workspace (the facade) and the templates."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.requests import Request

from idms.ui.drafts import DraftStore
from idms.workspace import Workspace

HERE = Path(str(files("idms.ui")))
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"


@dataclass
class UiContext:
    workspace: Workspace
    templates: Jinja2Templates
    # Hands queued runs to the server's executor now (the server's loop would soon anyway).
    dispatch: Callable[[], None] = lambda: None
    drafts: DraftStore = field(default_factory=DraftStore)  # the import wizard's


def new_context(workspace: Workspace, dispatch: Callable[[], None] | None = None) -> UiContext:
    # Every value escaped (autoescape), and an undefined name an error rather than a blank.
    env = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined
    )
    context = UiContext(workspace, Jinja2Templates(env=env))
    if dispatch is not None:
        context.dispatch = dispatch
    return context


def ui_context(request: Request) -> UiContext:
    context = request.app.state.ui
    assert isinstance(context, UiContext)
    return context
