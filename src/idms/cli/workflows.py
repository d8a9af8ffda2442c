"""``idms workflow``: workflows of steps (iWorkflow, iHook) — save, list, show, run, inspect."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich.syntax import Syntax

from idms.cli.context import get_settings, open_workspace, quote_arg
from idms.cli.hashes import hashes_command
from idms.cli.output import (
    confirm_or_stop,
    dumps,
    new_table,
    out,
    print_json,
    print_line,
    print_note,
    print_table,
)
from idms.cli.workflow_hooks import change_url_command
from idms.errors import InvalidInputError, NotFound, printable
from idms.private import private_open

PREVIEW_CHARS = 300  # of a step's data kept as a file, shown by run-show

if TYPE_CHECKING:
    from idms.runs.record import RunInfo
    from idms.workflows.store import StepRecord, WorkflowInfo
    from idms.workspace import Workspace

workflow_app = typer.Typer(
    help="Workflows of steps started by hand, on a schedule, by a webhook or an iMIS change "
    "notification: save, list, show, run, and look into their runs.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

NameArgument = Annotated[
    str,
    typer.Argument(
        metavar="NAME", help="The workflow's name (see 'idms workflow list').", show_default=False
    ),
]
RunArgument = Annotated[
    str,
    typer.Argument(
        metavar="RUN",
        help="A workflow run's ID, or the start of it (see 'idms workflow runs').",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON (for scripts).")]
BaseOption = Annotated[
    str,
    typer.Option(
        "--base",
        metavar="URL",
        help="Where 'idms serve' is reached by callers (its public address).",
    ),
]


def _json_argument(value: str, what: str) -> Any:
    """A JSON value given on the command line, or read from a file (``@FILE``)."""
    from idms.documents import DocumentError, read_json

    text = value
    if value.startswith("@"):
        path = Path(value[1:])
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidInputError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    try:
        return read_json(text)
    except DocumentError as exc:
        raise InvalidInputError(f"The {what} {exc.message}") from None


def _json_object(value: str | None, what: str) -> dict[str, Any] | None:
    if value is None:
        return None
    data = _json_argument(value, what)
    if not isinstance(data, dict):
        raise InvalidInputError(f"The {what} must be a JSON object ({{...}}).")
    return data


@workflow_app.command("save")
def save_command(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE", help="The workflow file (YAML or JSON).", show_default=False
        ),
    ],
) -> None:
    """Save a workflow from its file, replacing any workflow of the same name.

    The whole workflow is checked first (its shape, each step's action and parameters, the
    syntax of its templates): a workflow with problems is refused with every problem listed,
    each with where it is (steps[2].with.url: ...). A webhook workflow gets its secret URL
    the first time it is saved (see 'idms workflow hook-url NAME').

    Example: idms workflow save lms-completions.yml
    """
    from idms.workflows.check import read_workflow

    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInputError(f"Cannot read {file}: {exc.strerror or exc}.") from None
    document = read_workflow(text, where=str(file))
    with open_workspace(get_settings(ctx)) as workspace:
        info, created = workspace.save_workflow(document)
    verb = "saved" if created else "replaced"
    print_line(f"Workflow '{info.name}' {verb} ({info.state}, {info.trigger_type} trigger).")
    name = quote_arg(info.name)
    if info.trigger_type == "webhook":
        print_note(f"Its URL: idms workflow hook-url {name}")
    print_note(f"Run it now with: idms workflow run {name}")


@workflow_app.command("list")
def list_command(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List the workflows with their state, trigger and number of steps.

    Example: idms workflow list
    """
    with open_workspace(get_settings(ctx)) as workspace:
        infos = workspace.workflows()
    if as_json:
        print_json([i.as_dict() for i in infos])
        return
    if not infos:
        print_note("No workflows yet. Save one with: idms workflow save FILE")
        return
    table = new_table("Workflow", "State", "Trigger", "Steps", "Description", "Updated")
    table.columns[3].justify = "right"
    for info in infos:
        table.add_row(
            info.name,
            info.state.value,
            info.trigger_type,
            str(len(info.document.get("steps", []))),
            info.description,
            info.updated_at.astimezone().strftime("%Y-%m-%d %H:%M"),
        )
    print_table(table)


