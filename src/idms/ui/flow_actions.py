"""What the workflow and transfer pages share beyond their views: a queued run handed to the
executor at once, the facade's refusals as pages, and the URLs people give other systems."""

from __future__ import annotations

from starlette.requests import Request

from idms.errors import Conflict, IdmsError, InvalidInputError, NotFound
from idms.ui.refusals import UiRefusal


def wake_executor(request: Request) -> None:
    """Have a run just queued handed to the executor now, as the API's run endpoints do (the
    server's dispatcher; without one the background loop or another process takes it)."""
    server = getattr(request.app.state, "idms", None)
    dispatch = getattr(server, "dispatch", None)
    if callable(dispatch):
        dispatch()


def refusal(exc: IdmsError) -> UiRefusal:
    """The facade's refusal as a page: no such thing (404), not now (409), or not so (400)."""
    if isinstance(exc, NotFound):
        return UiRefusal(404, "Not found", exc.message)
    if isinstance(exc, Conflict):
        return UiRefusal(409, "Not possible now", exc.message)
    if isinstance(exc, InvalidInputError):
        return UiRefusal(400, "Refused", exc.message)
    raise exc


def site_url(request: Request, path: str) -> str:
    """``path`` on the address the request came to (as the API's URLs are made)."""
    return str(request.base_url).rstrip("/") + path
