"""``idms query``: saved queries (the IQA equivalent) saved, listed, shown, deleted and run."""

from __future__ import annotations

import sys
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.syntax import Syntax
from rich.text import Text

from idms.cli.context import get_settings, open_workspace, quote_arg, suite_engine
from idms.cli.output import (
    cell,
    confirm_or_stop,
    err,
    new_table,
    out,
    print_json,
    print_json_array,
    print_line,
    print_note,
    print_table,
    tsv_text,
)
from idms.cli.reports import row_progress
from idms.values.types import FieldType

if TYPE_CHECKING:
    from idms.queries.compile import CompiledQuery
    from idms.queries.model import SavedQuery
    from idms.queries.store import QueryInfo, QueryStore
    from idms.targets.base import QueryResult

query_app = typer.Typer(
    help="Save, list, show, delete and run saved queries (the IQA equivalent).",
    no_args_is_help=True,
    rich_markup_mode=None,
)

# Rows shown on a terminal when no --limit is given: a table is for looking, a file for keeping.
SHOWN_ROWS = 50
QUERY_SUFFIXES = (".yml", ".yaml", ".json")

NameArgument = Annotated[
    str,
    typer.Argument(
        metavar="NAME", help="The query's name (see 'idms query list').", show_default=False
    ),
]


@query_app.command("save")
def save_command(
    ctx: typer.Context,
    query_file: Annotated[
        Path,
        typer.Argument(
            metavar="QUERY.yml",
            help="The query file (YAML or JSON) to save.",
            show_default=False,
        ),
    ],
) -> None:
    """Save a query file under its name, replacing any query of the same name.

    The query is checked first: its shape (name, from, columns, filters, ...), then against the
    target's sources (every field, relation and operator, and the filter values' types). A
    query with mistakes is refused with every problem listed, and nothing is saved (exit 2).

    Example: idms query save locked-out.yml
    """
    from idms.queries.model import load_query_file

    query = load_query_file(query_file)
    with open_workspace(get_settings(ctx)) as workspace:
        query, new = workspace.save_query(query)
    verb = "saved" if new else "replaced"
    print_line(f"Query '{query.name}' {verb}.")
    prompts = "".join(f" --param {name}=VALUE" for name, _ in query.prompt_list())
    print_note(f"Run it with: idms query run {quote_arg(query.name)}{prompts}")


@query_app.command("list")
def list_command(
    ctx: typer.Context,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the queries as one JSON array.")
    ] = False,
) -> None:
    """List the saved queries: source, number of columns, prompts and IQA path.

    Example: idms query list
    """
    from idms.queries.store import QueryStore

    with suite_engine(get_settings(ctx)) as engine:
        infos = QueryStore(engine).list()
    if as_json:
        print_json([_as_dict(info) for info in infos])
        return
    if not infos:
        print_note("No saved queries yet. Save one with: idms query save QUERY.yml")
        return
    table = new_table("Query", "From", "Columns", "Prompts", "IQA path", "Updated")
    table.columns[2].justify = "right"
    for info in infos:
        q = info.query
        table.add_row(
            q.name,
            q.from_ or "(an IQA of iMIS)",
            str(len(q.columns)) if q.from_ else "",
            ", ".join(_prompt_text(name, required) for name, required in q.prompt_list()),
            q.iqa_path,
            info.updated_at.astimezone().strftime("%Y-%m-%d %H:%M"),
        )
    print_table(table)


