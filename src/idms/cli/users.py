"""``idms user``: the accounts people sign in to the web UI of ``idms serve`` with."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Annotated

import typer

from idms.cli.context import get_settings, open_workspace
from idms.cli.output import new_table, print_json, print_line, print_note, print_table
from idms.errors import InvalidInputError

user_app = typer.Typer(
    help="Add, list, change and remove the users who sign in to the web UI of 'idms serve'.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

ROLES = "admin, editor or viewer"
NameArgument = Annotated[
    str,
    typer.Argument(
        metavar="NAME",
        help="The user's sign-in name (upper and lower case count as the same).",
        show_default=False,
    ),
]
RoleOption = Annotated[
    str,
    typer.Option(
        "--role",
        metavar="ROLE",
        help=f"{ROLES}: viewers see, editors also run jobs, admins also manage users.",
        show_default=False,
    ),
]
PasswordStdin = Annotated[
    bool,
    typer.Option(
        "--password-stdin",
        help="Read the password from standard input (one line) instead of asking for it.",
    ),
]


def _read_password(name: str, from_stdin: bool) -> str:
    """The new password: asked twice, hidden, on a terminal; else read from standard input."""
    if from_stdin or not sys.stdin.isatty():
        password = sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    else:
        password = typer.prompt(
            f"Password for '{name}'", hide_input=True, confirmation_prompt=True, err=True
        )
    if not password:
        raise InvalidInputError(f"No password given for '{name}': nothing changed.")
    return password


@user_app.command("add")
def add_command(
    ctx: typer.Context,
    name: NameArgument,
    role: RoleOption,
    password_stdin: PasswordStdin = False,
) -> None:
    """Add a user who can sign in to the web UI. The password is asked for twice (hidden), or
    read from standard input with --password-stdin; it needs at least 10 characters.

    Example: idms user add ann --role admin
    """
    from idms.state.users import Role

    parsed = Role.parse(role)  # a wrong role is refused before the password is asked for
    password = _read_password(name, password_stdin)
    with open_workspace(get_settings(ctx)) as workspace:
        info = workspace.add_user(name, parsed, password)
    print_line(f"User '{info.name}' added ({info.role}). They sign in at the server's address.")


@user_app.command("list")
def list_command(
    ctx: typer.Context,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the users as one JSON array.")
    ] = False,
) -> None:
    """List the users: name, role, when added, last sign-in (never their passwords).

    Example: idms user list
    """
    with open_workspace(get_settings(ctx)) as workspace:
        infos = workspace.users()
    if as_json:
        print_json(
            [
                {
                    "name": i.name,
                    "role": i.role.value,
                    "disabled": i.disabled,
                    "created_at": i.created_at,
                    "last_sign_in_at": i.last_sign_in_at,
                }
                for i in infos
            ]
        )
        return
    if not infos:
        print_note("No users yet. Add the first administrator: idms user add NAME --role admin")
        return
    table = new_table("Name", "Role", "Added", "Last sign-in", "Status")
    for i in infos:
        status = "disabled" if i.disabled else "active"
        table.add_row(
            i.name, i.role.value, _when(i.created_at), _when(i.last_sign_in_at) or "never", status
        )
    print_table(table)


@user_app.command("remove")
def remove_command(ctx: typer.Context, name: NameArgument) -> None:
    """Remove a user: they are signed out and can no longer sign in. The only active
    administrator cannot be removed.

    Example: idms user remove ann
    """
    with open_workspace(get_settings(ctx)) as workspace:
        info = workspace.remove_user(name)
    print_line(f"User '{info.name}' removed.")


@user_app.command("passwd")
def passwd_command(
    ctx: typer.Context, name: NameArgument, password_stdin: PasswordStdin = False
) -> None:
    """Set a user's password (asked for twice, or read with --password-stdin). The user is
    signed out everywhere and signs in again with the new one.

    Example: idms user passwd ann
    """
    with open_workspace(get_settings(ctx)) as workspace:
        workspace.user_store.get(name)  # an unknown name is told before the password is asked
        info = workspace.set_password(name, _read_password(name, password_stdin))
    print_line(f"Password of '{info.name}' changed; their sessions were ended.")


@user_app.command("role")
def role_command(
    ctx: typer.Context,
    name: NameArgument,
    role: Annotated[
        str, typer.Argument(metavar="ROLE", help=f"The new role: {ROLES}.", show_default=False)
    ],
) -> None:
    """Change a user's role. The user is signed out and signs in again with the new role.
    The only active administrator cannot be given another role.

    Example: idms user role ann editor
    """
    with open_workspace(get_settings(ctx)) as workspace:
        info = workspace.set_role(name, role)
    print_line(f"User '{info.name}' is now {_article(info.role.value)} {info.role.value}.")


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _when(moment: datetime | None) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M") if moment is not None else ""
