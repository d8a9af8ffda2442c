"""``idms settings options``: the installation's default task options (iDMS's global
settings), kept in the suite database; a job's own options and its template's win over them
(:mod:`idms.jobs.options`)."""

from __future__ import annotations

from typing import Annotated

import typer

from idms.cli.context import get_settings, open_workspace
from idms.cli.output import print_json, print_line, print_note

settings_app = typer.Typer(
    help="Installation settings kept in the suite database (default task options).",
    no_args_is_help=True,
    rich_markup_mode=None,
)
options_app = typer.Typer(
    help="Default task options for every job that does not set them (nor its template).",
    no_args_is_help=True,
    rich_markup_mode=None,
)
settings_app.add_typer(options_app, name="options")

JsonFlag = Annotated[bool, typer.Option("--json", help="Print the options as a JSON object.")]


@options_app.command("show")
def show_command(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Show every task option's default for new runs and where it comes from (global: set
    here; built-in: idms's own).

    Example: idms settings options show
    """
    from idms.jobs.options import defaults_report, option_text

    with open_workspace(get_settings(ctx)) as workspace:
        report = defaults_report(workspace.option_defaults.get())
    if as_json:
        print_json(report)
        return
    for name, entry in report.items():
        print_line(f"{name}: {option_text(entry['value'])} ({entry['from']})")


@options_app.command("set")
def set_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="OPTION", help="e.g. batch_size")],
    value: Annotated[str, typer.Argument(metavar="VALUE", help="e.g. 500, true, clear")],
) -> None:
    """Set an installation default, checked as a job's option is; every run from now on that
    does not set the option (nor its template) takes it, scheduled ones included.

    Example: idms settings options set batch_size 500
    """
    from idms.jobs.options import option_text

    with open_workspace(get_settings(ctx)) as workspace:
        values = workspace.option_defaults.set({name: value})
    print_line(f"Default task option {name} set to {option_text(values[name])}.")


@options_app.command("unset")
def unset_command(
    ctx: typer.Context,
    names: Annotated[list[str], typer.Argument(metavar="OPTION...", help="e.g. batch_size")],
) -> None:
    """Drop installation defaults: the built-in values apply again.

    Example: idms settings options unset batch_size
    """
    with open_workspace(get_settings(ctx)) as workspace:
        before = workspace.option_defaults.get()
        workspace.option_defaults.unset(names)
    for name in names:
        if name in before:
            print_line(f"Default task option {name} unset: the built-in value applies.")
        else:
            print_note(f"{name} had no installation default.")