@query_app.command("show")
def show_command(
    ctx: typer.Context,
    name: NameArgument,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the query as one JSON object.")
    ] = False,
) -> None:
    """Show a saved query as YAML, with its prompts.

    The output is a query file: edit it and save it again with 'idms query save'.

    Example: idms query show "Locked out users" > locked-out.yml
    """
    import yaml

    from idms.queries.store import QueryStore

    with suite_engine(get_settings(ctx)) as engine:
        info = QueryStore(engine).get(name)
    if as_json:
        print_json(_as_dict(info))
        return
    q = info.query
    header = [f"# Query '{q.name}'"]
    if q.description:
        header.append(f"# {q.description}")
    prompts = q.prompt_list()
    if prompts:
        shown = ", ".join(_prompt_text(p, required) for p, required in prompts)
        header.append(f"# prompts: {shown} (give them with --param NAME=VALUE)")
    else:
        header.append("# prompts: none")
    header.append(f"# IQA path: {q.iqa_path}")
    header.append(f"# updated {info.updated_at.astimezone().strftime('%Y-%m-%d %H:%M')}")
    text = yaml.safe_dump(q.to_document(), sort_keys=False, allow_unicode=True, width=100)
    console = out()
    if console.is_terminal:
        console.print(Text("\n".join(header), style="dim"))
        console.print(Syntax(text, "yaml", theme="ansi_dark", background_color="default"))
    else:
        print_line("\n".join(header) + "\n" + text.rstrip("\n"))


@query_app.command("delete")
def delete_command(
    ctx: typer.Context,
    name: NameArgument,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Do not ask for confirmation on a terminal.")
    ] = False,
) -> None:
    """Delete a saved query. On a terminal it asks first, unless --yes.

    Jobs and schedules that name the query stop working until a query of that name is saved
    again; files it exported are not touched.

    Example: idms query delete "Locked out users" --yes
    """
    from idms.queries.store import QueryStore

    with suite_engine(get_settings(ctx)) as engine:
        store = QueryStore(engine)
        store.get(name)  # an unknown name is refused (with the closest one) before asking
        confirm_or_stop(f"Delete query '{name}'?", yes=yes)
        store.delete(name)
    print_line(f"Query '{name}' deleted.")


@query_app.command("run")
def run_command(
    ctx: typer.Context,
    name: Annotated[
        str,
        typer.Argument(
            metavar="NAME",
            help="A saved query's name, a query file (.yml, .yaml, .json), or on a REST target "
            "an IQA path such as '$/Common/Queries/Members'.",
            show_default=False,
        ),
    ],
    params: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            "-p",
            metavar="NAME=VALUE",
            help="A value for one of the query's prompts; repeat for more. A list for 'in' is "
            "written A|B|C, a range for 'between' LOW|HIGH.",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Write every row to FILE: .csv, .json or .xlsx (by its extension).",
            show_default=False,
        ),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit",
            "-n",
            min=1,
            metavar="N",
            help=f"At most N rows. Default: all of them (on a terminal, the first "
            f"{SHOWN_ROWS} are shown).",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print the rows as one JSON array; with -o, a JSON summary of the export.",
        ),
    ] = False,
    no_escape_formulas: Annotated[
        bool,
        typer.Option(
            "--no-escape-formulas",
            help="In a CSV file, write text beginning with = + - @ as it is, without the "
            "leading ' that stops a spreadsheet from running it as a formula.",
        ),
    ] = False,
) -> None:
    """Run a query: show its rows, or write them to a CSV, JSON or Excel file.

    Prompts get their values from --param; a required prompt left out is refused (exit 2), an
    optional one drops its filter. Without -o the rows show as a table on a terminal (the first
    50 unless --limit), as tab-separated lines when piped, or as JSON with --json. With -o every
    row goes to the file, with a progress bar on a terminal.

    Example: idms query run "Locked out users" --param last_name=S

    Example: idms query run Members -p since=2026-01-01 -o members.xlsx

    Example: idms query run members.yml --limit 10 --json
    """
    from idms.cli.jobs import parse_params

    given = parse_params(params or [])
    table = output is None and not as_json and out().is_terminal
    cap = limit or SHOWN_ROWS
    with open_workspace(get_settings(ctx)) as workspace:
        query = _resolve(name, workspace.queries)
        # One more row than a table shows: are there more?
        with workspace.run_query(query, given, limit=cap + 1 if table else limit) as (
            compiled,
            result,
        ):
            if output is not None:
                _export(result, output, limit, as_json, compiled, escape=not no_escape_formulas)
            elif as_json:
                print_json_array(result.records())
            elif not table:
                _print_tsv(result, compiled)
            else:
                _print_table(result, compiled, cap)


