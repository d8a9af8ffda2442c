"""What the import wizard's pages show, made from the facade's answers: the detected facts, the
sources and their rules, the mapping rows, the options with their help, and a plan's rows with
their before → after changes (plain strings and flags; the templates only place them)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from idms.config import show_size
from idms.facade.imports import UploadLook
from idms.runs.record import RunInfo
from idms.runs.rows import RowResult
from idms.sources.automap import MappingProposal
from idms.sources.model import Action, SourceDef

PLATFORM_NAMES = {"ems": "iMIS EMS", "2017": "iMIS 2017", "embedded": "the embedded store"}
STEPS = ("Upload", "File", "Source", "Mapping", "Options", "Plan", "Run")
HOW_WORDS = {
    "given": "chosen by you",
    "name": "same name",
    "label": "iDMS label",
    "alias": "known alias",
    "similar": "similar name",
}
ACTION_HELP = {
    "insert": "Add every row as a new record.",
    "insert-with-matching": "Add a record for the contact each row finds (by its match keys).",
    "update": "Change the records each row finds; a row that finds none is an error.",
    "insert-update": "Change the record a row finds, or add one when it finds none.",
    "delete": "Remove the records the rows find.",
}


@dataclass(frozen=True)
class Step:
    number: int
    label: str
    href: str  # "" when it cannot be opened yet
    current: bool


def steps(
    root: str, key: str | None, current: int, reached: int, *, query: str | None = None
) -> list[Step]:
    """The wizard's steps: the ones already reached are links. A saved query's rows (an
    iUpdate) come in place of the upload and its file: its first step is the query's page."""
    paths = ("", "file", "source", "mapping", "options", "plan", "results")
    labels = ("Query", "Rows", *STEPS[2:]) if query is not None else STEPS
    out = []
    for n, label in enumerate(labels, start=1):
        if n == 1:
            href = f"{root}/queries/{quote(query, safe='')}" if query else f"{root}/import"
        elif key is not None and n <= reached and not (query and n == 2):
            href = f"{root}/import/{key}/{paths[n - 1]}"
        else:
            href = ""
        out.append(Step(n, label, href, n == current))
    return out


# ---- step 2: what was detected ----------------------------------------------------------------


@dataclass(frozen=True)
class Fact:
    label: str
    value: str


def detected_facts(look: UploadLook) -> list[Fact]:
    d = look.detected
    facts = [Fact("File", f"{look.upload.name} ({show_size(look.upload.size)})")]
    if d.format == "xlsx":
        facts.append(Fact("Format", "Excel workbook"))
        facts.append(Fact("Sheet", f"{d.sheet} (of {len(d.sheets)})"))
    else:
        facts.append(Fact("Format", "CSV (text)"))
        facts.append(Fact("Encoding", d.encoding_text()))
        facts.append(Fact("Delimiter", delimiter_text(d.delimiter)))
    facts.append(Fact("Header row", str(d.header_row)))
    facts.append(Fact("Columns", f"{len(d.columns)}"))
    facts.append(Fact("Rows", f"{look.rows:,}"))
    return facts


def delimiter_text(delimiter: str | None) -> str:
    names = {",": "comma (,)", ";": "semicolon (;)", "\t": "tab", "|": "pipe (|)"}
    return names.get(delimiter or "", repr(delimiter))


def preview_cells(look: UploadLook) -> list[list[str]]:
    """The first rows as text, column by column (their number first)."""
    return [
        [str(n), *(cell_text(row.get(c)) for c in look.detected.columns)]
        for n, row in zip(look.numbers, look.preview, strict=True)
    ]


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# ---- step 3: sources and actions ----------------------------------------------------------


@dataclass(frozen=True)
class SourceChoice:
    name: str
    label: str


@dataclass(frozen=True)
class ActionChoice:
    value: str
    help: str
    note: str  # why the platform or the source refuses it, when it does


@dataclass(frozen=True)
class SourceFacts:
    name: str
    label: str
    description: str
    keys: str
    platform: str
    actions: list[ActionChoice]
    refused: list[ActionChoice]
    rules: list[str]


def source_choices(defs: Iterable[SourceDef]) -> list[SourceChoice]:
    return [SourceChoice(s.name, s.label) for s in defs]


