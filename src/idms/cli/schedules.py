"""``idms schedule``: jobs run on a cron schedule in a time zone, or once (iSchedule)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from zoneinfo import ZoneInfo

import typer
from rich.text import Text

from idms.cli.context import (
    get_settings,
    get_state,
    open_workspace,
    quote_arg,
    suite_engine,
)
from idms.cli.output import (
    confirm_or_stop,
    new_table,
    out,
    print_error,
    print_json,
    print_line,
    print_note,
    print_table,
)

if TYPE_CHECKING:
    from idms.schedules.model import ScheduleInfo

schedule_app = typer.Typer(
    help="Run jobs on a schedule: add, edit, list, show, next, pause, resume, run-now, remove.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


class Misfire(StrEnum):
    run_once = "run-once"
    skip = "skip"


class Overlap(StrEnum):
    skip = "skip"
    queue = "queue"


NameArgument = Annotated[
    str,
    typer.Argument(
        metavar="NAME", help="The schedule's name (see 'idms schedule list').", show_default=False
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON (for scripts).")]


@schedule_app.command("add")
def add_command(
    ctx: typer.Context,
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="A name for the schedule.", show_default=False)
    ],
    job_file: Annotated[
        Path | None,
        typer.Option(
            "--job",
            metavar="JOB.yml",
            help="The job file to run. It is stored with the schedule (the file may move "
            "afterwards); its input file is read afresh at each run.",
            show_default=False,
        ),
    ] = None,
    template: Annotated[
        str | None,
        typer.Option(
            "--template", metavar="T", help="A saved template to run.", show_default=False
        ),
    ] = None,
    workflow: Annotated[
        str | None,
        typer.Option(
            "--workflow",
            metavar="W",
            help="A saved workflow to run (its schedule trigger's input is each run's input).",
            show_default=False,
        ),
    ] = None,
    transfer: Annotated[
        str | None,
        typer.Option(
            "--transfer",
            metavar="T",
            help="A saved transfer to run (see 'idms transfer list').",
            show_default=False,
        ),
    ] = None,
    input_file: Annotated[
        Path | None,
        typer.Option(
            "--input",
            metavar="FILE",
            help="With --template: the file each run reads (as it is when the run starts).",
            show_default=False,
        ),
    ] = None,
    cron: Annotated[
        str | None,
        typer.Option(
            "--cron",
            metavar="EXPR",
            help="When to run: five cron fields (minute hour day month weekday), e.g. "
            "'30 9 * * 1-5', or hourly, daily, weekly, monthly (also @daily...).",
            show_default=False,
        ),
    ] = None,
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            metavar="ISO8601",
            help="Run once at this moment instead, e.g. 2026-12-01T09:00 (in --tz) or "
            "2026-12-01T14:00Z.",
            show_default=False,
        ),
    ] = None,
    tz: Annotated[
        str | None,
        typer.Option(
            "--tz",
            metavar="ZONE",
            help="The time zone the cron expression (and --at) is read in, an IANA name such as "
            "America/New_York. Default UTC.",
            show_default=False,
        ),
    ] = None,
    max_failures: Annotated[
        int | None,
        typer.Option(
            "--max-failures",
            min=1,
            metavar="N",
            help="Disable the schedule after N failed runs in a row (default: never).",
            show_default=False,
        ),
    ] = None,
    misfire: Annotated[
        Misfire,
        typer.Option(
            "--misfire",
            case_sensitive=False,
            help="After downtime: run-once fires once for the slots missed, skip fires none.",
        ),
    ] = Misfire.run_once,
    overlap: Annotated[
        Overlap,
        typer.Option(
            "--overlap",
            case_sensitive=False,
            help="While a run of the schedule is queued or running: skip creates no new run, "
            "queue creates it anyway.",
        ),
    ] = Overlap.skip,
    description: Annotated[
        str,
        typer.Option("--description", metavar="TEXT", help="What the schedule is for."),
    ] = "",
    as_json: JsonOption = False,
) -> None:
    """Add a schedule: a job file, template, workflow or transfer run on a cron schedule, or
    once.

    The cron expression is read in the schedule's time zone (--tz, default UTC), across
    daylight-saving changes: a time skipped in spring runs at the end of the gap, a time repeated
    in autumn runs once. The job is checked against the target first; every mistake (a bad
    cron expression, an unknown zone or template, a time in the past, a taken name) is refused
    with what to write instead. 'idms serve' runs the schedules.

    Example: idms schedule add Nightly --job members.yml --cron "30 2 * * *" --tz America/New_York

    Example: idms schedule add Dues --template Dues --input dues.csv --cron weekly --max-failures 3

    Example: idms schedule add Year-end --job close.yml --at 2026-12-31T18:00 --tz Europe/London

    Example: idms schedule add Nightly-sync --workflow "Nightly sync" --cron "0 2 * * *"

    Example: idms schedule add LMS-nightly --transfer "LMS nightly" --cron "0 2 * * *"
    """
    from idms.schedules.jobs import input_path

    settings = get_settings(ctx)
    with open_workspace(settings) as workspace:
        new = workspace.define_schedule(
            name,
            job_file=job_file,
            template=template,
            workflow=workflow,
            transfer=transfer,
            input_file=input_file,
            cron=cron,
            at=at,
            timezone=tz,
            misfire=misfire.value,
            overlap=overlap.value,
            max_failures=max_failures,
            description=description,
        )
        info = workspace.add_schedule(new)
    if as_json:
        print_json(info.to_dict())
        return
    print_line(f"Schedule '{info.name}' added: {info.what()}, {info.when()}.")
    _print_next(info)
    source = input_path(new.job) if new.job is not None else None
    if source is not None and not source.is_file():
        print_note(f"Note: {source} is not there now; each run reads it as it is then.")
    print_note(
        "Schedules run while 'idms serve' is running. Try this one now: "
        f"{get_state(ctx).command_prefix()} schedule run-now {quote_arg(info.name)}"
    )


@schedule_app.command("edit")
def edit_command(
    ctx: typer.Context,
    name: NameArgument,
    job_file: Annotated[
        Path | None,
        typer.Option(
            "--job", metavar="JOB.yml", help="Run this job file instead.", show_default=False
        ),
    ] = None,
    template: Annotated[
        str | None,
        typer.Option(
            "--template", metavar="T", help="Run this saved template instead.", show_default=False
        ),
    ] = None,
    workflow: Annotated[
        str | None,
        typer.Option(
            "--workflow", metavar="W", help="Run this saved workflow instead.", show_default=False
        ),
    ] = None,
    transfer: Annotated[
        str | None,
        typer.Option(
            "--transfer", metavar="T", help="Run this saved transfer instead.", show_default=False
        ),
    ] = None,
    input_file: Annotated[
        Path | None,
        typer.Option(
            "--input",
            metavar="FILE",
            help="A template schedule's file: each run reads this one instead.",
            show_default=False,
        ),
    ] = None,
    no_input: Annotated[
        bool,
        typer.Option("--no-input", help="A template schedule reads no file any more."),
    ] = False,
    cron: Annotated[
        str | None,
        typer.Option(
            "--cron",
            metavar="EXPR",
            help="Run at these times instead (five cron fields or a preset; replaces --at).",
            show_default=False,
        ),
    ] = None,
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            metavar="ISO8601",
            help="Run once at this moment instead (replaces a cron expression).",
            show_default=False,
        ),
    ] = None,
    tz: Annotated[
        str | None,
        typer.Option(
            "--tz",
            metavar="ZONE",
            help="Read the timing in this zone (alone: the same wall-clock times there).",
            show_default=False,
        ),
    ] = None,
    max_failures: Annotated[
        int | None,
        typer.Option(
            "--max-failures",
            min=0,
            metavar="N",
            help="Disable after N failed runs in a row; 0: never. The count so far is kept.",
            show_default=False,
        ),
    ] = None,
    misfire: Annotated[
        Misfire | None,
        typer.Option("--misfire", case_sensitive=False, help="run-once or skip, after downtime."),
    ] = None,
    overlap: Annotated[
        Overlap | None,
        typer.Option(
            "--overlap", case_sensitive=False, help="skip or queue, while a run is queued."
        ),
    ] = None,
    description: Annotated[
        str | None,
        typer.Option("--description", metavar="TEXT", help="What the schedule is for."),
    ] = None,
    rename: Annotated[
        str | None,
        typer.Option("--rename", metavar="NEW", help="A new name (its history stays with it)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Change a schedule in place: give only what changes; the rest stays as it was.

    It keeps its name, its run history, its failures in a row and its state (a paused schedule
    stays paused). The edit is checked as 'idms schedule add' checks a new one, and a refused
    edit changes nothing. A new timing (--cron, --at or --tz) runs next at its first time after
    now; the times it would have run before are not made up.

    Example: idms schedule edit Nightly --cron "0 3 * * 1-5"

    Example: idms schedule edit Nightly --tz Europe/London

    Example: idms schedule edit Dues --input dues-2027.csv --max-failures 5

    Example: idms schedule edit Year-end --at 2027-01-02T08:00 --description "After the holiday"
    """
    from idms.errors import InvalidInputError
    from idms.schedules.edit import ScheduleChanges, differences

    if no_input and input_file is not None:
        raise InvalidInputError("Give --input FILE or --no-input, not both.")
    changes = ScheduleChanges(
        name=rename,
        job_file=job_file,
        template=template,
        input_file="" if no_input else input_file,
        workflow=workflow,
        transfer=transfer,
        cron=cron,
        at=at,
        timezone=tz,
        misfire=misfire.value if misfire is not None else None,
        overlap=overlap.value if overlap is not None else None,
        max_failures=max_failures,
        description=description,
    )
    if changes.empty:
        raise InvalidInputError(
            "Say what to change: e.g. --cron, --at, --tz, --template, --max-failures or "
            "--description.",
            hint=f"'idms schedule edit --help' lists them; 'idms schedule show {quote_arg(name)}' "
            "shows the schedule as it is.",
        )
    with open_workspace(get_settings(ctx)) as workspace:
        before, info = workspace.edit_schedule(name, changes)
    changed = differences(before, info)
    if as_json:
        data = info.to_dict()
        data["changed"] = [{"what": w, "before": b, "after": a} for w, b, a in changed]
        print_json(data)
        return
    if not changed:
        print_line(f"Schedule '{info.name}' is as it was: nothing changed.")
    else:
        print_line(f"Schedule '{info.name}' changed:")
        for what, old, new in changed:
            print_line(f"  {what}: {old or '(none)'} -> {new or '(none)'}")
    _print_next(info)


