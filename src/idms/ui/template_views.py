"""What the templates pages show, made from the facade's answers: a template's document as it
may be shown (a password constant masked, as ``idms template show`` masks it), in words, and
the schedules that run it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from idms.schedules.model import ScheduleInfo
from idms.state.templates import TemplateInfo
from idms.ui.import_views import OPTIONS
from idms.ui.schedule_views import OUTCOME_TONES, local_time

OPTION_LABELS = {name: label for name, label, _kind, _text in OPTIONS}


@dataclass(frozen=True)
class ScheduleLink:
    name: str
    timing: str
    state: str
    last: str  # "succeeded, Mon 2026-03-09 02:00 EST", or "never run"
    last_tone: str


@dataclass(frozen=True)
class TemplateRow:
    name: str
    description: str
    source: str
    action: str
    mapping: str  # "4 columns, matched on Email; 1 constant"
    options: str  # "blank values: clear", or "default options"
    schedules: list[ScheduleLink]
    updated: str
    path: str  # /templates/NAME, quoted


@dataclass(frozen=True)
class MappingLine:
    column: str  # the file's column, or "" for a constant
    field: str
    match: bool
    how: str  # the date format, the value map, the constant's value (masked when sealed)


@dataclass(frozen=True)
class TemplateDetail:
    row: TemplateRow
    columns: list[MappingLine]
    constants: list[MappingLine]
    match_keys: list[str]
    options: list[tuple[str, str]]  # (label, value)
    own_input: str  # the input the template keeps (a saved query), "" when run on a file
    masked: list[str]  # fields whose constant is stored encrypted and shown masked
    schedule_path: str  # /schedules/new?template=NAME
    import_path: str  # /import?template=NAME


def _mappings(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    found = document.get("mappings")
    return [m for m in found if isinstance(m, dict)] if isinstance(found, list) else []


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def mapping_summary(document: Mapping[str, Any]) -> str:
    mappings = _mappings(document)
    columns = [m for m in mappings if m.get("column") is not None]
    keys = [str(m.get("field")) for m in columns if m.get("match")]
    keys += [str(k) for k in document.get("match_on") or [] if str(k) not in keys]
    constants = len(mappings) - len(columns)
    text = _plural(len(columns), "column")
    if keys:
        text += f", matched on {', '.join(keys)}"
    if constants:
        text += f"; {_plural(constants, 'constant')}"
    return text


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "none" if value is None else str(value)


def option_pairs(document: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The options the template sets (those left at their default are not stored)."""
    options = document.get("options")
    if not isinstance(options, dict):
        return []
    return [
        (OPTION_LABELS.get(name, name.replace("_", " ")), _value(value))
        for name, value in options.items()
    ]


def schedule_link(info: ScheduleInfo) -> ScheduleLink:
    outcome = info.last_outcome or ("not finished" if info.last_run_id else "")
    last = outcome.replace("_", " ") if outcome else "never run"
    if info.last_fire_at is not None and outcome:
        last += f", {local_time(info.last_fire_at, info.zone)}"
    return ScheduleLink(
        name=info.name,
        timing=info.in_words(),
        state=info.state,
        last=last,
        last_tone=OUTCOME_TONES.get(outcome, "quiet"),
    )


def template_row(info: TemplateInfo, schedules: Sequence[ScheduleInfo]) -> TemplateRow:
    document = info.document
    options = option_pairs(document)
    return TemplateRow(
        name=info.name,
        description=info.description,
        source=str(document.get("source", "")),
        action=str(document.get("action", "")),
        mapping=mapping_summary(document),
        options="; ".join(f"{label}: {value}" for label, value in options) or "default options",
        schedules=[schedule_link(s) for s in schedules],
        updated=info.updated_at.strftime("%Y-%m-%d %H:%M UTC"),
        path=f"/templates/{quote(info.name, safe='')}",
    )


def template_rows(
    infos: Sequence[TemplateInfo], schedules: Mapping[str, Sequence[ScheduleInfo]]
) -> list[TemplateRow]:
    return [template_row(i, schedules.get(i.name, ())) for i in infos]


def _how(mapping: Mapping[str, Any]) -> str:
    parts = []
    if mapping.get("format"):
        parts.append(f"read as {mapping['format']}")
    values = mapping.get("values")
    if isinstance(values, dict) and values:
        shown = ", ".join(f"{k} → {v}" for k, v in list(values.items())[:5])
        more = len(values) - 5
        parts.append(f"values: {shown}" + (f" and {more} more" if more > 0 else ""))
    if mapping.get("template"):
        parts.append(f"from {mapping['template']}")
    if mapping.get("append"):
        parts.append("added to what is stored")
    return "; ".join(parts)


def _input_words(spec: Any) -> str:
    if isinstance(spec, dict) and spec.get("query"):
        params = spec.get("params") or {}
        given = ", ".join(f"{k} = {v}" for k, v in params.items())
        return f"saved query '{spec['query']}'" + (f" ({given})" if given else "")
    if isinstance(spec, dict) and spec.get("file"):
        return f"the file {spec['file']}"
    return f"the file {spec}" if isinstance(spec, str) and spec else ""


def template_detail(
    info: TemplateInfo, schedules: Sequence[ScheduleInfo], shown: Mapping[str, Any]
) -> TemplateDetail:
    """``shown``: the template's document with its input file as a person may see it
    (``upload:ID``, or its path in an input folder; never the server's path)."""
    document = info.document
    mappings = _mappings(document)
    columns = [
        MappingLine(str(m["column"]), str(m.get("field", "")), bool(m.get("match")), _how(m))
        for m in mappings
        if m.get("column") is not None
    ]
    constants = [
        MappingLine("", str(m.get("field", "")), False, _value(m.get("value")))
        for m in mappings
        if m.get("column") is None
    ]
    keys = [c.field for c in columns if c.match]
    keys += [str(k) for k in document.get("match_on") or [] if str(k) not in keys]
    name = urlencode({"template": info.name})
    return TemplateDetail(
        row=template_row(info, schedules),
        columns=columns,
        constants=constants,
        match_keys=keys,
        options=option_pairs(document),
        own_input=_input_words(shown.get("input")),
        masked=info.masked,
        schedule_path=f"/schedules/new?{name}",
        import_path=f"/import?{name}",
    )
