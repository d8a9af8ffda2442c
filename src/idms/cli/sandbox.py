"""``idms sandbox``: serve the iMIS REST API over the workspace's embedded store."""

from __future__ import annotations

import os
import secrets
import sys
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from idms.cli.context import embedded_target, get_settings, suite_engine
from idms.cli.output import print_line
from idms.config import Platform

PASSWORD_VARIABLE = "IDMS_SANDBOX_PASSWORD"
DEFAULT_ROLES = ("SysAdmin", "RemoteService")


def _roles(given: list[str] | None) -> tuple[str, ...]:
    """MANAGER's roles: the default pair, or those given ('none': none at all)."""
    if not given:
        return DEFAULT_ROLES
    return tuple(r.strip() for r in given if r.strip() and r.strip().casefold() != "none")


def sandbox_command(
    ctx: typer.Context,
    host: Annotated[
        str, typer.Option("--host", metavar="HOST", help="The address to listen on.")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=1, max=65535, metavar="PORT", help="The port to listen on.")
    ] = 8081,
    platform: Annotated[
        Platform | None,
        typer.Option(
            "--platform",
            help="Behave as iMIS EMS (ems) or iMIS 2017 (2017). Default: the global --platform.",
            case_sensitive=False,
            show_default=False,
        ),
    ] = None,
    prefix: Annotated[
        str,
        typer.Option(
            "--prefix",
            metavar="PATH",
            help="Serve everything under this path, as iMIS 2017 does (/Asi.Scheduler_iMIS).",
        ),
    ] = "",
    faults: Annotated[
        str,
        typer.Option(
            "--faults",
            metavar="STATUS=SHARE,...",
            help="Answer a share of API calls with an error, e.g. 429=0.1,500=0.05.",
        ),
    ] = "",
    latency_ms: Annotated[
        int,
        typer.Option(
            "--latency-ms", min=0, metavar="MS", help="Wait this long before every answer."
        ),
    ] = 0,
    sysadmins: Annotated[
        list[str] | None,
        typer.Option(
            "--sysadmin",
            metavar="USERNAME",
            help="A store user who is a system administrator, as MANAGER is: may create, "
            "unlock and delete logins and set others' passwords (repeatable).",
        ),
    ] = None,
    manager_roles: Annotated[
        list[str] | None,
        typer.Option(
            "--manager-role",
            metavar="ROLE",
            help="MANAGER's roles instead of SysAdmin and RemoteService (repeatable; "
            "'none' for none), to try 'idms check' on an account missing one.",
        ),
    ] = None,
    password_age: Annotated[
        int | None,
        typer.Option(
            "--manager-password-age",
            min=0,
            metavar="DAYS",
            help="MANAGER's password was last changed this many days ago (iMIS 2017 expires "
            "it after 90), to try 'idms check' on a password about to expire or expired.",
            show_default=False,
        ),
    ] = None,
    restricted: Annotated[
        list[str] | None,
        typer.Option(
            "--restrict",
            metavar="NAME",
            help="Answer 403 for this panel source or IQA path, as iMIS does for one not "
            "available via the REST API (repeatable).",
        ),
    ] = None,
    notify: Annotated[
        str | None,
        typer.Option(
            "--notify",
            metavar="URL",
            help="Send iMIS change notifications (Azure Event Grid events, after its validation "
            "handshake) to this URL for every create, update and delete made through the "
            "sandbox, e.g. the URL 'idms workflow change-url' shows.",
        ),
    ] = None,
) -> None:
    """Serve the iMIS REST API over the embedded store: a local stand-in for a real iMIS.

    Point idms (or any iMIS REST client) at it with --target imis+http://HOST:PORT/. The
    background account is MANAGER; its password comes from the IDMS_SANDBOX_PASSWORD variable,
    or is made up and printed at start. The workspace's saved queries answer at /api/iqa and
    /api/query by their IQA path ($/idms/NAME unless they name another). Stop the server with
    Ctrl-C.

    --manager-role, --manager-password-age and --restrict make the failures 'idms check' looks
    for (a role missing, a password expiring, a panel source or IQA kept from REST).

    Example: idms sandbox --port 8081 --prefix /Asi.Scheduler_iMIS --faults 429=0.05

    Example: idms sandbox --manager-role SysAdmin --manager-password-age 80 --restrict Panel_X
    """
    from idms.queries.store import QueryStore
    from idms.sandbox.app import create_app
    from idms.sandbox.faults import FaultPlan
    from idms.sandbox.server import base_url, serve
    from idms.targets.embedded.notify import drain, sender

    settings = get_settings(ctx)
    if platform is not None:
        settings = settings.with_changes(platform=platform)
    if notify:  # the store notifies it, as it notifies the workspace's own URLs
        settings = settings.with_changes(change_notify_urls=(*settings.change_notify_urls, notify))
    plan = FaultPlan.parse(faults) if faults.strip() else None
    changed = None
    if password_age is not None:
        now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
        changed = now - timedelta(days=password_age)
    given = os.environ.get(PASSWORD_VARIABLE)
    password = given or secrets.token_urlsafe(12)
    with embedded_target(settings) as target, suite_engine(settings) as engine:
        app = create_app(
            target,
            platform=settings.platform.value,
            manager_password=password,
            prefix=prefix,
            faults=plan,
            latency_ms=latency_ms,
            queries=QueryStore(engine).find_by_path,
            sysadmins=sysadmins or (),
            manager_roles=_roles(manager_roles),
            manager_password_changed=changed,
            restricted=restricted or (),
        )
        url = base_url(app, host, port)
        shown = f'"${PASSWORD_VARIABLE}"' if given else password
        print_line(f"iMIS sandbox ({settings.platform.value}) serving {settings.store_url}")
        print_line(f"Base URL:  {url}", style="bold")
        if given:
            print_line(f"MANAGER password: from {PASSWORD_VARIABLE}")
        else:
            print_line(f"MANAGER password: {password}", style="bold")
        if plan is not None:
            print_line(f"Faults: {plan.describe()}")
        if latency_ms:
            print_line(f"Latency: {latency_ms} ms per call")
        print_line("Get a token:")
        print_line(
            f"  curl -X POST {url}/token -d grant_type=password -d username=MANAGER "
            f"-d password={shown}"
        )
        print_line(f"Use it from idms:  idms --target imis+{url}/ sources")
        print_line(f"Saved queries:  {url}/api/iqa?QueryName=$/idms/NAME&parameter=...")
        if notify:
            print_line(f"Change notifications to: {notify}")
            sender(notify).start()  # verified now, as iMIS's "Verify and Save" does
        print_line("Stop with Ctrl-C.")
        sys.stdout.flush()
        try:
            serve(app, host, port)
        finally:
            drain()