@schedule_app.command("list")
def list_command(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List the schedules: what each runs, when, its next run (in its zone and UTC), its state
    and its failures in a row.

    Example: idms schedule list
    """
    from idms.schedules.store import ScheduleStore

    with suite_engine(get_settings(ctx)) as engine:
        infos = ScheduleStore(engine).list()
    if as_json:
        print_json([i.to_dict() for i in infos])
        return
    if not infos:
        print_note(
            "No schedules yet. Add one with: idms schedule add NAME --job JOB.yml --cron daily"
        )
        return
    table = new_table(
        "Schedule", "Runs", "When", "Next run", "Next (UTC)", "State", "Failures",
        no_wrap=("Next run", "Next (UTC)"),
    )  # fmt: skip
    table.columns[-1].justify = "right"
    for info in infos:
        table.add_row(
            info.name,
            info.what(),
            info.when(),
            _local(info.next_fire_at, info.zone),
            _utc(info.next_fire_at),
            _state_text(info),
            _failures(info),
        )
    print_table(table)


@schedule_app.command("show")
def show_command(ctx: typer.Context, name: NameArgument, as_json: JsonOption = False) -> None:
    """Show a schedule: what it runs, when, its policies, its state and its latest runs.

    Example: idms schedule show "Nightly members"
    """
    from idms.schedules.store import ScheduleStore

    with suite_engine(get_settings(ctx)) as engine:
        store = ScheduleStore(engine)
        info = store.get(name)
        recent = store.recent_runs(info.id)
    if as_json:
        data = info.to_dict()
        data["recent_runs"] = [
            {"run_id": r, "status": s, "created_at": c.isoformat()} for r, s, c in recent
        ]
        print_json(data)
        return
    console = out()
    console.print(Text(f"Schedule '{info.name}'", style="bold"), soft_wrap=True)
    policies = f"misfire {info.misfire}, overlap {info.overlap}"
    if info.max_failures:
        policies += f", disabled after {info.max_failures} failed runs in a row"
    facts: list[tuple[str, str | Text]] = [
        ("Runs", info.what()),
        ("When", info.when()),
        ("In words", info.in_words()),
        ("Next run", _next_text(info)),
        ("State", _state_text(info, reason=True)),
        ("Policies", policies),
        ("Target", f"{info.target} ({info.platform} rules)"),
        ("Last fired", _last_fired(info)),
        ("Failures", f"{info.consecutive_failures} in a row"),
    ]
    if info.description:
        facts.insert(0, ("About", info.description))
    if info.skipped_fires:
        facts.append(("Skipped", f"{info.skipped_fires} (last: {info.last_skip})"))
    width = max(len(k) for k, _ in facts) + 2
    for key, value in facts:
        line = Text(f"{key + ':':<{width}}", style="bold")
        line.append_text(value if isinstance(value, Text) else Text(value))
        console.print(line, soft_wrap=True)
    if recent:
        print_line()
        table = new_table("Run", "Created", "Status", title="Latest runs")
        for run_id, status, created in recent:
            table.add_row(run_id, _local(created, info.zone), status.replace("_", " "))
        print_table(table)


@schedule_app.command("next")
def next_command(
    ctx: typer.Context,
    name: NameArgument,
    count: Annotated[
        int, typer.Option("--count", "-n", min=1, max=1000, metavar="N", help="How many times.")
    ] = 5,
    as_json: JsonOption = False,
) -> None:
    """Show the schedule's next run times, in its time zone and in UTC.

    A paused or disabled schedule shows when it would run if it were resumed now.

    Example: idms schedule next "Nightly members" --count 10
    """
    from idms.schedules.model import next_times
    from idms.schedules.store import ScheduleStore

    with suite_engine(get_settings(ctx)) as engine:
        info = ScheduleStore(engine).get(name)
    times = next_times(info, count)
    if as_json:
        print_json(
            {
                "name": info.name,
                "state": info.state,
                "timezone": info.timezone,
                "times": [t.isoformat() for t in times],
                "local_times": [t.astimezone(info.zone).isoformat() for t in times],
            }
        )
        return
    if info.state in ("paused", "disabled"):
        print_note(f"Schedule '{info.name}' is {info.state}: if it were resumed now, it would run:")
    if not times:
        print_line(f"Schedule '{info.name}' will not run again ({_state_text(info).plain}).")
        return
    for moment in times:
        print_line(_both(moment, info.zone))


@schedule_app.command("pause")
def pause_command(ctx: typer.Context, name: NameArgument) -> None:
    """Pause a schedule: it does not run until resumed (runs already queued still run).

    Example: idms schedule pause "Nightly members"
    """
    from idms.schedules.store import ScheduleStore

    state = get_state(ctx)
    with suite_engine(state.settings) as engine:
        store = ScheduleStore(engine)
        before = store.get(name)
        info = store.pause(name)
    if before.state != "active":
        print_line(f"Schedule '{info.name}' is {before.state} already.")
    else:
        resume = f"{state.command_prefix()} schedule resume {quote_arg(info.name)}"
        print_line(f"Schedule '{info.name}' paused. Resume it with: {resume}")


@schedule_app.command("resume")
def resume_command(ctx: typer.Context, name: NameArgument) -> None:
    """Resume a paused or disabled schedule, from its next time after now.

    The times missed while it was paused are not made up for. A schedule disabled after too
    many failed runs starts again with no failures counted.

    Example: idms schedule resume "Nightly members"
    """
    from idms.schedules.store import ScheduleStore

    with suite_engine(get_settings(ctx)) as engine:
        store = ScheduleStore(engine)
        before = store.get(name)
        info = store.resume(name)
    if before.state == "active":
        print_line(f"Schedule '{info.name}' is active already.")
    else:
        print_line(f"Schedule '{info.name}' resumed.")
    _print_next(info)


@schedule_app.command("run-now")
def run_now_command(
    ctx: typer.Context,
    name: NameArgument,
    queue_only: Annotated[
        bool,
        typer.Option(
            "--queue-only", help="Only queue the run, for 'idms serve' (or a worker) to run."
        ),
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the run's summary as JSON.")
    ] = False,
) -> None:
    """Run a schedule's job now, whatever its state; its next run is not affected.

    The run is queued and, as the command line has no background executor, run here and now
    (its summary printed, exit code as for 'idms run'), unless --queue-only.

    Example: idms schedule run-now "Nightly members"
    """
    from idms.cli.reports import print_counts, status_text

    state = get_state(ctx)
    with open_workspace(state.settings) as workspace:
        info = workspace.run_schedule_now(name, wait=not queue_only)
    if queue_only:
        if as_json:
            print_json(info.summary())
        else:
            print_line(f"Run {info.id} of schedule '{name}' queued.")
        return
    if as_json:
        print_json(info.summary())
    else:
        title = Text(f"Run {info.id} of schedule '{name}' ", style="bold")
        title.append_text(status_text(info.status, explain=True))
        out().print(title, soft_wrap=True)
        if info.message:
            print_error(f"The run failed: {info.message}")
        print_line()
        print_counts(info.counts)
        if out().is_terminal:
            print_note(f"See its rows with: {state.command_prefix()} runs show {info.id}")
    raise typer.Exit(info.exit_code)


@schedule_app.command("remove")
def remove_command(
    ctx: typer.Context,
    name: NameArgument,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Do not ask for confirmation on a terminal.")
    ] = False,
) -> None:
    """Remove a schedule. On a terminal it asks first, unless --yes.

    Its runs stay in the run history ('idms runs'); a run already queued still runs.

    Example: idms schedule remove "Nightly members" --yes
    """
    from idms.schedules.store import ScheduleStore

    with suite_engine(get_settings(ctx)) as engine:
        store = ScheduleStore(engine)
        store.get(name)  # an unknown name is refused (with the closest one) before asking
        confirm_or_stop(f"Remove schedule '{name}'?", yes=yes, cancelled="nothing removed")
        store.remove(name)
    print_line(f"Schedule '{name}' removed.")


# ---- printing --------------------------------------------------------------------------------


def _print_next(info: ScheduleInfo) -> None:
    print_line(f"Next run: {_next_text(info)}")


def _next_text(info: ScheduleInfo) -> str:
    if info.next_fire_at is None:
        return "none" if info.state != "paused" else "none (paused)"
    return _both(info.next_fire_at, info.zone)


def _both(moment: datetime, zone: ZoneInfo) -> str:
    """The moment in the schedule's zone, and in UTC unless that is the zone."""
    local = _local(moment, zone)
    return local if zone.key == "UTC" else f"{local} ({_utc(moment)} UTC)"


def _last_fired(info: ScheduleInfo) -> str:
    if info.last_fire_at is None:
        return "never"
    text = _local(info.last_fire_at, info.zone)
    if info.last_run_id:
        text += (
            f", run {info.last_run_id} ({(info.last_outcome or 'not finished').replace('_', ' ')})"
        )
    return text


def _local(moment: datetime | None, zone: ZoneInfo) -> str:
    """``2026-03-08 03:00 EDT``: the moment in the schedule's zone."""
    if moment is None:
        return ""
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def _utc(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%d %H:%M")


STATE_STYLE = {"active": "green", "paused": "yellow", "disabled": "red", "done": "dim"}


def _state_text(info: ScheduleInfo, *, reason: bool = False) -> Text:
    text = Text(info.state, style=STATE_STYLE.get(info.state, ""))
    if reason and info.state_reason:
        text.append(f": {info.state_reason}")
    return text


def _failures(info: ScheduleInfo) -> str:
    if info.max_failures:
        return f"{info.consecutive_failures}/{info.max_failures}"
    return str(info.consecutive_failures)
