"""What every page needs: the workspace (the facade) and the templates."""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.requests import Request

from idms.workspace import Workspace

HERE = Path(str(files("idms.ui")))
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"


@dataclass
class UiContext:
    workspace: Workspace
    templates: Jinja2Templates


def new_context(workspace: Workspace) -> UiContext:
    # Every value escaped (autoescape), and an undefined name an error rather than a blank.
    env = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined
    )
    return UiContext(workspace, Jinja2Templates(env=env))


def ui_context(request: Request) -> UiContext:
    context = request.app.state.ui
    assert isinstance(context, UiContext)
    return context