def _print_document(info: WorkflowInfo, *, header: bool) -> None:
    import yaml

    text = yaml.safe_dump(info.document, sort_keys=False, allow_unicode=True, width=100)
    lines = [f"# Workflow '{info.name}' ({info.state.value})"] if header else []
    console = out()
    if console.is_terminal:
        if lines:
            console.print("\n".join(lines), style="dim")
        console.print(Syntax(text, "yaml", theme="ansi_dark", background_color="default"))
    else:
        print_line("\n".join([*lines, text.rstrip("\n")]))


@workflow_app.command("show")
def show_command(ctx: typer.Context, name: NameArgument, as_json: JsonOption = False) -> None:
    """Show a workflow as YAML (every field, defaults included).

    Example: idms workflow show "LMS completions"
    """
    with open_workspace(get_settings(ctx)) as workspace:
        info = workspace.workflow(name)
    if as_json:
        print_json({**info.as_dict(), "document": info.document})
        return
    _print_document(info, header=True)


@workflow_app.command("export")
def export_command(
    ctx: typer.Context,
    name: NameArgument,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Write the workflow to FILE (YAML, or JSON when FILE ends in .json); "
            "default: print it.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Export a workflow as a file that 'idms workflow save' takes back (here or elsewhere).

    Example: idms workflow export "LMS completions" -o lms-completions.yml
    """
    import yaml

    with open_workspace(get_settings(ctx)) as workspace:
        info = workspace.workflow(name)
    if output is None:
        _print_document(info, header=False)
        return
    if output.suffix.lower() == ".json":
        text = dumps(info.document)
    else:
        text = yaml.safe_dump(info.document, sort_keys=False, allow_unicode=True, width=100)

    with private_open(output, "w", encoding="utf-8") as handle:
        handle.write(text.rstrip("\n") + "\n")
    print_line(f"Workflow '{info.name}' written to {output}.")


@workflow_app.command("delete")
def delete_command(
    ctx: typer.Context,
    name: NameArgument,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Do not ask for confirmation on a terminal.")
    ] = False,
) -> None:
    """Delete a workflow (its runs stay in the history). On a terminal it asks first.

    Example: idms workflow delete "LMS completions" --yes
    """
    with open_workspace(get_settings(ctx)) as workspace:
        workspace.workflow(name)  # refused with the closest name before asking
        confirm_or_stop(f"Delete workflow '{name}'?", yes=yes)
        workspace.delete_workflow(name)
    print_line(f"Workflow '{name}' deleted.")


def _set_state(ctx: typer.Context, name: str, state: str) -> None:
    from idms.workflows.model import WorkflowState

    with open_workspace(get_settings(ctx)) as workspace:
        info = workspace.set_workflow_state(name, WorkflowState(state))
    print_line(f"Workflow '{info.name}' is {info.state.value}.")


@workflow_app.command("enable")
def enable_command(ctx: typer.Context, name: NameArgument) -> None:
    """Make a workflow active: its trigger starts it again.

    Example: idms workflow enable "LMS completions"
    """
    _set_state(ctx, name, "active")


@workflow_app.command("disable")
def disable_command(ctx: typer.Context, name: NameArgument) -> None:
    """Disable a workflow: kept and editable, started by nothing but a run by hand.

    Example: idms workflow disable "LMS completions"
    """
    _set_state(ctx, name, "disabled")


@workflow_app.command("archive")
def archive_command(ctx: typer.Context, name: NameArgument) -> None:
    """Archive a workflow: read-only, started by nothing ('enable' brings it back).

    Example: idms workflow archive "LMS completions"
    """
    _set_state(ctx, name, "archived")


def _step_line(record: StepRecord) -> str:
    took = ""
    if record.finished_at is not None:
        took = f" in {(record.finished_at - record.started_at).total_seconds():.2f}s"
    tries = f", {record.attempts} attempts" if record.attempts > 1 else ""
    why = f": {record.message}" if record.message else ""
    return f"  {record.seq}. {record.step_id} ({record.action}) {record.status}{took}{tries}{why}"


def _print_outcome(run: RunInfo, as_json: bool) -> None:
    if as_json:
        print_json(run.as_dict())
    else:
        print_line(f"Run {run.id}: {run.status}. {run.message or ''}".rstrip())
        print_note(f"Every step's data: idms workflow run-show {run.id}")
    raise typer.Exit(run.exit_code)


@workflow_app.command("run")
def run_command(
    ctx: typer.Context,
    name: NameArgument,
    input: Annotated[
        str | None,
        typer.Option(
            "--input",
            metavar="JSON|@FILE",
            help="The run's input: a JSON object, or @FILE to read it from a file "
            "(default: the trigger's own, or an empty object).",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Run a workflow here and now, showing each step as it ends.

    The run is durable like every run: if this process dies, 'idms runs resume RUN' carries
    it on at the step that had not finished. Exit code 0 when it succeeded, 3 otherwise.

    Example: idms workflow run "LMS completions" --input '{"imisId": "101", "course": "ETH-101"}'

    Example: idms workflow run Nightly --input @sample.json --json
    """
    data = _json_object(input, "input")
    progress = None if as_json else (lambda record: print_line(_step_line(record)))
    with open_workspace(get_settings(ctx)) as workspace:
        run = workspace.run_workflow(name, data, trigger="cli", progress=progress)
    _print_outcome(run, as_json)


@workflow_app.command("runs")
def runs_command(
    ctx: typer.Context,
    name: Annotated[
        str | None,
        typer.Argument(metavar="[NAME]", help="Only this workflow's runs.", show_default=False),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=1000, metavar="N", help="How many runs.")
    ] = 20,
    as_json: JsonOption = False,
) -> None:
    """List the latest workflow runs, newest first.

    Example: idms workflow runs

    Example: idms workflow runs "LMS completions" --limit 5
    """
    with open_workspace(get_settings(ctx)) as workspace:
        runs = workspace.workflow_runs(name, limit=limit)
    if as_json:
        print_json([r.as_dict() for r in runs])
        return
    if not runs:
        print_note("No workflow runs yet. Run one with: idms workflow run NAME")
        return
    table = new_table("Run", "Workflow", "Status", "Trigger", "Started", "Steps", "Message")
    table.columns[5].justify = "right"
    for run in runs:
        started = run.started_at or run.created_at
        table.add_row(
            run.id,
            run.name,
            run.status,
            run.trigger,
            started.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
            str(run.steps["total"]) if run.steps is not None else "",
            run.message or "",
        )
    print_table(table)


