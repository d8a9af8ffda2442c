"""Rendering a page: a template inside ``base.html``, given what every page shows — the
signed-in user and role, the navigation (only the entries the role may open), the form token,
and where the static files are."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse

from idms.state.sessions import SessionInfo
from idms.state.users import Role
from idms.ui.context import ui_context
from idms.ui.sessions import current_session


@dataclass(frozen=True)
class NavItem:
    label: str
    path: str
    role: Role  # the lowest role that may open it


# The main navigation, in order. A new page adds its entry here (Import, Queries, Schedules,
# Workflows, Transfers and Settings come with their pages).
NAV = (
    NavItem("Dashboard", "/", Role.VIEWER),
    NavItem("Runs", "/runs", Role.VIEWER),
    NavItem("Import", "/import", Role.EDITOR),
    NavItem("Templates", "/templates", Role.VIEWER),
    NavItem("Queries", "/queries", Role.VIEWER),
    NavItem("Schedules", "/schedules", Role.VIEWER),
    NavItem("Workflows", "/workflows", Role.VIEWER),
    NavItem("Transfers", "/transfers", Role.VIEWER),
    NavItem("Users", "/users", Role.ADMIN),
    NavItem("Settings", "/settings", Role.ADMIN),
)


@dataclass(frozen=True)
class NavLink:
    label: str
    href: str
    current: bool


def nav_for(session: SessionInfo | None, root: str, path: str) -> list[NavLink]:
    if session is None:
        return []
    return [
        NavLink(item.label, f"{root}{item.path}", _within(path, item.path))
        for item in NAV
        if session.role.allows(item.role)
    ]


def _within(path: str, section: str) -> bool:
    """Whether ``path`` is the section's page or one under it (``/schedules/new``)."""
    return path == section or (section != "/" and path.startswith(section + "/"))


def root_of(request: Request) -> str:
    """The path the UI is served under (``idms serve --root-path``; "" at the site's root),
    which every link and redirect starts with."""
    return str(request.scope.get("root_path", "")).rstrip("/")


def page(
    request: Request,
    template: str,
    *,
    title: str,
    status: int = 200,
    headers: dict[str, str] | None = None,
    **values: Any,
) -> HTMLResponse:
    """``template`` rendered for this request, with what ``base.html`` needs."""
    session = current_session(request)
    root = root_of(request)
    context = {
        "title": title,
        "session": session,
        "csrf_token": session.csrf_token if session is not None else "",
        "nav": nav_for(session, root, request.url.path.removeprefix(root) or "/"),
        "root": root,
        **values,
    }
    return ui_context(request).templates.TemplateResponse(
        request, template, context, status_code=status, headers=headers
    )
