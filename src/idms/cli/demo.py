"""``idms demo``: fill the embedded store with a realistic demo association."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from idms.cli.context import embedded_target, get_state
from idms.cli.output import new_table, out, print_line, print_table
from idms.errors import IdmsError

ProgressCallback = Callable[[str, int, int], None]

EXAMPLES = (
    ("the first contacts", "records Contact --limit 10"),
    ("contacts whose last name starts with S", "records Contact --where LastName=startsWith:S"),
    ("the most recent gifts", "records Gift --order -GiftDate --limit 5"),
)


def demo_command(
    ctx: typer.Context,
    contacts: Annotated[
        int,
        typer.Option("--contacts", "-n", min=1, metavar="N", help="How many contacts to create."),
    ] = 1000,
    seed: Annotated[
        int,
        typer.Option(
            "--seed",
            metavar="S",
            help="Random seed: the same seed makes the same association every time.",
        ),
    ] = 0,
) -> None:
    """Fill the embedded store with a demo association.

    Creates contacts and organizations with their addresses, activities, groups, relationships,
    communication preferences, events, registrations, gifts, panels and user logins, all
    realistic and made up. The store must be empty (run it on a new workspace). A progress
    bar shows on a terminal.

    Example: idms --workspace ./demo-data demo --contacts 500 --seed 7
    """
    try:
        from idms.demo.generate import fill_demo
    except ModuleNotFoundError as exc:
        if exc.name is None or not exc.name.startswith("idms.demo"):
            raise
        raise IdmsError("The demo generator is not part of this installation.") from None

    state = get_state(ctx)
    from idms.demo.samples import write_samples

    with embedded_target(state.settings) as target, _progress() as report:
        summary = fill_demo(target.engine, contacts=contacts, seed=seed, progress=report)
        samples = write_samples(target.engine, state.settings.workspace / "samples", seed=seed)

    table = new_table("Created", "How many", title="Demo association")
    table.columns[1].justify = "right"
    for what, count in summary.as_rows():
        table.add_row(what, f"{count:,}")
    print_table(table)
    print_line()
    print_line("Browse it:")
    for what, command in EXAMPLES:
        print_line(f"  {state.command_prefix()} {command}", style="bold")
        print_line(f"      {what}", style="dim")
    print_line()
    print_line("Try an import (sample files and jobs in the workspace):")
    for job in samples:
        print_line(f"  {state.command_prefix()} run {job} --plan", style="bold")


@contextmanager
def _progress() -> Iterator[ProgressCallback | None]:
    """A progress callback drawing a Rich bar per stage on a terminal; None when piped."""
    console = out()
    if not console.is_terminal:
        yield None
        return
    with Progress(
        TextColumn("{task.description:<24}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        tasks: dict[str, TaskID] = {}

        def report(stage: str, done: int, total: int) -> None:
            task = tasks.get(stage)
            if task is None:
                task = tasks[stage] = bar.add_task(stage, total=total or None)
            bar.update(task, completed=done, total=total or None)

        yield report
