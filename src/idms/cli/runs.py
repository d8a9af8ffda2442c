"""``idms runs``: the runs recorded in the workspace, what each did, its failed rows, undo."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.text import Text

from idms.cli.context import get_settings, get_state, open_workspace, quote_arg, suite_engine
from idms.cli.output import (
    new_table,
    out,
    print_json,
    print_line,
    print_note,
    print_table,
    stdin_is_terminal,
)
from idms.cli.reports import (
    Stopwatch,
    describe_detected,
    error_file_of,
    first_rows,
    print_counts,
    print_next_steps,
    print_rows,
    row_dict,
    row_progress,
    run_dict,
    status_text,
)
from idms.errors import EXIT_FAILED, EXIT_OK, EXIT_ROW_ERRORS, InvalidInputError
from idms.runs.status import Outcome, RunStatus

if TYPE_CHECKING:
    from idms.jobs.undo import UndoReport
    from idms.runs.record import RunInfo, RunStore
    from idms.runs.rows import RowResult

REFUSED_ROWS = 20
NARROW = 120  # below this terminal width, source and action go under the run's name

runs_app = typer.Typer(
    help="List the runs, show what one did, write its failed rows, undo it.",
    invoke_without_command=True,
    no_args_is_help=False,
    rich_markup_mode=None,
)

RunArgument = Annotated[
    str,
    typer.Argument(
        metavar="RUN",
        help="The run's ID, or the start of it (see 'idms runs').",
        show_default=False,
    ),
]
LimitOption = Annotated[
    int,
    typer.Option("--limit", "-n", min=1, metavar="N", help="How many of the latest runs to list."),
]
JsonListOption = Annotated[
    bool, typer.Option("--json", help="Print one JSON array of runs (for scripts).")
]


@runs_app.callback()
def runs_main(ctx: typer.Context, limit: LimitOption = 20, as_json: JsonListOption = False) -> None:
    """List the runs, show what one did, write its failed rows, undo it.

    'idms runs' alone lists the latest runs, as 'idms runs list' does.
    """
    if ctx.invoked_subcommand is None:
        _list(ctx, limit, as_json)


@runs_app.command("list")
def list_command(
    ctx: typer.Context, limit: LimitOption = 20, as_json: JsonListOption = False
) -> None:
    """List the latest runs, newest first (also what 'idms runs' alone does).

    Each run shows when it started, its name, source and action, its status and its counts.

    Example: idms runs list --limit 5
    """
    _list(ctx, limit, as_json)


def _list(ctx: typer.Context, limit: int, as_json: bool) -> None:
    from idms.runs.leases import Leases
    from idms.runs.record import RunStore

    settings = get_settings(ctx)
    with suite_engine(settings) as engine:
        Leases(engine).recover_lapsed(requeue=False)  # no run left running by a dead process
        infos = RunStore(engine).list(limit)
    if as_json:
        print_json([run_dict(info) for info in infos])
        return
    if not infos:
        print_note("No runs yet. Import a file with 'idms import' or run a job with 'idms run'.")
        return
    narrow = out().is_terminal and out().width < NARROW
    columns = ["Run", "Started", "Name", "Status", "Rows", "Errors"]
    if not narrow:
        columns[3:3] = ["Source", "Action", "Started by"]
    table = new_table(*columns, no_wrap=("Run", "Started"))
    table.columns[-1].justify = table.columns[-2].justify = "right"
    for info in infos:
        status = status_text(info.status)
        if info.undone_by:
            status.append(", undone", style="dim")
        counts = [f"{info.rows:,}", f"{info.counts['errors']:,}" if info.counts["errors"] else ""]
        if narrow:
            name = Text(info.name)
            name.append(f"\n{info.source}, {info.action}", style="dim")
            if info.started_by:
                name.append(f"\nby {info.started_by}", style="dim")
            table.add_row(info.id, _when(info.created_at, seconds=False), name, status, *counts)
        else:
            table.add_row(
                info.id,
                _when(info.created_at, seconds=False),
                info.name,
                info.source,
                info.action,
                info.started_by or "",
                status,
                *counts,
            )
    print_table(table)
    if len(infos) == limit:
        print_note(f"The latest {limit} runs; --limit N shows more.")


@runs_app.command("show")
def show_command(
    ctx: typer.Context,
    run: RunArgument,
    rows: Annotated[
        int,
        typer.Option(
            "--rows", "-n", min=0, metavar="N", help="Show at most N rows; 0 shows them all."
        ),
    ] = 20,
    outcomes: Annotated[
        list[Outcome] | None,
        typer.Option(
            "--outcome",
            metavar="OUTCOME",
            case_sensitive=False,
            help="Only rows with this outcome: inserted, updated, unchanged, deleted, skipped "
            "or error. Repeat for several.",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print the run and its rows as one JSON object."),
    ] = False,
) -> None:
    """Show a run: what it read, its counts, and its rows with what changed.

    Each row shows its number in the file, its outcome, the record it touched and the change
    (before -> after for updates, the values for inserts) or why nothing changed.

    Example: idms runs show 1ee7d121 --outcome error --rows 50
    """
    from idms.runs.leases import Leases
    from idms.runs.record import RunStore

    settings = get_settings(ctx)
    wanted = [o.value for o in outcomes] if outcomes else None
    with suite_engine(settings) as engine:
        Leases(engine).recover_lapsed(requeue=False)  # no run left running by a dead process
        store = RunStore(engine)
        info = store.get(run)
        shown = first_rows(store, info.id, wanted, rows)
    if as_json:
        data: dict[str, Any] = run_dict(info)
        data["detected"] = info.detected
        data["columns"] = info.columns
        data["job"] = info.job
        data["results"] = [row_dict(r) for r in shown]
        print_json(data)
        return
    _print_header(info, error_file=error_file_of(info))
    print_line()
    if info.kind in ("workflow", "transfer"):  # steps, not rows
        steps = info.steps
        if steps is not None:
            print_line(
                f"Steps run: {steps['total']:,} ({steps['succeeded']:,} succeeded, "
                f"{steps['failed']:,} failed, {steps['skipped']:,} skipped)"
            )
        print_note(f"Every step's input and output: idms workflow run-show {info.id}")
        if info.kind == "transfer":
            print_note(f"What each step sent: idms transfer runs {quote_arg(info.name)}")
        return
    print_counts(info.counts)
    print_line()
    total = sum(info.counts["errors" if o == "error" else o] for o in wanted or _ALL)
    heading = "Rows" if not wanted else "Rows (" + ", ".join(wanted) + ")"
    if rows and total > len(shown):
        heading += f": the first {len(shown)} of {total:,}"
    if not print_rows(shown, title=heading):
        print_note("No rows" + (" with that outcome." if wanted else "."))
    elif rows and total > len(shown):
        print_note("--rows N shows more, --rows 0 all; --outcome error shows only the errors.")


_ALL = tuple(o.value for o in Outcome)


def _when(moment: datetime | None, *, seconds: bool = True) -> str:
    """A moment in local time."""
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone().strftime("%Y-%m-%d %H:%M" + (":%S" if seconds else ""))


def _print_header(info: RunInfo, *, error_file: Path | None) -> None:
    console = out()
    console.print(Text(f"Run {info.id} — {info.name}", style="bold"), soft_wrap=True)
    kind = "undo of run " + info.undo_of if info.undo_of else info.kind
    if info.plan_only:
        kind += " (plan only: nothing was written)"
    status = status_text(info.status)
    if info.message:
        status.append(f": {info.message}")
    facts: list[tuple[str, str | Text]] = [
        ("Kind", kind),
        ("Source", f"{info.source}, {info.action}"),
        ("Target", f"{info.target} ({info.platform} rules)"),
        ("Status", status),
        ("Started by", info.started_by or "unknown (recorded before iDMS kept it)"),
        ("Started", _when(info.started_at or info.created_at)),
        ("Finished", _when(info.finished_at)),
    ]
    spec = info.job.get("input")
    if isinstance(spec, dict) and spec.get("file"):
        facts.append(("Input", str(spec["file"])))
    if info.detected:
        facts.append(("Read as", describe_detected(info.detected)))
    if info.undone_by:
        facts.append(("Undone by", f"run {info.undone_by}"))
    if error_file is not None:
        facts.append(("Failed rows", str(error_file)))
    width = max(len(k) for k, _ in facts) + 2
    for key, value in facts:
        line = Text(f"{key + ':':<{width}}", style="bold")
        line.append_text(value if isinstance(value, Text) else Text(value))
        console.print(line, soft_wrap=True)


@runs_app.command("errors")
def errors_command(
    ctx: typer.Context,
    run: RunArgument,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Where to write the rows, .xlsx or .csv. Default RUN-failed.xlsx here.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Write a run's failed rows to a file, to fix and import again.

    The file has the input's own columns (passwords masked) and an Error column saying what was
    wrong with each row ("Row 7, column 'E-mail': ..."). Fix the cells and run the same job on
    the file: the Error column is not mapped, so it is ignored.

    Example: idms runs errors 1ee7d121 -o failed.xlsx
    """
    from idms.io.errorfile import write_error_file
    from idms.runs.record import RunStore
    from idms.runs.status import JOB_KINDS

    with suite_engine(get_settings(ctx)) as engine:
        store = RunStore(engine)
        info = store.get(run)
        if info.kind not in JOB_KINDS:
            what = "an undo" if info.kind == "undo" else f"a {info.kind} run"
            raise InvalidInputError(f"Run {info.id} is {what}; it has no input rows to write.")
        count = info.counts["errors"]
        if not count:
            print_note(f"Run {info.id} has no failed rows: no file written.")
            return
        path = write_error_file(store, info.id, output or Path(f"{info.id}-failed.xlsx"))
    plural = "row" if count == 1 else "rows"
    print_line(f"Wrote {count:,} failed {plural} of run {info.id} to {path}.")