def _resolve(name: str, store: QueryStore) -> SavedQuery:
    """A saved query by name, a query file, or an IQA of iMIS by its ``$/`` path."""
    from idms.jobs.query_input import resolve_query
    from idms.queries.model import load_query_file

    if name.startswith("$/"):
        return resolve_query(name, store)
    path = Path(name)
    if path.suffix.lower() in QUERY_SUFFIXES and path.is_file():
        return load_query_file(path)
    info = store.find(name)
    if info is not None:
        return info.query
    if path.suffix.lower() in QUERY_SUFFIXES:
        return load_query_file(path)  # says there is no such file
    return store.get(name).query  # says there is no such query, with the closest name


def _types(compiled: CompiledQuery, columns: tuple[str, ...]) -> list[FieldType]:
    by_alias = {c.alias: c.field.type for c in compiled.columns}
    return [by_alias.get(alias, FieldType.STRING) for alias in columns]


def _print_table(result: QueryResult, compiled: CompiledQuery, cap: int) -> None:
    rows = list(islice(result, cap + 1))
    more = len(rows) > cap
    rows = rows[:cap]
    if not rows:
        print_note(f"No rows: the query '{compiled.name}' found nothing.")
        return
    types = _types(compiled, result.columns)
    table = new_table(*result.columns)
    for row in rows:
        table.add_row(*(cell(v, t) for v, t in zip(row, types, strict=True)))
    out().print(table)
    shown = f"{len(rows):,} row{'' if len(rows) == 1 else 's'}"
    if not more:
        print_note(f"{shown}.")
        return
    total = result.count() if result.count is not None else None
    rest = f" of {total:,}" if total is not None else " (there are more)"
    print_note(
        f"The first {shown}{rest}. -o FILE.csv|.json|.xlsx writes them all; --limit N shows more."
    )


def _print_tsv(result: QueryResult, compiled: CompiledQuery) -> None:
    types = _types(compiled, result.columns)
    write = sys.stdout.write
    write("\t".join(map(tsv_text, result.columns)) + "\n")
    for row in result:
        write("\t".join(tsv_text(cell(v, t)) for v, t in zip(row, types, strict=True)) + "\n")
    sys.stdout.flush()


def _export(
    result: QueryResult,
    path: Path,
    limit: int | None,
    as_json: bool,
    compiled: CompiledQuery,
    *,
    escape: bool,
) -> None:
    from idms.io.writer import export_query

    console = err() if as_json else out()  # stdout carries only the JSON summary
    with result:
        total = result.count() if result.count is not None and console.is_terminal else None
        if total is not None and limit is not None:
            total = min(total, limit)
        with row_progress(f"Writing {path.name}", on_stderr=as_json, total=total) as progress:
            count = export_query(result, path, escape_formulas=escape, progress=progress)
    if as_json:
        print_json({"query": compiled.name, "rows": count, "file": str(path)})
        return
    print_line(f"{count:,} row{'' if count == 1 else 's'} written to {path}")


def _prompt_text(name: str, required: bool) -> str:
    return f"{name} (required)" if required else name


def _as_dict(info: QueryInfo) -> dict[str, Any]:
    q = info.query
    return {
        "name": q.name,
        "description": q.description,
        "from": q.from_,
        "columns": len(q.columns),
        "prompts": [{"name": p, "required": r} for p, r in q.prompt_list()],
        "iqa_path": q.iqa_path,
        "document": q.to_document(),
        "created_at": info.created_at,
        "updated_at": info.updated_at,
    }