def source_facts(sdef: SourceDef, platform: str) -> SourceFacts:
    """A source as the wizard shows it: the actions it allows here, those it refuses (and
    why), its platform restrictions and rules (the notes the registry carries)."""
    allowed = sdef.actions_on(platform)
    actions: list[ActionChoice] = []
    refused: list[ActionChoice] = []
    for a in Action:
        note = sdef.action_notes.get(a)
        choice = ActionChoice(a.value, ACTION_HELP[a.value], note.job.rstrip(".") if note else "")
        (actions if a in allowed else refused).append(choice)
    rules = list(sdef.rules)
    if platform in sdef.platform_notes:
        rules.insert(
            0, f"{PLATFORM_NAMES.get(platform, platform)}: {sdef.platform_notes[platform]}"
        )
    if sdef.required_on_insert_note:
        rules.insert(0, f"Required on insert: {sdef.required_on_insert_note}")
    return SourceFacts(
        name=sdef.name,
        label=sdef.label,
        description=sdef.description,
        keys=sdef.keys,
        platform=PLATFORM_NAMES.get(platform, platform),
        actions=actions,
        refused=refused,
        rules=rules,
    )


# ---- step 4: the mapping --------------------------------------------------------------------


@dataclass(frozen=True)
class FieldChoice:
    value: str
    label: str


@dataclass(frozen=True)
class MappingRow:
    index: int
    column: str
    sample: str
    field: str  # "" = not loaded
    match: bool
    format: str
    values: str  # the value map, one "from = to" a line
    found: str  # how the field was found (or why the column is left out)


@dataclass(frozen=True)
class Constant:
    field: str
    value: str


def field_choices(sdef: SourceDef, proposal: MappingProposal | None) -> list[FieldChoice]:
    """The fields a column may go to (the writable ones), and the contact's fields the
    auto-mapping proposed (``Contact.Email``: how an insert-with-matching finds its contact)."""
    out = [FieldChoice(f.name, f"{f.label} ({f.name})") for f in sdef.fields if f.writable]
    known = {c.value for c in out}
    for c in proposal.mapped if proposal is not None else ():
        ref = c.reference
        if ref is not None and ref not in known:
            known.add(ref)
            out.append(FieldChoice(ref, f"{c.label or c.field} ({ref}, to find the contact)"))
    return out


def proposal_mappings(proposal: MappingProposal) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """A proposal as a job's mappings (match keys ticked), and by column how each was found."""
    mappings = []
    keys = set(proposal.match_keys)
    for c in proposal.mapped:
        entry: dict[str, Any] = {"field": c.reference, "column": c.column}
        if c.match or c.reference in keys or c.field in keys:
            entry["match"] = True
        mappings.append(entry)
    found = {c.column: found_text(c.how, c.confidence, c.reason) for c in proposal.columns}
    return mappings, found


def found_text(how: str | None, confidence: float, reason: str) -> str:
    if how is None:
        return reason
    return f"{HOW_WORDS.get(how, how)}, {confidence:.0%} sure — {reason}".rstrip(" —")


def mapping_rows(
    columns: Sequence[str],
    mappings: Sequence[Mapping[str, Any]],
    found: Mapping[str, str],
    samples: Mapping[str, Sequence[Any]],
) -> list[MappingRow]:
    by_column = {str(m["column"]): m for m in mappings if m.get("column") is not None}
    rows = []
    for i, column in enumerate(columns):
        m = by_column.get(column, {})
        shown = [cell_text(v) for v in samples.get(column, ()) if cell_text(v)][:3]
        rows.append(
            MappingRow(
                index=i,
                column=column,
                sample=", ".join(shown),
                field=str(m.get("field") or ""),
                match=bool(m.get("match")),
                format=str(m.get("format") or ""),
                values=value_map_text(m.get("values")),
                found=found.get(column, "") if m else found.get(column, "not loaded"),
            )
        )
    return rows


def value_map_text(values: Mapping[str, Any] | None) -> str:
    return "\n".join(f"{k} = {cell_text(v)}" for k, v in (values or {}).items())


def parse_value_map(text: str, column: str) -> tuple[dict[str, str], list[str]]:
    """A value map as typed, one ``from = to`` a line (blank lines ignored): the map, and what
    is wrong with it, in words."""
    found: dict[str, str] = {}
    problems = []
    for line in text.splitlines():
        if not line.strip():
            continue
        before, sep, after = line.partition("=")
        if not sep or not before.strip():
            problems.append(
                f"The value map of column {column} has a line without 'from = to': "
                f"{line.strip()!r}."
            )
            continue
        found[before.strip()] = after.strip()
    return found, problems