@runs_app.command("undo")
def undo_command(
    ctx: typer.Context,
    run: RunArgument,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Undo records changed since the run too (their later changes are lost)."
        ),
    ] = False,
    yes: Annotated[
        bool,
        typer.Option(
            "--yes", "-y", help="Do not ask first. Without a terminal, an undo needs --yes."
        ),
    ] = False,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print one JSON object (the undo run's summary)."),
    ] = False,
) -> None:
    """Undo a run: put back what it inserted, updated and deleted.

    Inserted records are deleted (inserted contacts are marked for erasure, as iMIS never deletes
    contacts), updated records get their previous values back, deleted records are inserted
    again. A row that cannot be put back is skipped with the reason: a record changed since the
    run (unless --force), or a value iMIS sets (an unlocked account is not locked again). The
    undo is itself a run, shown by 'idms runs', and can be undone in turn to put back what it
    changed (contacts it marked for erasure are unmarked).

    Example: idms runs undo 1ee7d121 --yes
    """
    state = get_state(ctx)
    with open_workspace(state.settings) as workspace:
        info = workspace.runs.get(run)
        if info.undoable and not yes:  # the library refuses the others, with the reason
            _confirm_undo(info)
        with row_progress("Undoing", on_stderr=as_json) as progress:
            watch = Stopwatch()
            report = workspace.undo(info.id, force=force, progress=progress)
        if as_json:
            print_json(report.summary())
        else:
            _print_undo(
                report, info, workspace.runs, state.command_prefix(), watch=watch, force=force
            )
    raise typer.Exit(EXIT_ROW_ERRORS if report.counts.errors else EXIT_OK)


