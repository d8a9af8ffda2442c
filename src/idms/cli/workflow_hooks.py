"""``idms workflow change-url``: the URL iMIS sends its change notifications to."""

from __future__ import annotations

from typing import Annotated

import typer

from idms.cli.context import get_settings, open_workspace
from idms.cli.output import print_json, print_line, print_note

DEFAULT_BASE = "http://127.0.0.1:8000"


def change_url_command(
    ctx: typer.Context,
    regenerate: Annotated[
        bool,
        typer.Option(
            "--regenerate",
            help="Make a new URL: the old one answers 401 from now on (iMIS must be given the "
            "new one, and verify it again).",
        ),
    ] = False,
    base: Annotated[
        str,
        typer.Option(
            "--base",
            metavar="URL",
            help="The address 'idms serve' is reached at from iMIS (its public HTTPS address).",
        ),
    ] = DEFAULT_BASE,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (for scripts).")] = False,
) -> None:
    """Show the URL iMIS sends its change notifications to (one per workspace).

    In iMIS: Settings > Change notifications > Endpoint URL, then Verify and Save ('idms serve'
    answers the validation). Every active workflow whose trigger is change_notification, and
    whose event types match, is started by each notification. The sandbox sends the same
    notifications with 'idms sandbox --notify URL'.

    Example: idms workflow change-url --base https://idms.example.org
    """
    from idms.workflows.notifications import ChangeUrl

    with open_workspace(get_settings(ctx)) as workspace:
        urls = ChangeUrl(workspace)
        token = urls.regenerate() if regenerate else urls.token()
    url = f"{base.rstrip('/')}/hooks/imis/{token}"
    if as_json:
        print_json({"url": url, "regenerated": regenerate})
        return
    print_line(url, style="bold")
    if regenerate:
        print_note("A new URL: the old one is refused from now on. Give iMIS this one.")
