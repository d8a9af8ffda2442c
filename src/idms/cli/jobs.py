"""``idms run`` and ``idms import``: check a job, run it (or plan it) and report what it did.

Both build a job (from a job file, a saved template, or flags), have the workspace check it
against the input and the target before anything is written, then plan or run it
(:class:`idms.workspace.Workspace`).
Exit codes: 0 every row succeeded (or a clean plan), 1 some rows errored, 2 the job is invalid
(nothing written), 3 the run failed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.text import Text

from idms.cli.context import get_state, open_workspace
from idms.cli.output import (
    new_table,
    out,
    print_error,
    print_json,
    print_line,
    print_note,
    print_table,
    stdin_is_terminal,
)
from idms.cli.reports import (
    Stopwatch,
    describe_detected,
    first_rows,
    print_counts,
    print_errors,
    print_next_steps,
    print_rows,
    row_progress,
    status_text,
)
from idms.errors import EXIT_FAILED, InvalidInputError
from idms.runs.status import RunStatus

if TYPE_CHECKING:
    from idms.jobs.compile import CompiledJob
    from idms.jobs.model import Job
    from idms.jobs.report import RunReport
    from idms.runs.record import RunStore
    from idms.sources.automap import MappingProposal
    from idms.workspace import Workspace

PLAN_ROWS = 20
ERROR_ROWS = 10

EncodingOption = Annotated[
    str | None,
    typer.Option(
        "--encoding",
        metavar="NAME",
        help="The input file's text encoding (e.g. windows-1250, utf-8); default: detected.",
        show_default=False,
    ),
]
PlanOption = Annotated[
    bool,
    typer.Option(
        "--plan", help="Check and compute everything, write nothing: show what would change."
    ),
]
JsonOption = Annotated[
    bool,
    typer.Option(
        "--json", help="Print one JSON object (run_id, status, counts, error_file) for scripts."
    ),
]
YesOption = Annotated[
    bool,
    typer.Option(
        "--yes",
        "-y",
        help="Do not ask before a delete. Without a terminal, a delete needs --yes.",
    ),
]


def run_command(
    ctx: typer.Context,
    job_file: Annotated[
        Path | None,
        typer.Argument(
            metavar="JOB.yml",
            help="The job file (YAML or JSON). Leave it out with --template.",
            show_default=False,
        ),
    ] = None,
    template: Annotated[
        str | None,
        typer.Option(
            "--template",
            "-T",
            metavar="NAME",
            help="Run a saved template instead of a job file (give the rows with --input).",
            show_default=False,
        ),
    ] = None,
    input_file: Annotated[
        Path | None,
        typer.Option(
            "--input",
            "-i",
            metavar="FILE",
            help="Read the rows from FILE (csv, tsv, txt, xlsx) instead of the job's input.",
            show_default=False,
        ),
    ] = None,
    params: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            "-p",
            metavar="NAME=VALUE",
            help="A value for a prompt of the job's saved query (iUpdate); repeatable.",
            show_default=False,
        ),
    ] = None,
    encoding: EncodingOption = None,
    plan: PlanOption = False,
    as_json: JsonOption = False,
    yes: YesOption = False,
) -> None:
    """Run a job file, or a saved template.

    The job is checked against its input and the target first: an invalid job is refused with
    every problem listed, and nothing is written (exit code 2). On a terminal, idms says how it
    read the file, shows a progress bar, then the outcome counts, the first errors, the
    failed-rows file and what to do next. A delete asks for confirmation unless --yes.

    A job whose input is a saved query (input: {query: NAME}) is an iUpdate job: the query runs
    on the target and its rows are the input; --param gives its prompts' values.

    Example: idms run attendance.yml --input march.xlsx --plan

    Example: idms run unlock-locked-out.yml --param last_name=S --yes
    """
    if (job_file is None) == (template is None):
        raise InvalidInputError(
            "Give a job file (idms run JOB.yml) or a template (idms run --template NAME "
            "--input FILE), not both or neither."
        )

    given = parse_params(params or [])

    def build(workspace: Workspace) -> Job:
        from idms.jobs.assemble import job_from_file, job_from_template, with_params

        templates = workspace.templates
        if job_file is not None:
            job = job_from_file(
                job_file, templates=templates, input_file=input_file, encoding=encoding
            )
        else:
            assert template is not None
            job = job_from_template(
                template, templates=templates, input_file=input_file, encoding=encoding
            )
        return with_params(job, given)

    execute(ctx, build, plan=plan, as_json=as_json, yes=yes)


def parse_params(items: list[str]) -> dict[str, str]:
    """``--param NAME=VALUE`` options as a dict (a bad one is refused, naming it)."""
    out: dict[str, str] = {}
    for text in items:
        name, sep, value = text.partition("=")
        if not sep or not name.strip():
            raise InvalidInputError(
                f"--param '{text}': write NAME=VALUE, e.g. --param since=2026-01-01"
            )
        out[name.strip()] = value
    return out


def import_command(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE", help="The file to import: csv, tsv, txt or xlsx.", show_default=False
        ),
    ],
    source: Annotated[
        str,
        typer.Option(
            "--source",
            "-s",
            metavar="SOURCE",
            help="The source to load (see 'idms sources').",
            show_default=False,
        ),
    ],
    action: Annotated[
        str,
        typer.Option(
            "--action",
            "-a",
            metavar="ACTION",
            help="insert, insert-with-matching, update, insert-update or delete.",
            show_default=False,
        ),
    ],
    maps: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            "-m",
            metavar="COLUMN=FIELD",
            help="Load the file's COLUMN into FIELD (canonical name or label). Repeat it.",
            show_default=False,
        ),
    ] = None,
    matches: Annotated[
        list[str] | None,
        typer.Option(
            "--match",
            "-k",
            metavar="FIELD",
            help="Match existing records on this mapped FIELD (its name or label). Repeat for a "
            "compound key.",
            show_default=False,
        ),
    ] = None,
    sets: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            metavar="FIELD=VALUE",
            help="Give FIELD the same VALUE on every row (a constant). Repeat it.",
            show_default=False,
        ),
    ] = None,
    options: Annotated[
        list[str] | None,
        typer.Option(
            "--option",
            "-O",
            metavar="NAME=VALUE",
            help="A job option, e.g. skip_validation=yes or blank_values=clear. Repeat it.",
            show_default=False,
        ),
    ] = None,
    sheet: Annotated[
        str | None,
        typer.Option(
            "--sheet",
            metavar="NAME",
            help="The workbook sheet to read (xlsx); default the first.",
            show_default=False,
        ),
    ] = None,
    encoding: EncodingOption = None,
    name: Annotated[
        str | None,
        typer.Option(
            "--name",
            metavar="TEXT",
            help="A name for the run (and the template); default 'Import of FILE'.",
            show_default=False,
        ),
    ] = None,
    save_template: Annotated[
        str | None,
        typer.Option(
            "--save-template",
            metavar="NAME",
            help="Once the job checks out, save it (without its input file) as template NAME.",
            show_default=False,
        ),
    ] = None,
    auto_map: Annotated[
        bool,
        typer.Option(
            "--auto-map",
            help="Map the columns not given with --map to fields by their header (field name, "
            "iDMS label or a usual name such as E-mail, Zip, Member Level), and tick the match "
            "keys the source calls for unless --match is given. The proposal is shown first.",
        ),
    ] = False,
    plan: PlanOption = False,
    as_json: JsonOption = False,
    yes: YesOption = False,
) -> None:
    """Import a file with the mapping given as flags (no job file needed).

    Each --map loads a column into a field, --match makes a mapped field part of the match key,
    --set gives a field a constant. --auto-map maps the other columns by their headers and ticks
    the match keys (iMIS ID when the file has it, else what the source allows, e.g. Email +
    Last Name), showing each choice and the columns left out; --map, --match and --set win over
    it. The job is checked before anything is written, then runs as 'idms run' does.
    --save-template keeps the mapping for 'idms run --template NAME'.

    Example: idms import people.csv -s Contact -a insert-update -m "E-mail=Email" -k Email --plan

    Example: idms import people.csv -s Contact -a insert-update --auto-map --plan
    """
    proposed: list[MappingProposal] = []

    def build(workspace: Workspace) -> Job:
        from idms.jobs.assemble import finish_document, flags_document, with_proposal

        document = flags_document(
            file,
            source=source,
            action=action,
            maps=maps or (),
            matches=matches or (),
            sets=sets or (),
            options=options or (),
            sheet=sheet,
            encoding=encoding,
            name=name,
        )
        if auto_map:
            proposal = _auto_map(workspace, document, file, sheet=sheet, encoding=encoding)
            proposed.append(proposal)
            if not as_json:
                print_proposal(proposal)
            document = with_proposal(document, proposal)
        return finish_document(document, templates=workspace.templates, input_file=None)

    def extra() -> dict[str, object]:
        return {"auto_map": proposed[0].to_dict()} if proposed else {}

    execute(
        ctx,
        build,
        plan=plan,
        as_json=as_json,
        yes=yes,
        save_template=save_template,
        json_extra=extra,
    )


SAMPLE_ROWS = 5


def _auto_map(
    workspace: Workspace,
    document: dict[str, Any],
    file: Path,
    *,
    sheet: str | None,
    encoding: str | None,
) -> MappingProposal:
    """The proposal for the file's columns (its header and first rows), around what the job
    document maps already."""
    from idms.io.reader import open_input
    from idms.io.records import ReadOptions
    from idms.sources.model import Action

    options = ReadOptions(encoding=encoding or "auto", sheet=sheet)
    with open_input(file, options) as reader:
        headers = list(reader.detected.columns)
        samples: dict[str, list[object]] = {c: [] for c in headers}
        for number, row in enumerate(reader):
            if number >= SAMPLE_ROWS:
                break
            for column in headers:
                samples[column].append(row.values.get(column))
    mappings = document["mappings"]
    keep = {str(m["column"]): str(m["field"]) for m in mappings if m.get("column") is not None}
    constants = [str(m["field"]) for m in mappings if m.get("column") is None]
    action = str(document["action"])
    known = action in {a.value for a in Action}  # a wrong one is said when the job is checked
    return workspace.suggest_mapping(
        str(document["source"]),
        headers,
        action=action if known else None,
        samples=samples,
        keep=keep,
        reserved=constants,
    )


def print_proposal(proposal: MappingProposal) -> None:
    """The auto-mapping as a table (column -> field, how, confidence, match key), then the
    columns left out and why, then the match keys and why."""
    table = new_table("Column", "Field", "How", "Confidence", "Match", title="Auto-mapping")
    for c in proposal.mapped:
        how = "mapped by you" if c.how == "given" else (c.how or "")
        table.add_row(
            c.column,
            c.reference or "",
            how,
            f"{c.confidence:.0%}",
            "yes" if c.match else "",
        )
    print_table(table)
    if proposal.unmapped:
        print_line()
        print_line("Columns left out:", style="bold")
        for c in proposal.unmapped:
            print_line(f"  {c.column}: {c.reason}")
    print_line()
    print_line(proposal.match_reason)
    print_line()


# ---- the shared part -----------------------------------------------------------------------


def execute(
    ctx: typer.Context,
    build: Callable[[Workspace], Job],
    *,
    plan: bool,
    as_json: bool,
    yes: bool,
    save_template: str | None = None,
    json_extra: Callable[[], dict[str, object]] | None = None,
) -> None:
    """Build, check, confirm, run (or plan) and report a job; exits with the run's exit code.
    ``json_extra`` adds keys to the --json object (``idms import --auto-map``: the proposal)."""
    state = get_state(ctx)
    terminal = out().is_terminal and not as_json
    from idms.jobs.options import option_report

    with open_workspace(state.settings) as workspace:
        job = build(workspace)
        # JobInvalid / QueryInvalid (exit 2) before anything is written
        with workspace.prepare(job, plan=plan) as prepared:
            if save_template:
                _save_template(workspace, save_template, job)
            if terminal:
                _print_preamble(job, prepared.compiled, prepared.detected, plan=plan)
            if prepared.compiled.action.value == "delete" and not plan:
                _confirm_delete(prepared.compiled, state.settings.target, yes=yes)
            watch = Stopwatch()
            with row_progress("Planning" if plan else "Running", on_stderr=as_json) as progress:
                if plan:
                    report = workspace.plan(prepared, progress=progress)
                else:
                    report = workspace.run(prepared, progress=progress)
        finish_report(
            report,
            workspace.runs,
            state.command_prefix(),
            as_json=as_json,
            terminal=terminal,
            watch=watch,
            json_extra={"options": option_report(job), **(json_extra() if json_extra else {})},
        )


def finish_report(
    report: RunReport,
    runs: RunStore,
    prefix: str,
    *,
    as_json: bool,
    terminal: bool,
    watch: Stopwatch,
    json_extra: dict[str, object] | None = None,
) -> None:
    """Print a run's outcome and exit with its code (0, 1 row errors, 3 failed or cancelled)."""
    if as_json:
        print_json({**report.summary(), **(json_extra or {})})
    else:
        _print_report(report, runs, prefix, terminal=terminal, watch=watch)
    if report.exit_code == EXIT_FAILED and as_json and report.message:
        print_error(f"The run {report.status.value}: {report.message}")
    raise typer.Exit(report.exit_code)