def _print_undo(
    report: UndoReport,
    info: RunInfo,
    store: RunStore,
    prefix: str,
    *,
    watch: Stopwatch,
    force: bool,
) -> None:
    """The undo's counts, what it could not undo (and why), notes such as erasure marks, and
    how to put back what it changed (undo the undo)."""
    of = "undo run" if info.undo_of else "run"
    title = Text(f"Undo run {report.run_id} of {of} {info.id} ", style="bold")
    title.append_text(status_text(report.status.value))
    out().print(title, soft_wrap=True)
    terminal = out().is_terminal
    if terminal:
        print_line(watch.rate_text(report.counts.rows), style="dim")
    print_line()
    print_counts(report.counts.as_dict())
    refused: list[RowResult] = []
    notes: dict[str, int] = {}
    for row in store.rows(report.run_id):
        if row.outcome in ("skipped", "error"):
            if len(refused) < REFUSED_ROWS:
                refused.append(row)
        elif row.message:
            notes[row.message] = notes.get(row.message, 0) + 1
    for message, count in notes.items():
        print_note(f"{count:,} row{'s' if count != 1 else ''}: {message}")
    if refused:
        print_line()
        total = report.counts.by_outcome[Outcome.SKIPPED] + report.counts.errors
        heading = "Not undone"
        if total > len(refused):
            heading += f" (the first {len(refused)} of {total:,})"
        print_rows(refused, title=heading)
        if not force and any(r.code == "changed_since" for r in refused):
            print_note("Records changed since the run were left alone; --force undoes them.")
    counts = report.counts.by_outcome
    changed = counts[Outcome.INSERTED] + counts[Outcome.UPDATED] + counts[Outcome.DELETED]
    if changed:
        erased = any("marked for erasure" in message for message in notes)
        what = "restore them (unmark them for erasure)" if erased else "put back what it changed"
        print_note(f"To {what}, undo this undo run: {prefix} runs undo {report.run_id}")
    if terminal:
        print_next_steps(prefix, report.run_id, plan=False, errors=0, undo=bool(changed))


