"""``/transfers``: every transfer (viewers see), and one transfer: its connections in the
order they send, its runs with what each connection sent, and its delta hashes (iDMS's View
Hashing Info). Editors run it now (queued, as the API does) and forget every key it keeps."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from idms.errors import IdmsError, InvalidInputError
from idms.state.users import Role
from idms.ui.context import ui_context
from idms.ui.flow_actions import refusal, wake_executor
from idms.ui.flow_views import (
    connection_rows,
    path_of,
    run_path,
    transfer_row,
    transfer_run_rows,
)
from idms.ui.render import page, root_of
from idms.ui.sessions import Editor, Viewer, started_by
from idms.ui.views import when

router = APIRouter()
LATEST_RUNS = 20
KEYS_PAGE = 50
NOTICES = {"forgot": "{count} keys forgotten: the next run sends every row again."}


def _go(request: Request, path: str, **query: str) -> Response:
    root = root_of(request)
    return RedirectResponse(
        f"{root}{path}" + (f"?{urlencode(query)}" if query else ""), status_code=303
    )


@router.get("/transfers")
def transfers_page(request: Request, session: Viewer) -> Response:
    workspace = ui_context(request).workspace
    rows = []
    for info in workspace.transfers():
        latest = workspace.transfer_runs(info.name, limit=1)
        rows.append(transfer_row(info, latest[0] if latest else None))
    return page(request, "transfers.html", title="Transfers", transfers=rows)


@router.get("/transfers/{name}")
def transfer_page(
    request: Request, session: Viewer, name: str, done: str = "", count: str = "", offset: int = 0
) -> Response:
    workspace = ui_context(request).workspace
    try:
        info = workspace.transfer(name)
        history = workspace.transfer_runs(info.name, limit=LATEST_RUNS)
    except IdmsError as exc:
        raise refusal(exc) from None
    hashing = None
    no_hashing = ""
    try:
        hashing = workspace.workflow_hashes(
            info.name, kind="transfer", limit=KEYS_PAGE, offset=max(offset, 0)
        )
    except InvalidInputError as exc:
        no_hashing = exc.message  # no delta: key, so nothing is kept
    runs = transfer_run_rows(history)
    notice = NOTICES[done].format(count=count) if done in NOTICES and count.isdigit() else ""
    return page(
        request,
        "transfer.html",
        title=f"Transfer {info.name}",
        transfer=transfer_row(info, None),
        last=runs[0] if runs else None,
        connections=connection_rows(info),
        query=str((info.document.get("source") or {}).get("query") or ""),
        runs=runs,
        hashing=hashing,
        keys=[(k.key, k.hash[:12], when(k.updated_at)) for k in hashing.keys] if hashing else [],
        next_offset=(hashing.offset + hashing.limit) if hashing and hashing.more else None,
        prev_offset=max(hashing.offset - hashing.limit, 0) if hashing and hashing.offset else None,
        no_hashing=no_hashing,
        editor=session.role.allows(Role.EDITOR),
        notice=notice,
    )


@router.post("/transfers/{name}/run")
def run_transfer(request: Request, session: Editor, name: str) -> Response:
    try:
        info = ui_context(request).workspace.start_transfer(
            name, trigger="manual", started_by=started_by(session)
        )
    except IdmsError as exc:
        raise refusal(exc) from None
    wake_executor(request)
    return _go(request, run_path(info.id))


@router.post("/transfers/{name}/forget")
def forget_keys(request: Request, session: Editor, name: str) -> Response:
    try:
        count = ui_context(request).workspace.clear_workflow_hashes(name, kind="transfer")
    except IdmsError as exc:
        raise refusal(exc) from None
    return _go(request, path_of("transfers", name), done="forgot", count=str(count))