def _save_template(workspace: Workspace, name: str, job: Job) -> None:
    new = workspace.save_template(name, job)
    verb = "saved" if new else "replaced"
    by_query = job.input is not None and job.input.query is not None
    run_with = "" if by_query else " --input FILE"
    print_note(f"Template '{name}' {verb}. Run it with: idms run --template {name}{run_with}")


def _print_preamble(
    job: Job, cjob: CompiledJob, detected: dict[str, object], *, plan: bool
) -> None:
    """How the input was read and what the job will do (terminal only)."""
    console = out()
    spec = job.input
    if spec is not None and spec.query:
        file_name = "Query"
    else:
        file_name = Path(spec.file).name if spec is not None and spec.file else "input"
    line = Text(f"{file_name}: ", style="bold")
    line.append(describe_detected(detected))
    console.print(line, soft_wrap=True)
    keys = ", ".join(cjob.match_keys) or "(none)"
    line = Text("Job: ", style="bold")
    line.append(
        f"{job.name} — {cjob.action.value} into {cjob.source.name}, "
        f"matched on {keys}, {len(job.mappings)} mapping{'s' if len(job.mappings) != 1 else ''}"
    )
    console.print(line, soft_wrap=True)
    from idms.jobs.options import option_line

    shown = option_line(job)
    if shown:
        line = Text("Options: ", style="bold")
        line.append(shown)
        console.print(line, soft_wrap=True)
    if plan:
        console.print(Text("Plan only: nothing will be written.", style="cyan"))
    console.print()


