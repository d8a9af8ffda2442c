"""``idms secrets``: named values (passwords, API keys) kept encrypted in the suite database."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from idms.cli.context import get_settings
from idms.cli.output import confirm_or_stop, print_json, print_line, print_note
from idms.config import Settings
from idms.errors import InvalidInputError, suggest

if TYPE_CHECKING:
    from idms.secrets import SecretStore

secrets_app = typer.Typer(
    help="Store, list and delete encrypted secrets (passwords, API keys).",
    no_args_is_help=True,
    rich_markup_mode=None,
)

NameArgument = Annotated[
    str,
    typer.Argument(
        metavar="NAME", help="The secret's name, e.g. imis-password.", show_default=False
    ),
]


@secrets_app.command("set")
def set_command(ctx: typer.Context, name: NameArgument) -> None:
    """Store a secret under NAME, replacing any previous value.

    On a terminal the value is asked for twice, hidden; otherwise it is read from standard
    input (one trailing newline removed). The value is never printed.

    Example: idms secrets set imis-password
    """
    settings = get_settings(ctx)
    if sys.stdin.isatty():
        value = typer.prompt(
            f"Value for '{name}'", hide_input=True, confirmation_prompt=True, err=True
        )
    else:
        value = sys.stdin.read()
        value = value.removesuffix("\n").removesuffix("\r")
    if not value:
        raise InvalidInputError(f"No value given for secret '{name}': nothing stored.")
    with _open(settings) as store:
        store.set(name, value)
    print_line(f"Secret '{name}' stored (encrypted).")


@secrets_app.command("list")
def list_command(
    ctx: typer.Context,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the names as a JSON array.")
    ] = False,
) -> None:
    """List the names of the stored secrets (never their values).

    Example: idms secrets list
    """
    with _open(get_settings(ctx)) as store:
        names = store.names()
    if as_json:
        print_json(names)
    elif not names:
        print_note("No secrets stored. Add one with: idms secrets set NAME")
    else:
        for name in names:
            print_line(name)


@secrets_app.command("delete")
def delete_command(
    ctx: typer.Context,
    name: NameArgument,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Do not ask for confirmation on a terminal.")
    ] = False,
) -> None:
    """Delete the secret NAME. On a terminal it asks first, unless --yes.

    Example: idms secrets delete imis-password --yes
    """
    with _open(get_settings(ctx)) as store:
        names = store.names()
        if name not in names:
            message = f"No secret named '{name}'."
            close = suggest(name, names)
            raise InvalidInputError(f"{message} Did you mean '{close}'?" if close else message)
        confirm_or_stop(f"Delete secret '{name}'?", yes=yes)
        store.delete(name)
    print_line(f"Secret '{name}' deleted.")


def _open(settings: Settings) -> SecretStore:
    from idms.secrets import open_secrets  # imported when used: --help stays quick

    return open_secrets(settings)