@workflow_app.command("run-show")
def run_show_command(
    ctx: typer.Context,
    run: RunArgument,
    step: Annotated[
        str | None,
        typer.Option(
            "--step",
            metavar="STEP",
            help="Only this step (its ID or number).",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            metavar="FILE",
            help="Write the step's output, whole (secrets masked), as JSON to FILE: for an "
            "output kept as a file. Needs --step.",
            show_default=False,
        ),
    ] = None,
    input: Annotated[
        Path | None,
        typer.Option(
            "--input",
            metavar="FILE",
            help="Write the input the step received, whole (secrets masked), as JSON to FILE. "
            "Needs --step.",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Show a workflow run: every step's status, time, input and output (secrets masked).

    Data larger than 256 KiB is kept as a file of the run: the step shows its size and its
    start; --step STEP --output FILE writes it out.

    Example: idms workflow run-show 3f2a9c

    Example: idms workflow run-show 3f2a9c --step members --output members.json
    """
    if (output is not None or input is not None) and step is None:
        raise InvalidInputError("--output and --input write one step's data: name it with --step.")
    with open_workspace(get_settings(ctx)) as workspace:
        info = workspace.runs.get(run)
        steps = workspace.workflow_steps(info.id)
        if step is not None:
            steps = [s for s in steps if s.step_id == step or str(s.seq) == step]
            if not steps:
                raise NotFound(f"Run {info.id} has no step '{step}'.")
            step = steps[0].step_id
            if output is not None:
                _write_step_data(workspace, info.id, step, "output", output)
            if input is not None:
                _write_step_data(workspace, info.id, step, "input", input)
            if output is not None or input is not None:
                return
    if as_json:
        print_json({"run": info.as_dict(), "steps": [s.as_dict() for s in steps]})
        return
    from idms.workflows.stepdata import human_size

    print_line(f"Run {info.id} of workflow '{info.name}': {info.status}")
    if info.message:
        print_line(f"  {info.message}")
    print_note(f"  started by {info.trigger}, {info.created_at.astimezone():%Y-%m-%d %H:%M:%S}")
    for record in steps:
        print_line()
        print_line(_step_line(record))
        for label, value, kept in (
            ("input", record.input, record.input_file),
            ("output", record.output, record.output_file),
        ):
            if kept is not None:
                print_line(f"     {label} kept as a file ({human_size(kept['bytes'])}), its start:")
                print_line("       " + printable(kept["preview"][:PREVIEW_CHARS]) + " …")
                print_note(
                    f"       all of it: idms workflow run-show {info.id} --step "
                    f"{quote_arg(record.step_id)} --{label} FILE"
                )
                continue
            if value is None:
                continue
            text = dumps(value)
            print_line(f"     {label}:")
            print_line("\n".join("       " + line for line in text.splitlines()))
    if not steps:
        print_note("No step has run yet.")


def _write_step_data(
    workspace: Workspace, run_id: str, step: str, part: Literal["input", "output"], path: Path
) -> None:
    """Write a step's input or output (masked JSON, whole) to ``path``."""
    from idms.workflows.stepdata import human_size

    record, handle = workspace.workflow_step_data(run_id, step, part)
    with handle, private_open(path, "wb") as target:
        shutil.copyfileobj(handle, target, 1 << 20)
    size = path.stat().st_size
    print_note(f"The {part} of step '{record.step_id}' ({human_size(size)}) written to {path}.")


@workflow_app.command("rerun")
def rerun_command(
    ctx: typer.Context,
    run: RunArgument,
    from_step: Annotated[
        str | None,
        typer.Option(
            "--from",
            metavar="STEP",
            help="Start at this step, with the data it received in that run (default: from "
            "the first step, with the same input).",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Run a workflow run again, as a new run of the workflow as it is saved now, here.

    Example: idms workflow rerun 3f2a9c

    Example: idms workflow rerun 3f2a9c --from upload
    """
    with open_workspace(get_settings(ctx)) as workspace:
        queued = workspace.rerun_workflow(run, from_step=from_step)
        workspace.execute(queued.id)
        done = workspace.runs.get(queued.id)
    _print_outcome(done, as_json)


@workflow_app.command("hook-url")
def hook_url_command(
    ctx: typer.Context,
    name: NameArgument,
    base: BaseOption = "http://127.0.0.1:8000",
) -> None:
    """Print a webhook workflow's URL: callers POST a JSON object to it to start a run.

    The URL is the secret: anyone who has it can start the workflow. Keep it like a
    password; 'idms workflow regenerate-url NAME' replaces it.

    Example: idms workflow hook-url "LMS completions" --base https://idms.example.org
    """
    with open_workspace(get_settings(ctx)) as workspace:
        token = workspace.hook_token(name)
    print_line(f"{base.rstrip('/')}/hooks/{token}")


@workflow_app.command("regenerate-url")
def regenerate_url_command(
    ctx: typer.Context,
    name: NameArgument,
    base: BaseOption = "http://127.0.0.1:8000",
) -> None:
    """Give a webhook workflow a new URL; the old one is refused (401) from now on.

    Example: idms workflow regenerate-url "LMS completions"
    """
    with open_workspace(get_settings(ctx)) as workspace:
        token = workspace.regenerate_hook(name)
    print_line(f"{base.rstrip('/')}/hooks/{token}")
    print_note("The old URL no longer starts the workflow: give callers this one.")


@workflow_app.command("test-template")
def template_tester_command(
    ctx: typer.Context,
    template: Annotated[
        str,
        typer.Argument(metavar="TEMPLATE", help="The template to render.", show_default=False),
    ],
    data: Annotated[
        str,
        typer.Option(
            "--data",
            metavar="JSON|@FILE",
            help="The data a step would receive ('input'; 'steps' inside it is 'steps').",
        ),
    ] = "{}",
) -> None:
    """Render a template as a step would (iDMS's Template Tester): its value, as JSON.

    Example: idms workflow test-template '{{ input.members | size }}' --data '{"members": [1, 2]}'

    Example: idms workflow test-template 'Hello {{ input.name | upcase }}' --data @sample.json
    """
    scope = _json_object(data, "data") or {}
    with open_workspace(get_settings(ctx)) as workspace:
        value = workspace.test_template(template, scope)
    print_line(value if isinstance(value, str) else dumps(value))


@workflow_app.command("actions")
def actions_command(as_json: JsonOption = False) -> None:
    """List the actions a step may name, with iDMS's label for each.

    Example: idms workflow actions
    """
    from idms.workflows.actions import actions

    specs = sorted(actions().values(), key=lambda s: s.name)
    if as_json:
        print_json([{"name": s.name, "label": s.label, "summary": s.summary} for s in specs])
        return
    table = new_table("Action", "Label", "What it does")
    for spec in specs:
        table.add_row(spec.name, spec.label, spec.summary)
    print_table(table)


# Commands of their own modules, listed after this module's own.
workflow_app.command("change-url")(change_url_command)
workflow_app.command("hashes")(hashes_command)
