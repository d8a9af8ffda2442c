"""``idms transfer``: scheduled exports (iTransfer) — save, list, show, run, their runs, export,
delete, and their delta hashes (iDMS's View Hashing Info)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from idms.cli.context import get_settings, open_workspace, quote_arg
from idms.cli.hashes import transfer_hashes_command
from idms.cli.output import (
    confirm_or_stop,
    dumps,
    new_table,
    print_json,
    print_line,
    print_note,
    print_table,
)
from idms.errors import InvalidInputError

transfer_app = typer.Typer(
    help="Scheduled exports of a saved query's rows to HTTP, SFTP, FTP/FTPS, e-mail or a "
    "folder, only the rows that changed: save, list, show, run, runs, export, delete, hashes.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

NameArgument = Annotated[
    str,
    typer.Argument(
        metavar="NAME", help="The transfer's name (see 'idms transfer list').", show_default=False
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON (for scripts).")]


def _yaml(document: dict[str, Any]) -> str:
    import yaml

    return str(yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100))


@transfer_app.command("save")
def save_command(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE", help="The transfer file (YAML or JSON).", show_default=False
        ),
    ],
) -> None:
    """Save a transfer from its file, replacing any transfer of the same name.

    The whole transfer is checked first: its shape, each connection's fields against its
    action, the format, the syntax of its templates, and the source query (it must exist, and
    every prompt it needs must be given). A transfer with problems is refused with every
    problem listed, each with where it is (steps[1].connection.url: ...). A replaced transfer
    keeps its delta hashes.

    Example: idms transfer save lms-nightly.yml
    """
    from idms.workflows.check import read_workflow

    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInputError(f"Cannot read {file}: {exc.strerror or exc}.") from None
    try:
        document = read_workflow(text, where=str(file))
    except InvalidInputError as exc:
        raise InvalidInputError(exc.message.replace("workflow", "transfer")) from None
    with open_workspace(get_settings(ctx)) as workspace:
        info, created = workspace.save_transfer(document)
    verb = "saved" if created else "replaced"
    print_line(f"Transfer '{info.name}' {verb} ({info.state.value}).")
    name = quote_arg(info.name)
    doc = info.doc
    if doc.inbound is not None:
        print_note(f"Its inbound URL: idms transfer hook-url {name}")
    if doc.sends:
        print_note(f"Run it now with: idms transfer run {name}")
        print_note(
            f"Every night at 2: idms schedule add {name} --transfer {name} --cron '0 2 * * *'"
        )


@transfer_app.command("list")
def list_command(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List the transfers: state, query, delta key, connections.

    Example: idms transfer list
    """
    with open_workspace(get_settings(ctx)) as workspace:
        infos = workspace.transfers()
    if as_json:
        print_json([i.as_dict() for i in infos])
        return
    if not infos:
        print_note("No transfers yet. Save one with: idms transfer save FILE")
        return
    table = new_table("Transfer", "State", "Query", "Delta key", "Connections", "Updated")
    for info in infos:
        data = info.as_dict()
        table.add_row(
            info.name,
            info.state.value,
            str(data["query"]),
            str(data["delta_key"] or ""),
            ", ".join(str(c) for c in data["connections"]),
            info.updated_at.astimezone().strftime("%Y-%m-%d %H:%M"),
        )
    print_table(table)


@transfer_app.command("show")
def show_command(ctx: typer.Context, name: NameArgument, as_json: JsonOption = False) -> None:
    """Show a transfer as YAML (every field, defaults included).

    Example: idms transfer show "LMS nightly"
    """
    with open_workspace(get_settings(ctx)) as workspace:
        info = workspace.transfer(name)
    if as_json:
        print_json({**info.as_dict(), "document": info.document})
        return
    print_note(f"# Transfer '{info.name}' ({info.state.value})")
    print_line(_yaml(info.document).rstrip("\n"))


