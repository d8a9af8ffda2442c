"""``idms template``: saved jobs (source, action, mappings, options) reused by name."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.syntax import Syntax
from rich.text import Text

from idms.cli.context import get_settings, open_workspace, quote_arg, suite_engine
from idms.cli.output import (
    confirm_or_stop,
    new_table,
    out,
    print_json,
    print_line,
    print_note,
    print_table,
)
from idms.errors import InvalidInputError

if TYPE_CHECKING:
    from idms.state.templates import TemplateInfo

template_app = typer.Typer(
    help="Save, list, show and delete job templates (jobs reused by name).",
    no_args_is_help=True,
    rich_markup_mode=None,
)

NameArgument = Annotated[
    str,
    typer.Argument(
        metavar="NAME", help="The template's name (see 'idms template list').", show_default=False
    ),
]


@template_app.command("save")
def save_command(
    ctx: typer.Context,
    job_file: Annotated[
        Path,
        typer.Argument(
            metavar="JOB.yml", help="The job file to save as a template.", show_default=False
        ),
    ],
    name: Annotated[
        str | None,
        typer.Option(
            "--name",
            metavar="NAME",
            help="The template's name; default the job's name.",
            show_default=False,
        ),
    ] = None,
    description: Annotated[
        str | None,
        typer.Option(
            "--description",
            metavar="TEXT",
            help="What the template is for; default the job's description.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Save a job file as a template, replacing any template of the same name.

    The template keeps the job's source, action, mappings and options, not its input file: give
    the file when running it ('idms run --template NAME --input FILE'), or name the template in
    a job file ('template: NAME'). An iUpdate job's input (a saved query and its parameters) is
    part of the template: 'idms run --template NAME' runs it. The job is checked against the
    target first (fields, action, options); an invalid job is refused with every problem listed.

    Example: idms template save attendance.yml --name "Webinar attendance"
    """
    from idms.jobs.assemble import job_from_file

    with open_workspace(get_settings(ctx)) as workspace:
        job = job_from_file(job_file, templates=workspace.templates)
        template_name = (name or "").strip() or (job.name if "name" in job.model_fields_set else "")
        if not template_name:
            raise InvalidInputError(
                f"{job_file} has no name: give the template one with --name NAME."
            )
        new = workspace.save_template(template_name, job, description=description)
    by_query = job.input is not None and job.input.query is not None
    verb = "saved" if new else "replaced"
    print_line(f"Template '{template_name}' {verb}.")
    run_with = "" if by_query else " --input FILE"
    print_note(f"Run it with: idms run --template {quote_arg(template_name)}{run_with}")


@template_app.command("list")
def list_command(
    ctx: typer.Context,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the templates as one JSON array.")
    ] = False,
) -> None:
    """List the saved templates with their source, action and description.

    Example: idms template list
    """
    from idms.state.templates import TemplateStore

    with suite_engine(get_settings(ctx)) as engine:
        infos = TemplateStore(engine).list()
    if as_json:
        print_json([_as_dict(t) for t in infos])
        return
    if not infos:
        print_note("No templates yet. Save one with: idms template save JOB.yml")
        return
    table = new_table("Template", "Source", "Action", "Mappings", "Description", "Updated")
    table.columns[3].justify = "right"
    for t in infos:
        doc = t.document
        table.add_row(
            t.name,
            str(doc.get("source", "")),
            str(doc.get("action", "")),
            str(len(doc.get("mappings") or [])),
            t.description,
            t.updated_at.astimezone().strftime("%Y-%m-%d %H:%M"),
        )
    print_table(table)


@template_app.command("show")
def show_command(
    ctx: typer.Context,
    name: NameArgument,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the template as one JSON object.")
    ] = False,
) -> None:
    """Show a template as YAML: a job file without its input.

    The output can be saved as a job file, given an input, and run with 'idms run'. A password
    given as a constant is stored encrypted and shown masked (********): type it again in the
    copy (a masked value is refused).

    Example: idms template show "Webinar attendance" > attendance.yml
    """
    import yaml

    from idms.state.templates import TemplateStore

    with suite_engine(get_settings(ctx)) as engine:
        info = TemplateStore(engine).get(name)
    if as_json:
        print_json(_as_dict(info))
        return
    header = [f"# Template '{info.name}'"]
    if info.description:
        header.append(f"# {info.description}")
    header.append(f"# updated {info.updated_at.astimezone().strftime('%Y-%m-%d %H:%M')}")
    if info.masked:
        header.append(
            f"# {', '.join(info.masked)}: masked (stored encrypted); give the real value again "
            "before saving or running a copy of this template"
        )
    text = yaml.safe_dump(info.document, sort_keys=False, allow_unicode=True, width=100)
    console = out()
    if console.is_terminal:
        console.print(Text("\n".join(header), style="dim"))
        console.print(Syntax(text, "yaml", theme="ansi_dark", background_color="default"))
    else:
        print_line("\n".join(header) + "\n" + text.rstrip("\n"))


@template_app.command("delete")
def delete_command(
    ctx: typer.Context,
    name: NameArgument,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Do not ask for confirmation on a terminal.")
    ] = False,
) -> None:
    """Delete a template. On a terminal it asks first, unless --yes.

    Runs made from the template keep their own copy of the job; only the template goes. A
    template a schedule runs is refused: remove the schedule (or change what it runs) first.

    Example: idms template delete "Webinar attendance" --yes
    """
    with open_workspace(get_settings(ctx)) as workspace:
        # An unknown name (with the closest one) or a template a schedule runs is refused
        # before asking.
        workspace.deletable_template(name)
        confirm_or_stop(f"Delete template '{name}'?", yes=yes)
        workspace.delete_template(name)
    print_line(f"Template '{name}' deleted.")


def _as_dict(info: TemplateInfo) -> dict[str, Any]:
    return {
        "name": info.name,
        "description": info.description,
        "document": info.document,
        "masked": info.masked,
        "created_at": info.created_at,
        "updated_at": info.updated_at,
    }
