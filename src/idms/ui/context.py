"""What every page needs: the workspace (the facade) and the templates."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.requests import Request

from idms.workspace import Workspace

HERE = Path(str(files("idms.ui")))
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"


def _nothing() -> None:
    return None


@dataclass
class UiContext:
    workspace: Workspace
    templates: Jinja2Templates
    # Wakes the server's dispatcher: a run the UI queued is handed to the executor now (the
    # server's loop would within a second). The UI never imports the server; it is told.
    wake: Callable[[], None] = field(default=_nothing)


def new_context(workspace: Workspace, wake: Callable[[], None] | None = None) -> UiContext:
    # Every value escaped (autoescape), and an undefined name an error rather than a blank.
    env = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined
    )
    return UiContext(workspace, Jinja2Templates(env=env), wake or _nothing)


def ui_context(request: Request) -> UiContext:
    context = request.app.state.ui
    assert isinstance(context, UiContext)
    return context