@transfer_app.command("export")
def export_command(
    ctx: typer.Context,
    name: NameArgument,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Write the transfer to FILE (YAML, or JSON when FILE ends in .json); "
            "default: print it.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Export a transfer as a file that 'idms transfer save' takes back (here or elsewhere).

    Example: idms transfer export "LMS nightly" -o lms-nightly.yml
    """
    from idms.private import private_open

    with open_workspace(get_settings(ctx)) as workspace:
        document = workspace.export_transfer(name)
    text = dumps(document) if output and output.suffix.lower() == ".json" else _yaml(document)
    if output is None:
        print_line(text.rstrip("\n"))
        return
    with private_open(output, "w", encoding="utf-8") as handle:
        handle.write(text.rstrip("\n") + "\n")
    print_line(f"Transfer '{name}' written to {output}.")


@transfer_app.command("delete")
def delete_command(
    ctx: typer.Context,
    name: NameArgument,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Do not ask for confirmation on a terminal.")
    ] = False,
) -> None:
    """Delete a transfer and its delta hashes (its runs stay in the history).

    Example: idms transfer delete "LMS nightly" --yes
    """
    with open_workspace(get_settings(ctx)) as workspace:
        workspace.transfer(name)  # refused with the closest name before asking
        confirm_or_stop(f"Delete transfer '{name}'?", yes=yes)
        workspace.delete_transfer(name)
    print_line(f"Transfer '{name}' deleted.")


def _step_text(step: dict[str, Any]) -> str:
    facts = []
    for label, key in (
        ("rows", "rows"),
        ("bytes", "bytes"),
        ("requests", "requests"),
        ("HTTP", "response_code"),
    ):
        if step.get(key) is not None:
            facts.append(f"{label} {step[key]}")
    if step.get("remote_path"):
        facts.append(str(step["remote_path"]))
    why = f": {step['message']}" if step.get("message") and step["status"] != "succeeded" else ""
    detail = f" [{', '.join(facts)}]" if facts else ""
    return f"  {step['order']} {step['name']} ({step['type']}) {step['status']}{detail}{why}"


def _print_run(run: dict[str, Any]) -> None:
    print_line(f"Run {run['run_id']}: {run['status']}. {run.get('message') or ''}".rstrip())
    counts = [
        f"{label} {run[key]}"
        for label, key in (
            ("fetched", "rows_fetched"),
            ("new or changed", "rows_changed"),
            ("sent", "rows_sent"),
        )
        if run.get(key) is not None
    ]
    if counts:
        print_line("  rows: " + ", ".join(counts))
    for step in run["steps"]:
        print_line(_step_text(step))
    if run.get("alert"):
        print_line(f"  alert: {run['alert']['message']}")


@transfer_app.command("run")
def run_command(ctx: typer.Context, name: NameArgument, as_json: JsonOption = False) -> None:
    """Run a transfer here and now (a disabled one too), showing each step as it ends.

    The run is durable like every run ('idms runs resume RUN' carries on one whose process
    died). Its delta hashes are kept only when every step that had to succeed did, so the rows
    of a failed send go again next time. Exit code 0 when it succeeded, 3 otherwise.

    Example: idms transfer run "LMS nightly"

    Example: idms transfer run "LMS nightly" --json
    """
    from idms.cli.workflows import _step_line

    progress = None if as_json else (lambda record: print_line(_step_line(record)))
    with open_workspace(get_settings(ctx)) as workspace:
        run = workspace.run_transfer(name, trigger="cli", progress=progress)
        history = workspace.transfer_service.history(run)
    if as_json:
        print_json({**run.as_dict(), "transfer": history})
    else:
        _print_run(history)
    raise typer.Exit(run.exit_code)


@transfer_app.command("runs")
def runs_command(
    ctx: typer.Context,
    name: Annotated[
        str | None,
        typer.Argument(metavar="[NAME]", help="Only this transfer's runs.", show_default=False),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=1000, metavar="N", help="How many runs.")
    ] = 20,
    as_json: JsonOption = False,
) -> None:
    """List the latest transfer runs, newest first, with what each step sent (rows, bytes,
    requests, remote path, status, response code).

    Example: idms transfer runs "LMS nightly" --limit 5
    """
    with open_workspace(get_settings(ctx)) as workspace:
        runs = workspace.transfer_runs(name, limit=limit)
    if as_json:
        print_json(runs)
        return
    if not runs:
        print_note("No transfer runs yet. Run one with: idms transfer run NAME")
        return
    for index, run in enumerate(runs):
        if index:
            print_line()
        started = run["started_at"] or run["created_at"]
        print_note(f"{run['transfer']}, {started.astimezone():%Y-%m-%d %H:%M:%S}, {run['trigger']}")
        _print_run(run)


@transfer_app.command("hook-url")
def hook_url_command(
    ctx: typer.Context,
    name: NameArgument,
    base: Annotated[
        str,
        typer.Option(
            "--base",
            metavar="URL",
            help="Where 'idms serve' is reached by callers (its public address).",
        ),
    ] = "http://127.0.0.1:8000",
) -> None:
    """Print an inbound transfer's URL (legacy iTransfer webhook): a third party POSTs one JSON
    object to it per record.

    The URL is the secret: anyone who has it can send records. Keep it like a password.

    Example: idms transfer hook-url "LMS completions" --base https://idms.example.org
    """
    with open_workspace(get_settings(ctx)) as workspace:
        token = workspace.transfer_hook_token(name)
    print_line(f"{base.rstrip('/')}/hooks/{token}")


# A command of its own module (hashes.py), listed after this module's own.
transfer_app.command("hashes")(transfer_hashes_command)
