"""``idms sources [SOURCE]``: what the target offers, and everything about one source."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.padding import Padding
from rich.text import Text

from idms.cli.context import get_settings
from idms.cli.output import new_table, out, print_json, print_line, print_table
from idms.sources.model import Action, FieldDef, SourceDef
from idms.sources.registry import resolve_source

# Below this terminal width, tables are laid out more compactly.
NARROW = 110
PLATFORM_NAMES = {"ems": "iMIS EMS", "2017": "iMIS 2017", "embedded": "the embedded store"}


def sources_command(
    ctx: typer.Context,
    source: Annotated[
        str | None,
        typer.Argument(
            metavar="SOURCE",
            help="A source's name or label (Contact, 'Panel Volunteering'...). "
            "Leave it out to list every source.",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (the source definitions) instead of tables.")
    ] = False,
) -> None:
    """List the sources, or describe one source.

    Without SOURCE: every source on the target and platform, panels included, with its actions
    and match keys. With SOURCE: its keys, actions, platforms, required fields, rules and a
    table of its fields (read-only, write-only, secret and unsupported ones marked, with why).

    Example: idms sources UserCredentials
    """
    from idms.targets.factory import target_sources  # not for --help (test_cli_startup_imports)

    settings = get_settings(ctx)
    platform = settings.platform.value
    defs = target_sources(settings)
    if source is None:
        if as_json:
            print_json([s.to_dict() for s in defs])
        else:
            print_source_list(defs, platform)
        return
    sdef = resolve_source(source, defs)
    if as_json:
        print_json(sdef.to_dict())
    else:
        print_source(sdef, platform)


def _narrow() -> bool:
    console = out()
    return console.is_terminal and console.width < NARROW


# ---- the list ------------------------------------------------------------------------------


def actions_text(actions: frozenset[Action]) -> str:
    return ", ".join(a.value for a in Action if a in actions) or "(none)"


def platforms_text(platforms: frozenset[str]) -> str:
    return ", ".join(p for p in ("ems", "2017", "embedded") if p in platforms)


def print_source_list(defs: list[SourceDef], platform: str) -> None:
    """Name, label, actions, platforms and keys of each source; on a narrow terminal the
    label goes under the name, to leave the keys some room."""
    narrow = _narrow()
    columns = ["Source", "Actions", "Platforms", "Keys"]
    if not narrow:
        columns.insert(1, "Label")
    table = new_table(
        *columns,
        title=f"Sources on this target ({PLATFORM_NAMES.get(platform, platform)} rules)",
        no_wrap=("Actions", "Platforms"),
        min_width={"Source": 24},
    )
    for s in defs:
        actions = "\n".join(a.value for a in Action if a in s.actions_on(platform)) or "(none)"
        platforms = platforms_text(s.platforms)
        if narrow:
            name = Text(s.name)
            name.append("\n" + s.label, style="dim")
            table.add_row(name, actions, platforms.replace(", ", "\n"), s.keys)
        else:
            table.add_row(s.name, s.label, actions, platforms, s.keys)
    print_table(table)
    print_line()
    print_line("Details of one source: idms sources SOURCE   (e.g. idms sources Contact)")


# ---- one source ----------------------------------------------------------------------------


def field_type_text(f: FieldDef) -> str:
    text = f.type.value
    if f.max_length is not None and f.type.is_text:
        text += f"({f.max_length})"
    return text


def field_notes(f: FieldDef) -> str:
    """Everything a data manager should know about a field, in words."""
    notes: list[str] = []
    if f.unsupported:
        notes.append(f"UNSUPPORTED: {f.unsupported}")
    if f.secret:
        notes.append("secret: never shown or read back")
    if f.read_only:
        notes.append("read-only: shown in records, never written")
    if f.write_only and not f.secret:
        notes.append("write-only: never read back")
    if f.appendable:
        notes.append("multi-select: can append to the stored values")
    if f.platforms:
        notes.append("only on " + ", ".join(PLATFORM_NAMES.get(p, p) for p in sorted(f.platforms)))
    if f.aliases:
        notes.append("also called " + ", ".join(f.aliases))
    text = "; ".join(notes)
    if f.description:
        text = f"{text}. {f.description}" if text else f.description
    return text


def platform_restrictions(s: SourceDef) -> list[str]:
    """One line per platform with its own actions or notes."""
    lines: list[str] = []
    for p in sorted(set(s.platform_actions) | set(s.platform_notes)):
        parts = []
        if p in s.platform_actions:
            allowed = s.platform_actions[p]
            parts.append("only " + actions_text(allowed) if allowed else "no action")
        if p in s.platform_notes:
            parts.append(s.platform_notes[p])
        lines.append(f"{PLATFORM_NAMES.get(p, p)}: " + " — ".join(parts))
    return lines


def print_source(s: SourceDef, platform: str) -> None:
    console = out()
    console.print(Text(f"{s.name} — {s.label}", style="bold"), soft_wrap=True)
    console.print(Text(s.description), soft_wrap=True)
    console.print()
    kind = s.kind + (f" ({s.panel_kind}-instance)" if s.panel_kind else "")
    facts = [
        ("Kind", kind),
        ("Match keys", s.keys),
        ("Identity", " + ".join(s.identity)),
        (
            f"Actions ({PLATFORM_NAMES.get(platform, platform)})",
            actions_text(s.actions_on(platform)),
        ),
        ("Platforms", platforms_text(s.platforms)),
        ("Required on insert", s.required_on_insert_note or "(none)"),
    ]
    width = max(len(k) for k, _ in facts) + 2
    for key, value in facts:
        line = Text(f"{key + ':':<{width}}", style="bold")
        line.append(value)
        console.print(line, soft_wrap=True)
    restrictions = platform_restrictions(s)
    if restrictions:
        console.print()
        console.print(Text("Platform restrictions:", style="bold"))
        for restriction in restrictions:
            console.print(Text(f"  - {restriction}"), soft_wrap=True)
    if s.rules:
        console.print()
        console.print(Text("Rules:", style="bold"))
        for rule in s.rules:
            console.print(Text(f"  - {rule}"), soft_wrap=True)
    console.print()
    print_fields(s)


def print_fields(s: SourceDef) -> None:
    if _narrow():
        print_fields_stacked(s)
        return
    table = new_table(
        "Field",
        "Label",
        "Type",
        "Required",
        "Lookup",
        "Default",
        "Notes",
        title=f"Fields of {s.name}",
        no_wrap=("Field", "Type"),
    )
    for f in s.fields:
        style = "dim" if f.unsupported else None
        table.add_row(
            f.name,
            f.label,
            field_type_text(f),
            "yes" if f.required_on_insert else "",
            f.lookup or "",
            f.default.describe() if f.default else "",
            field_notes(f),
            style=style,
        )
    print_table(table)


def print_fields_stacked(s: SourceDef) -> None:
    """The fields of ``s`` one block each: name, label and facts, then the notes indented."""
    console = out()
    console.print(Text(f"Fields of {s.name}", style="bold"))
    for f in s.fields:
        facts = [f.label, field_type_text(f)]
        if f.required_on_insert:
            facts.append("required on insert")
        if f.lookup:
            facts.append(f"lookup {f.lookup}")
        if f.default:
            facts.append(f"default: {f.default.describe()}")
        line = Text(f.name, style="bold dim" if f.unsupported else "bold")
        line.append("  " + " · ".join(facts), style="dim" if f.unsupported else "")
        console.print(line)
        notes = field_notes(f)
        if notes:
            console.print(Padding(Text(notes, style="dim" if f.unsupported else ""), (0, 0, 0, 4)))
