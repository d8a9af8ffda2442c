"""``/settings`` (admins only): the iMIS connection as the settings give it, and a test of it;
the secrets by name (a value can be set or replaced, never read back); the API tokens (a new one
is shown once); the default task options (a job's own and its template's win over them); the
notification settings, read-only (they come from the environment or the
settings file).

Changes that work go back to the page with a notice (POST, redirect, GET), except a new token:
that page is the only time the token is shown, so it is answered directly and not cached.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from idms.errors import IdmsError
from idms.facade.admin import ConnectionTest
from idms.ui.context import ui_context
from idms.ui.render import page, root_of
from idms.ui.sessions import Admin
from idms.ui.settings_views import (
    connection_facts,
    notification_facts,
    option_rows,
    secret_rows,
    token_rows,
)

router = APIRouter()
NOTICES = {
    "secret-set": "Secret '{name}' stored (encrypted). Its value is never shown.",
    "secret-deleted": "Secret '{name}' deleted.",
    "token-revoked": "API token '{name}' revoked: requests that send it are refused from now on.",
    "token-was-revoked": "API token '{name}' was revoked already.",
    "options-set": "Default task options saved: runs from now on take them ({name}).",
}
NO_STORE = {"Cache-Control": "no-store"}


def _page(
    request: Request,
    *,
    notice: str = "",
    error: str = "",
    status: int = 200,
    test: ConnectionTest | None = None,
    new_token: tuple[str, str] | None = None,
) -> Response:
    workspace = ui_context(request).workspace
    return page(
        request,
        "settings.html",
        title="Settings",
        status=status,
        headers=NO_STORE,
        connection=connection_facts(workspace.connection()),
        test=test,
        secrets=secret_rows(workspace.secrets_set()),
        tokens=token_rows(workspace.api_tokens()),
        notifications=notification_facts(workspace.settings),
        options=option_rows(workspace.option_defaults.get()),
        new_token=new_token,
        notice=notice,
        error=error,
    )


def _done(request: Request, what: str, name: str) -> Response:
    root = root_of(request)
    return RedirectResponse(
        f"{root}/settings?{urlencode({'done': what, 'name': name})}", status_code=303
    )


@router.get("/settings")
def settings_page(request: Request, session: Admin, done: str = "", name: str = "") -> Response:
    notice = NOTICES[done].format(name=name) if done in NOTICES and name else ""
    return _page(request, notice=notice)


@router.post("/settings/test")
def test_connection(request: Request, session: Admin) -> Response:
    return _page(request, test=ui_context(request).workspace.test_connection())


@router.post("/settings/secrets")
def set_secret(  # nosec B107 # an empty value is refused by the facade
    request: Request,
    session: Admin,
    name: Annotated[str, Form()] = "",
    value: Annotated[str, Form()] = "",
) -> Response:
    try:
        ui_context(request).workspace.set_secret(name, value)
    except IdmsError as refused:
        return _page(request, error=str(refused), status=400)
    return _done(request, "secret-set", name.strip())


@router.post("/settings/secrets/{name}/delete")
def delete_secret(request: Request, session: Admin, name: str) -> Response:
    try:
        ui_context(request).workspace.delete_secret(name)
    except IdmsError as refused:
        return _page(request, error=str(refused), status=400)
    return _done(request, "secret-deleted", name)


@router.post("/settings/options")
async def set_options(request: Request, session: Admin) -> Response:
    """The default task options as the form gives them: a blank field drops the default (the
    built-in value applies); each value is checked as a job's option is."""
    from idms.jobs.options import INSTALLATION_WIDE

    form = await request.form()
    given = {n: str(form.get(f"option.{n}", "")).strip() for n in INSTALLATION_WIDE}
    try:
        values = ui_context(request).workspace.option_defaults.replace(
            {n: v for n, v in given.items() if v}
        )
    except IdmsError as refused:
        return _page(request, error=str(refused), status=400)
    return _done(request, "options-set", f"{len(values)} set")


@router.post("/settings/tokens")
def create_token(request: Request, session: Admin, name: Annotated[str, Form()] = "") -> Response:
    try:
        info, token = ui_context(request).workspace.create_token(name)
    except IdmsError as refused:
        return _page(request, error=str(refused), status=400)
    return _page(request, new_token=(info.name, token))


@router.post("/settings/tokens/{name}/revoke")
def revoke_token(request: Request, session: Admin, name: str) -> Response:
    try:
        revoked = ui_context(request).workspace.revoke_token(name)
    except IdmsError as refused:
        return _page(request, error=str(refused), status=400)
    return _done(request, "token-revoked" if revoked else "token-was-revoked", name)