def _confirm_delete(cjob: CompiledJob, target: str, *, yes: bool) -> None:
    if yes:
        return
    keys = ", ".join(cjob.match_keys) or "(none)"
    if not stdin_is_terminal():
        raise InvalidInputError(
            f"This job deletes {cjob.source.name} records (matched on {keys}). Nothing was "
            "written: add --yes to confirm the delete (or --plan to see what it would delete)."
        )
    question = (
        f"This job deletes {cjob.source.name} records matched on {keys} from the {target} "
        "target. Go ahead?"
    )
    if not typer.confirm(question, err=True):
        print_note("Cancelled: nothing was written.")
        raise typer.Exit(EXIT_FAILED)


def _print_report(
    report: RunReport, runs: RunStore, prefix: str, *, terminal: bool, watch: Stopwatch
) -> None:
    counts = report.counts.as_dict()
    plan = report.status == RunStatus.PLANNED
    title = Text(f"Run {report.run_id} ", style="bold")
    title.append_text(status_text(report.status.value, explain=True))
    out().print(title, soft_wrap=True)
    if terminal:
        print_line(watch.rate_text(report.counts.rows), style="dim")
    if report.message:
        print_error(f"The run failed: {report.message}")
    print_line()
    print_counts(counts)
    if plan:
        shown = ("inserted", "updated", "deleted")  # the changes: not what stays as it is
        planned = sum(counts[o] for o in shown)
        heading = "What would change"
        if planned > PLAN_ROWS:
            heading += f" (the first {PLAN_ROWS} of {planned:,} rows)"
        if planned:
            print_line()
            print_rows(first_rows(runs, report.run_id, shown, PLAN_ROWS), title=heading)
    if report.counts.errors:
        print_line()
        print_errors(
            first_rows(runs, report.run_id, ("error",), ERROR_ROWS),
            total=report.counts.errors,
        )
        if report.error_file is not None:
            print_line(f"Failed rows, with an Error column: {report.error_file}", style="bold")
    if terminal:
        print_next_steps(
            prefix,
            report.run_id,
            plan=plan,
            errors=report.counts.errors,
            undo=not plan and counts["rows"] > counts["errors"],
        )