def constants(mappings: Sequence[Mapping[str, Any]]) -> list[Constant]:
    return [
        Constant(str(m["field"]), cell_text(m.get("value")))
        for m in mappings
        if m.get("column") is None and m.get("template") is None
    ]


# ---- step 5: options ------------------------------------------------------------------------


@dataclass(frozen=True)
class OptionView:
    name: str
    label: str
    help: str
    kind: str  # "bool" | "choice" | "number"
    value: str
    choices: tuple[str, ...] = ()


OPTIONS: tuple[tuple[str, str, str, str], ...] = (
    (
        "blank_values",
        "Empty cells",
        "choice",
        "ignore: an empty cell leaves the stored value as it is; clear: it empties the field.",
    ),
    (
        "skip_identical",
        "Skip identical inserts",
        "bool",
        "Skip a row that would insert a record identical to one already stored (otherwise it "
        "is inserted, with a warning).",
    ),
    (
        "duplicate_check",
        "Refuse duplicates",
        "bool",
        "Skip a row that would add a second identical record (event registrations, for one).",
    ),
    (
        "skip_validation",
        "Skip validation",
        "bool",
        "Do not check codes against their lookup tables: the codes are written as given.",
    ),
    (
        "skip_update_if_multiple_matches",
        "Skip when several records match",
        "bool",
        "A row whose match keys find more than one record is skipped rather than updating "
        "them all (iDMS: Skip Update If More Than 1 Record Found).",
    ),
    (
        "insert_only_when_no_match",
        "Insert only, never update",
        "bool",
        "insert-update: add a record when a row finds none, and leave found records alone.",
    ),
    (
        "skip_blank_match_on",
        "Skip rows with empty match keys",
        "bool",
        "A row whose match key cells are empty is skipped instead of matching on nothing.",
    ),
    (
        "stop_after_errors",
        "Stop after this many errors",
        "number",
        "End the run once this many rows have failed (empty: never stop).",
    ),
)
BLANK_CHOICES = ("ignore", "clear")


def option_views(values: Mapping[str, Any], defaults: Mapping[str, Any]) -> list[OptionView]:
    out = []
    for name, label, kind, text in OPTIONS:
        value = values.get(name, defaults.get(name))
        shown = (
            ("yes" if value else "") if kind == "bool" else ("" if value is None else str(value))
        )
        choices = BLANK_CHOICES if kind == "choice" else ()
        out.append(OptionView(name, label, text, kind, shown, choices))
    return out


# ---- step 6: the plan -----------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    field: str
    before: str
    after: str


@dataclass(frozen=True)
class PlanRow:
    number: int
    outcome: str
    tone: str
    message: str
    where: str
    changes: list[Change]


OUTCOME_TONES = {"error": "bad", "inserted": "ok", "updated": "ok", "deleted": "warn"}


def plan_rows(rows: Iterable[RowResult]) -> list[PlanRow]:
    """Each row's outcome and what it changes: the fields whose value differs, before → after
    (an insert has no before; a delete no after)."""
    out = []
    for r in rows:
        before, after = r.before or {}, r.after or {}
        changes = [
            Change(k, cell_text(before.get(k)), cell_text(after.get(k)))
            for k in dict.fromkeys([*after, *before])
            if before.get(k) != after.get(k)
        ]
        where = ", ".join(x for x in (r.column and f"column {r.column}", r.field) if x)
        out.append(
            PlanRow(
                number=r.row_number,
                outcome=r.outcome,
                tone=OUTCOME_TONES.get(r.outcome, "quiet"),
                message=r.message or "",
                where=where,
                changes=changes,
            )
        )
    return out


# ---- step 7: the run ------------------------------------------------------------------------


def rate_text(info: RunInfo, now: datetime | None = None) -> str:
    """How fast the run went (or goes): "120 rows/s", or "" before it starts."""
    if info.started_at is None:
        return ""
    end = info.finished_at or now or datetime.now(UTC)
    seconds = max((end - info.started_at).total_seconds(), 0.001)
    return f"{info.counts['rows'] / seconds:,.0f} rows/s"
