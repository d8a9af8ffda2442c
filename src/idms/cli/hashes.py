"""``idms workflow hashes`` and ``idms transfer hashes``: iDMS's View Hashing Info — what a
workflow's Delta Hashing steps (or a transfer's delta key) remember: how many keys, which, since
when; and forgetting a key or all of them so that their rows are passed on (sent) again. One
command for both: a transfer keeps its hashes the way a workflow does, in its one step."""

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

    from idms.workflows.hashes import HashingInfo, HashKind, HashOwner


KeyOption = Annotated[
    str | None,
    typer.Option("--key", metavar="K", help="Show this key's hash.", show_default=False),
]
DeleteOption = Annotated[
    str | None,
    typer.Option(
        "--delete",
        metavar="K",
        help="Forget this key: the next run passes its row on (sends it) again.",
        show_default=False,
    ),
]
ClearOption = Annotated[
    bool,
    typer.Option("--clear", help="Forget every key: the next run passes every row on (sends it)."),
]
LimitOption = Annotated[
    int, typer.Option("--limit", min=0, max=10_000, metavar="N", help="How many keys to list.")
]
OffsetOption = Annotated[
    int, typer.Option("--offset", min=0, metavar="N", help="Skip this many keys (the next page).")
]
YesOption = Annotated[
    bool,
    typer.Option("--yes", "-y", help="Do not ask first. Without a terminal, --clear needs --yes."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON (for scripts).")]


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
    key: KeyOption = None,
    delete: DeleteOption = None,
    clear: ClearOption = False,
    limit: LimitOption = 20,
    offset: OffsetOption = 0,
    yes: YesOption = False,
    as_json: JsonOption = False,
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
    show_hashes(ctx, "workflow", name, step, key, delete, clear, limit, offset, yes, as_json)


def transfer_hashes_command(
    ctx: typer.Context,
    name: Annotated[
        str,
        typer.Argument(metavar="NAME", help="The transfer's name.", show_default=False),
    ],
    key: KeyOption = None,
    delete: DeleteOption = None,
    clear: ClearOption = False,
    limit: LimitOption = 20,
    offset: OffsetOption = 0,
    yes: YesOption = False,
    as_json: JsonOption = False,
) -> None:
    """Show what a transfer's delta hashing remembers (iDMS's View Hashing Info).

    A transfer with a delta key keeps, for each row's key, the hash of the row it last sent, so
    the next run sends only the rows that are new or changed. This shows how many keys it keeps
    and lists them (--limit, --offset) with when each was stored; --key shows one. --delete
    forgets one key and --clear all of them: their rows are sent again by the next run.
    --clear asks first.

    Example: idms transfer hashes "LMS nightly"

    Example: idms transfer hashes "LMS nightly" --key 101

    Example: idms transfer hashes "LMS nightly" --delete 101

    Example: idms transfer hashes "LMS nightly" --clear --yes
    """
    show_hashes(ctx, "transfer", name, None, key, delete, clear, limit, offset, yes, as_json)


def show_hashes(
    ctx: typer.Context,
    kind: HashKind,
    name: str,
    step: str | None,
    key: str | None,
    delete: str | None,
    clear: bool,
    limit: int,
    offset: int,
    yes: bool,
    as_json: bool,
) -> None:
    """What both commands do, for a workflow's or a transfer's hashes."""
    if sum(x is not None for x in (key, delete)) + clear > 1:
        raise InvalidInputError("Give one of --key, --delete and --clear, not several.")
    with open_workspace(get_settings(ctx)) as workspace:
        owner = workspace.hash_owner(name, kind=kind)  # the name as saved, or refused
        name = owner.name
        if delete is not None:
            removed = workspace.delete_workflow_hash(name, delete, kind=kind, step=step)
            if as_json:
                print_json({kind: name, "step": step, "deleted": delete, "entries": removed})
                return
            where = f"step '{step}' of " if step else ""
            if kind == "workflow" and not step:
                where = f"{removed} step{'s' if removed != 1 else ''} of "
            print_line(
                f"Key '{delete}' forgotten in {where}{owner.label}: its next run "
                f"{owner.again('that row')} again."
            )
            return
        if clear:
            known = workspace.workflow_hashes(name, kind=kind, step=step, limit=0)  # asked first
            _confirm_clear(owner, step, known.count, yes=yes)
            cleared = workspace.clear_workflow_hashes(name, kind=kind, step=step)
            if as_json:
                print_json({kind: name, "step": step, "cleared": cleared})
                return
            print_line(
                f"{cleared:,} key{'s' if cleared != 1 else ''} forgotten"
                + (f" in step '{step}'" if step else "")
                + f" of {owner.label}: its next run {owner.again('every row')}."
            )
            return
        info = workspace.workflow_hashes(
            name, kind=kind, step=step, key=key, limit=limit, offset=offset
        )
    if as_json:
        print_json({kind: name, **info.as_dict()})
        return
    if key is not None:
        _print_key(owner, info)
    else:
        _print_listing(owner, info)


def _when(value: datetime | None) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S") if value is not None else ""


def _print_key(owner: HashOwner, info: HashingInfo) -> None:
    table = new_table("Step", "Key", "Hash (SHA-256 of the row)", "Stored")
    for entry in info.keys:
        table.add_row(entry.step, entry.key, entry.hash, _when(entry.updated_at))
    print_table(table)
    key = quote_arg(info.keys[0].key)
    command = f"idms {owner.kind} hashes {quote_arg(owner.name)} --delete {key}"
    print_note(f"So that the next run {owner.again('its row')} again: {command}")


def _print_listing(owner: HashOwner, info: HashingInfo) -> None:
    label = owner.label[0].upper() + owner.label[1:]
    where = f"Step '{info.step}' of {owner.label}" if info.step else label
    print_line(f"{where} keeps {info.count:,} key{'s' if info.count != 1 else ''}.")
    if not info.steps:
        print_note("Nothing is kept yet: the keys are kept once a run succeeds.")
        return
    if info.step is None and owner.kind == "workflow":
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


def _confirm_clear(owner: HashOwner, step: str | None, count: int, *, yes: bool) -> None:
    what = f"all {count:,} keys" + (f" of step '{step}'" if step else "")
    question = f"Forget {what} of {owner.label}? Its next run {owner.again('every row')}."
    if yes:
        return
    if not stdin_is_terminal():
        raise InvalidInputError(
            f"Forgetting {what} of {owner.label} needs confirmation: add --yes. Nothing "
            "was changed."
        )
    if not typer.confirm(question, err=True):
        print_note("Cancelled: nothing was changed.")
        raise typer.Exit(EXIT_FAILED)