def _confirm_undo(info: RunInfo) -> None:
    counts = info.counts
    what = ", ".join(
        f"{counts[k]:,} {k}" for k in ("inserted", "updated", "deleted") if counts.get(k)
    )
    description = f"run {info.id} ({info.name}: {what or 'nothing written'} in {info.source})"
    if not stdin_is_terminal():
        raise InvalidInputError(
            f"Undoing {description} needs confirmation: add --yes. Nothing was changed."
        )
    if not typer.confirm(f"Undo {description}?", err=True):
        print_note("Cancelled: nothing was changed.")
        raise typer.Exit(EXIT_FAILED)


@runs_app.command("resume")
def resume_command(
    ctx: typer.Context,
    run: RunArgument,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the run's summary as JSON.")
    ] = False,
) -> None:
    """Resume a run whose process died (killed, a crash, a lost machine), from its checkpoint.

    Rows already recorded are not read again; the batch that was being written when the
    process died is settled first, and nothing is ever written twice. A run whose process was
    on this machine is taken over at once; one held by a process on another machine is left
    alone until its lease expires (IDMS_LEASE_SECONDS, 60 by default), as 'idms serve' does
    before resuming it by itself. A run still held by a live process is left alone.

    Example: idms runs resume 1ee7d121
    """
    from idms.cli.jobs import finish_report

    state = get_state(ctx)
    terminal = out().is_terminal and not as_json
    with open_workspace(state.settings) as workspace:
        info = workspace.resumable(run)
        if terminal:
            print_note(f"Resuming run {info.id} ({info.name}) after {info.checkpoint_rows:,} rows.")
        watch = Stopwatch()
        with row_progress("Resuming", on_stderr=as_json) as progress:
            report = workspace.resume(info.id, progress=progress)
        finish_report(
            report,
            workspace.runs,
            state.command_prefix(),
            as_json=as_json,
            terminal=terminal,
            watch=watch,
        )


@runs_app.command("cancel")
def cancel_command(ctx: typer.Context, run: RunArgument) -> None:
    """Cancel a run: a queued one at once, a running one at its next row.

    The rows already written stay written (undo them with 'idms runs undo'); the rest are not
    processed.

    Example: idms runs cancel 1ee7d121
    """
    with open_workspace(get_settings(ctx)) as workspace:
        info = workspace.cancel(run)
    if info.status == RunStatus.CANCELLED:
        print_line(f"Run {info.id} cancelled before it started.")
    else:
        print_line(f"Run {info.id} will stop at its next row.")


@runs_app.command("prune")
def prune_command(
    ctx: typer.Context,
    days: Annotated[
        int | None,
        typer.Option("--days", min=1, help="Delete finished runs older than this many days."),
    ] = None,
    keep: Annotated[
        int | None,
        typer.Option("--keep", min=1, help="Keep only this many of the newest finished runs."),
    ] = None,
) -> None:
    """Delete old finished runs and their row results (the run history grows otherwise).

    Without options, the settings apply: IDMS_RUN_HISTORY_DAYS (90) and IDMS_RUN_HISTORY_MAX
    (10000); 'idms serve' prunes by them every hour. Queued and running runs are never pruned.

    Example: idms runs prune --days 30
    """
    settings = get_settings(ctx)
    max_age = days if days is not None or keep is not None else settings.history_days
    max_count = keep if days is not None or keep is not None else settings.history_max
    with open_workspace(settings) as workspace:
        deleted = workspace.prune(max_age_days=max_age, max_count=max_count)
    print_line(f"{deleted:,} finished run{'s' if deleted != 1 else ''} deleted.")
