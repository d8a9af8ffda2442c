"""``idms workflow hashes``: iDMS's View Hashing Info — what a workflow's Delta Hashing steps
remember (how many keys, which, since when), and forgetting a key or all of them so their rows
are passed on again."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from idms.cli.context import get_settings, open_workspace, quote_arg
from idms.cli.output import (
    new_table,
    print_json,
    print_line,
    print_note,
    print_table,
    stdin_is_terminal,
)
from idms.errors import EXIT_FAILED, InvalidInputError

if TYPE_CHECKING:
    from datetime import datetime

    from idms.workflows.hashes import HashingInfo


def hashes_command(
    ctx: typer.Context,
    name: Annotated[
        str,
        typer.Argument(metavar="NAME", help="The workflow's name.", show_default=False),
    ],
    step: Annotated[
        str | None,
        typer.Option(
            "--step",
            metavar="STEP",
            help="Only this Delta Hashing step (default: every step that keeps hashes).",
            show_default=False,
        ),
    ] = None,
    key: Annotated[
        str | None,
        typer.Option("--key", metavar="K", help="Show this key's hash.", show_default=False),
    ] = None,
    delete: Annotated[
        str | None,
        typer.Option(
            "--delete",
            metavar="K",
            help="Forget this key: the next run passes its row on again.",
            show_default=False,
        ),
    ] = None,
    clear: Annotated[
        bool,
        typer.Option(
            "--clear", help="Forget every key: the next run passes every row on, like its first."
        ),
    ] = False,
    limit: Annotated[
        int,
        typer.Option("--limit", min=0, max=10_000, metavar="N", help="How many keys to list."),
    ] = 20,
    offset: Annotated[
        int,
        typer.Option("--offset", min=0, metavar="N", help="Skip this many keys (the next page)."),
    ] = 0,
    yes: Annotated[
        bool,
        typer.Option(
            "--yes", "-y", help="Do not ask first. Without a terminal, --clear needs --yes."
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (for scripts).")] = False,
) -> None:
    """Show what a workflow's Delta Hashing steps remember (iDMS's View Hashing Info).

    Delta Hashing keeps, for each row's key, the hash of the row it last passed on, so the next
    run passes on only the rows that are new or changed. This shows how many keys each step
    keeps and lists them (a page at a time: --limit, --offset) with when each was stored;
    --key shows one. --delete forgets one key and --clear all of them (of --step, or of every
    step): their rows are passed on again by the next run. --clear asks first.

    Example: idms workflow hashes Nightly

    Example: idms workflow hashes Nightly --key 101

    Example: idms workflow hashes Nightly --step changed --delete 101

    Example: idms workflow hashes Nightly --clear --yes
    """
    if sum(x is not None for x in (key, delete)) + clear > 1:
        raise InvalidInputError("Give one of --key, --delete and --clear, not several.")
    with open_workspace(get_settings(ctx)) as workspace:
        if delete is not None:
            removed = workspace.delete_workflow_hash(name, delete, step=step)
            where = f"step '{step}'" if step else f"{removed} step{'s' if removed != 1 else ''}"
            if as_json:
                print_json({"workflow": name, "step": step, "deleted": delete, "entries": removed})
                return
            print_line(
                f"Key '{delete}' forgotten in {where} of workflow '{name}': its next run passes "
                "that row on again."
            )
            return
        if clear:
            known = workspace.workflow_hashes(name, step=step, limit=0)  # checked before asking
            _confirm_clear(name, step, known.count, yes=yes)
            cleared = workspace.clear_workflow_hashes(name, step=step)
            if as_json:
                print_json({"workflow": name, "step": step, "cleared": cleared})
                return
            print_line(
                f"{cleared:,} key{'s' if cleared != 1 else ''} forgotten"
                + (f" in step '{step}'" if step else "")
                + f" of workflow '{name}': its next run passes every row on."
            )
            return
        info = workspace.workflow_hashes(name, step=step, key=key, limit=limit, offset=offset)
    if as_json:
        print_json({"workflow": name, **info.as_dict()})
        return
    if key is not None:
        _print_key(name, info)
    else:
        _print_listing(name, info)


def _when(value: datetime | None) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S") if value is not None else ""


def _print_key(name: str, info: HashingInfo) -> None:
    table = new_table("Step", "Key", "Hash (SHA-256 of the row)", "Stored")
    for entry in info.keys:
        table.add_row(entry.step, entry.key, entry.hash, _when(entry.updated_at))
    print_table(table)
    command = f"idms workflow hashes {quote_arg(name)} --delete {quote_arg(info.keys[0].key)}"
    print_note(f"To pass its row on again next run: {command}")


def _print_listing(name: str, info: HashingInfo) -> None:
    where = f"Step '{info.step}' of workflow '{name}'" if info.step else f"Workflow '{name}'"
    print_line(f"{where} keeps {info.count:,} key{'s' if info.count != 1 else ''}.")
    if not info.steps:
        print_note("Nothing is kept yet: a Delta Hashing step keeps its keys once a run succeeds.")
        return
    if info.step is None:
        steps = new_table("Step", "Keys", "Last stored")
        steps.columns[1].justify = "right"
        for s in info.steps:
            steps.add_row(s.step, f"{s.count:,}", _when(s.updated_at))
        print_table(steps)
    if not info.keys:
        if info.limit and info.count:
            print_note(f"No keys past the first {info.offset:,}.")
        return
    print_line()
    table = new_table("Step", "Key", "Stored")
    for entry in info.keys:
        table.add_row(entry.step, entry.key, _when(entry.updated_at))
    print_table(table)
    first, last = info.offset + 1, info.offset + len(info.keys)
    shown = f"Keys {first:,} to {last:,} of {info.count:,}."
    if info.more:
        shown += f" The next ones: --offset {last}."
    print_note(shown)


def _confirm_clear(name: str, step: str | None, count: int, *, yes: bool) -> None:
    what = f"all {count:,} keys" + (f" of step '{step}'" if step else "")
    question = f"Forget {what} of workflow '{name}'? Its next run passes every row on."
    if yes:
        return
    if not stdin_is_terminal():
        raise InvalidInputError(
            f"Forgetting {what} of workflow '{name}' needs confirmation: add --yes. Nothing "
            "was changed."
        )
    if not typer.confirm(question, err=True):
        print_note("Cancelled: nothing was changed.")
        raise typer.Exit(EXIT_FAILED)
