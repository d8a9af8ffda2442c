"""``idms token``: the bearer tokens that let scripts and tools call the API of ``idms serve``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from idms.cli.context import get_settings, suite_engine
from idms.cli.output import new_table, print_json, print_line, print_note, print_table

token_app = typer.Typer(
    help="Create, list and revoke the API tokens of 'idms serve'.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

NameArgument = Annotated[
    str,
    typer.Argument(
        metavar="NAME",
        help="The token's name: who or what uses it (e.g. power-automate).",
        show_default=False,
    ),
]


@token_app.command("create")
def create_command(
    ctx: typer.Context,
    name: NameArgument,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object: name, id and token.")
    ] = False,
) -> None:
    """Create an API token and print it, once: idms keeps only its hash.

    Callers send it as 'Authorization: Bearer TOKEN' (or '?token=TOKEN' where a tool cannot set
    headers). Keep it as you would a password; if it leaks, revoke it and create another.

    Example: idms token create power-automate
    """
    from idms.state.tokens import TokenStore

    with suite_engine(get_settings(ctx)) as engine:
        info, token = TokenStore(engine).create(name)
    if as_json:
        print_json({"name": info.name, "id": info.id, "token": token})
        return
    print_line(token, style="bold")
    print_note(
        f"Token '{info.name}' created. It is shown only this once: store it now. "
        "Use it as the header 'Authorization: Bearer TOKEN'."
    )


@token_app.command("list")
def list_command(
    ctx: typer.Context,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the tokens as one JSON array.")
    ] = False,
) -> None:
    """List the API tokens: name, when made, last used, revoked (never the tokens themselves).

    Example: idms token list
    """
    from idms.state.tokens import TokenStore

    with suite_engine(get_settings(ctx)) as engine:
        infos = TokenStore(engine).list()
    if as_json:
        print_json(
            [
                {
                    "name": i.name,
                    "id": i.id,
                    "created_at": i.created_at,
                    "last_used_at": i.last_used_at,
                    "revoked_at": i.revoked_at,
                    "active": i.active,
                }
                for i in infos
            ]
        )
        return
    if not infos:
        print_note("No API tokens yet. Create one with: idms token create NAME")
        return
    table = new_table("Name", "Created", "Last used", "Status")
    for i in infos:
        status = "active" if i.active else f"revoked {_when(i.revoked_at)}"
        table.add_row(i.name, _when(i.created_at), _when(i.last_used_at) or "never", status)
    print_table(table)


@token_app.command("revoke")
def revoke_command(ctx: typer.Context, name: NameArgument) -> None:
    """Revoke an API token: requests that send it are refused (401) from now on.

    Example: idms token revoke power-automate
    """
    from idms.state.tokens import TokenStore

    with suite_engine(get_settings(ctx)) as engine:
        revoked = TokenStore(engine).revoke(name)
    if revoked:
        print_line(f"Token '{name}' revoked.")
    else:
        print_note(f"Token '{name}' was revoked already.")


def _when(moment: datetime | None) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M") if moment is not None else ""
