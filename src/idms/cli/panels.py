"""``idms panel``: user-defined panels (what iMIS's Panel Designer makes)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from idms.cli.context import embedded_target, get_settings
from idms.cli.output import new_table, print_json, print_line, print_note, print_table
from idms.cli.sources import print_fields
from idms.errors import InvalidInputError

panel_app = typer.Typer(
    help="Create and list user-defined panels (extra fields kept on contacts).",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@panel_app.command("create")
def create_command(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(
            metavar="PANEL.yml",
            help="The panel definition: name, kind (single, multi or standalone), fields.",
            show_default=False,
        ),
    ],
) -> None:
    """Create a panel from a PANEL.yml definition.

    The panel becomes a source that jobs can load and "idms records" can browse. A malformed
    definition is refused with every problem listed, and nothing is created.

    Example: idms panel create volunteering.yml
    """
    try:
        text = file.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InvalidInputError(f"No such file: {file}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"Cannot read {file}: {exc}") from None
    with embedded_target(get_settings(ctx)) as target:
        panel = target.create_panel(text)
        sdef = target.describe(panel.name)
    print_line(f"Panel '{panel.name}' created ({panel.kind}-instance).", style="green")
    print_line()
    print_fields(sdef)
    print_line()
    print_line(f"Load it with a job whose source is {sdef.name}; browse it with:")
    print_line(f"  idms records {sdef.name}", style="bold")


@panel_app.command("list")
def list_command(
    ctx: typer.Context,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the panels' source definitions as JSON.")
    ] = False,
) -> None:
    """List the user-defined panels of the embedded store.

    Example: idms panel list
    """
    with embedded_target(get_settings(ctx)) as target:
        defs = [s for s in target.sources() if s.kind == "panel"]
    if as_json:
        print_json([s.to_dict() for s in defs])
        return
    if not defs:
        print_note("No panels yet. Create one with: idms panel create PANEL.yml")
        return
    table = new_table("Panel", "Kind", "Fields", "Description", no_wrap=("Panel",))
    for s in defs:
        table.add_row(s.name, s.panel_kind or "", str(len(s.fields)), s.description)
    print_table(table)
