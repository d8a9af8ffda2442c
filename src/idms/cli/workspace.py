"""``idms init``: create the workspace, its suite database, its embedded store and its key."""

from __future__ import annotations

from pathlib import Path

import typer

from idms.cli.context import embedded_target, get_settings
from idms.cli.output import print_line
from idms.config import Settings
from idms.errors import ConfigError
from idms.private import private_folder

REMOTE_PREFIXES = ("imis+https://", "imis+http://")


def init_command(ctx: typer.Context) -> None:
    """Create the workspace (safe to run again).

    Creates the workspace folder, its suite database (jobs, runs, secrets), its embedded iMIS
    store and its secret key. Safe to run again: what exists already is kept (and brought up
    to date), nothing is erased.

    Example: idms --workspace ./association-data init
    """
    from idms.secrets import open_secrets
    from idms.state.store import open_suite

    settings = get_settings(ctx)
    ws = settings.workspace
    ws_existed = ws.is_dir()
    try:
        private_folder(ws, tighten_existing=False)
    except OSError as exc:
        raise ConfigError(f"Cannot create the workspace {ws}: {exc.strerror}.") from None
    lines = [("Workspace", str(ws.resolve()), _status(ws_existed))]

    suite_existed = _exists(settings.suite_url)
    open_suite(settings.suite_url).dispose()
    lines.append(("Suite database", _where(settings.suite_url), _status(suite_existed)))

    if settings.target.startswith(REMOTE_PREFIXES):
        lines.append(("Embedded store", f"not used: the target is {settings.target}", "skipped"))
    else:
        store_existed = _exists(settings.store_url)
        with embedded_target(settings):
            pass
        lines.append(("Embedded store", _where(settings.store_url), _status(store_existed)))

    key_existed = settings.secret_key is not None or settings.key_file.exists()
    with open_secrets(settings):
        pass
    lines.append(("Secret key", _key_place(settings), _status(key_existed)))

    created = sum(1 for *_, status in lines if status == "created")
    for what, where, status in lines:
        style = "green" if status == "created" else None
        print_line(f"{status:<8} {what + ':':<16} {where}", style=style)
    print_line()
    if created:
        print_line("Workspace ready. Next: 'idms demo' for sample data, or 'idms sources'.")
    else:
        print_line("Workspace already set up; nothing to do.")


def _status(existed: bool) -> str:
    return "exists" if existed else "created"


def _exists(url: str) -> bool:
    """Whether a SQLite database file is already there (other databases: assume it is)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return True
    database = parsed.database
    return bool(database) and database != ":memory:" and Path(str(database)).exists()


def _where(url: str) -> str:
    """A SQLite database as its file, any other as its URL without the password."""
    from sqlalchemy.engine import make_url

    from idms.state.store import display_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        return str(Path(parsed.database).resolve())
    return display_url(url)


def _key_place(settings: Settings) -> str:
    if settings.secret_key is not None:
        return "from the IDMS_SECRET_KEY variable"
    return f"{settings.key_file.resolve()} (keep it private; it decrypts stored secrets)"
