"""What the runs pages show, made from the facade's answers: plain strings, links and flags,
so the templates only place them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from idms.facade.history import RowsPage, RunActions
from idms.runs.record import RunInfo
from idms.runs.rows import RowResult
from idms.runs.search import STATUS_GROUPS
from idms.runs.status import STEP_KINDS, Outcome, RunStatus
from idms.ui.views import STATUS_TONES, STATUS_WORDS, counts_text, when

STAMPS = frozenset({"UpdatedOn", "CreatedOn", "UpdatedBy", "CreatedBy"})
ARROW = "→"
GROUP_WORDS = {"problems": "Failed or with errors"}
OUTCOME_WORDS = {
    "inserted": "Inserted",
    "updated": "Updated",
    "unchanged": "Unchanged",
    "deleted": "Deleted",
    "skipped": "Skipped",
    "error": "Error",
}
OUTCOME_TONES = {"error": "bad", "skipped": "warn", "inserted": "ok", "updated": "ok"}


def who(started_by: str | None) -> str:
    """Who started a run, in words: "ann (web)", "zapier (API token)", "cli: ann"..."""
    if not started_by:
        return "unknown"
    kind, _, name = started_by.partition(":")
    words = {
        "user": "web",
        "token": "API token",
        "cli": "command line",
        "schedule": "schedule",
    }
    if name and kind in words:
        return f"{name} ({words[kind]})"
    return started_by


@dataclass(frozen=True)
class RunLine:
    id: str
    href: str
    name: str
    kind: str
    status: str
    tone: str
    counts: str
    who: str
    when: str
    when_iso: str


def run_lines(infos: Sequence[RunInfo], root: str) -> list[RunLine]:
    return [
        RunLine(
            id=i.id,
            href=f"{root}/runs/{quote(i.id, safe='')}",
            name=i.name or "(no name)",
            kind=i.kind,
            status=STATUS_WORDS.get(i.status, i.status),
            tone=STATUS_TONES.get(i.status, "quiet"),
            counts=counts_text(i.counts),
            who=who(i.started_by),
            when=when(i.created_at),
            when_iso=i.created_at.isoformat(),
        )
        for i in infos
    ]


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    selected: bool


def status_choices(chosen: str) -> list[Choice]:
    values = [("", "Any status")]
    values += [(k, GROUP_WORDS.get(k, k)) for k in STATUS_GROUPS]
    values += [(s.value, STATUS_WORDS.get(s.value, s.value)) for s in RunStatus]
    return [Choice(v, label, v == chosen) for v, label in values]


def plain_choices(values: Sequence[str], chosen: str, any_label: str) -> list[Choice]:
    shown = [Choice("", any_label, not chosen)]
    shown += [Choice(v, who(v) if ":" in v else v, v == chosen) for v in values]
    if chosen and chosen not in values:  # a link to someone with no runs left
        shown.append(Choice(chosen, who(chosen), True))
    return shown


def outcome_choices(chosen: str) -> list[Choice]:
    return [Choice("", "Every row", not chosen)] + [
        Choice(o.value, OUTCOME_WORDS[o.value], o.value == chosen) for o in Outcome
    ]


def query(base: str, values: Mapping[str, str]) -> str:
    """``base`` with the non-blank ``values`` as its query."""
    kept = {k: v for k, v in values.items() if v}
    return f"{base}?{urlencode(kept)}" if kept else base


@dataclass(frozen=True)
class Fact:
    label: str
    value: str
    href: str = ""


def run_facts(info: RunInfo, root: str) -> list[Fact]:
    kind = info.kind + (" (a plan: nothing was written)" if info.plan_only else "")
    status = STATUS_WORDS.get(info.status, info.status)
    facts = [
        Fact("Name", info.name or "(no name)"),
        Fact("Kind", kind),
        Fact("Source", info.source),
        Fact("Action", info.action),
        Fact("Trigger", info.trigger),
        Fact("Started by", who(info.started_by)),
        Fact("Status", status),
        Fact("Created", when(info.created_at)),
        Fact("Started", when(info.started_at) or "not yet"),
        Fact("Finished", when(info.finished_at) or "not yet"),
    ]
    if info.message:
        facts.append(Fact("Message", info.message))
    if info.undo_of:
        facts.append(Fact("Undo of", f"run {info.undo_of}", f"{root}/runs/{info.undo_of}"))
    if info.undone_by:
        facts.append(Fact("Undone by", f"run {info.undone_by}", f"{root}/runs/{info.undone_by}"))
    if info.kind in STEP_KINDS:
        steps = info.steps
        text = (
            f"{steps['total']:,} ({steps['succeeded']:,} succeeded, {steps['failed']:,} failed, "
            f"{steps['skipped']:,} skipped)"
            if steps
            else "each step's input and output"
        )
        facts.append(Fact("Steps", text, f"{root}/workflows/runs/{info.id}"))
    return facts


def progress_text(info: RunInfo, to_do: int | None, rate: str = "") -> str:
    """Where a queued or running run is, for its page that follows it: "Running: 1,500 of
    4,000 rows so far (250 rows/s)." (of how many when known: an undo's); "" once ended."""
    if info.finished:
        return ""
    follows = "This page follows it until it ends."
    if info.status == RunStatus.QUEUED:
        return f"Queued: it starts as soon as an executor takes it. {follows}"
    rows = info.counts["rows"]
    done = (
        f"{rows:,} of {to_do:,} rows"
        if to_do is not None
        else f"{rows:,} row{'' if rows == 1 else 's'}"
    )
    return f"Running: {done} so far{f' ({rate})' if rate and rows else ''}. {follows}"


@dataclass(frozen=True)
class ActionButton:
    name: str  # cancel | resume | undo: the path under the run
    label: str
    confirm: str
    danger: bool


def action_buttons(info: RunInfo, actions: RunActions) -> list[ActionButton]:
    found = []
    if actions.cancel:
        found.append(
            ActionButton(
                "cancel",
                "Cancel the run",
                "Cancel this run? A queued run stops at once; a running one after its "
                "current row (what it wrote stays written).",
                True,
            )
        )
    if actions.resume:
        found.append(
            ActionButton(
                "resume",
                "Resume",
                "Queue this run again, to carry on from where it stopped?",
                False,
            )
        )
    if actions.undo:
        found.append(
            ActionButton(
                "undo",
                "Undo the run",
                f"Undo run {info.id}? What it inserted is removed, what it updated gets its "
                "earlier values, what it deleted comes back.",
                True,
            )
        )
    return found


@dataclass(frozen=True)
class RowLine:
    row_number: int
    outcome: str
    tone: str
    record: str
    details: str


def _many(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def value_text(value: Any) -> str:
    if value is None or value == "":
        return "(blank)"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) if value else "(none)"
    return str(value)


def _record(identity: Any) -> str:
    parts = []
    for one in _many(identity):
        if isinstance(one, Mapping):
            parts.append(", ".join(f"{k} {value_text(v)}" for k, v in one.items()))
    return "; ".join(parts)


def _values(values: Any, skip: set[str]) -> str:
    lines = []
    for one in _many(values):
        if isinstance(one, Mapping):
            lines.append(
                ", ".join(
                    f"{k}={value_text(v)}"
                    for k, v in one.items()
                    if v not in (None, "", []) and k not in skip and k not in STAMPS
                )
            )
    return "\n".join(line for line in lines if line)


def _diff(before: Any, after: Any) -> str:
    befores, afters = _many(before), _many(after)
    lines = []
    for i, new in enumerate(afters):
        old = befores[i] if i < len(befores) and isinstance(befores[i], Mapping) else {}
        if isinstance(new, Mapping):
            lines += [
                f"{k}: {value_text(old.get(k))} {ARROW} {value_text(v)}"
                for k, v in new.items()
                if old.get(k) != v and k not in STAMPS
            ]
    return "\n".join(lines)


def row_details(row: RowResult) -> str:
    """What happened to one row, in words: the change, or why there was none."""
    identity = {k for one in _many(row.identity) if isinstance(one, Mapping) for k in one}
    if row.outcome == "inserted":
        text = _values(row.after, identity)
    elif row.outcome == "updated":
        text = _diff(row.before, row.after)
    elif row.outcome == "deleted":
        text = _values(row.before, identity)
    else:
        text = ""
    if row.message:
        where = f" ({row.column})" if row.column else ""
        text = f"{text}\n{row.message}{where}" if text else f"{row.message}{where}"
    return text


def row_lines(page: RowsPage) -> list[RowLine]:
    return [
        RowLine(
            row_number=r.row_number,
            outcome=OUTCOME_WORDS.get(r.outcome, r.outcome),
            tone=OUTCOME_TONES.get(r.outcome, "quiet"),
            record=_record(r.identity),
            details=row_details(r),
        )
        for r in page.rows
    ]
