"""Auto-mapping: which field each column of a file goes to, and which mapped fields to match on.

iDMS's "Auto Matches" proposes field mappings from the column names once the source is chosen
(idms-features §9); the user then edits them. This is that proposal, made the same way for the
command line (``idms import FILE --auto-map``) and the web wizard (``Workspace.suggest_mapping``):

* a column goes to the field whose canonical name, iDMS label or known alias it is (compared
  without case, spaces or punctuation: :func:`~idms.sources.model.fold`), else to the one field
  it closely resembles; several fields equally close, or none, leave it unmapped, with the
  closest ones as alternatives;
* each field takes at most one column (iDMS: map each column once): the better match wins, the
  other column is left unmapped saying why;
* the match keys ticked are the ones the source declares: its identity when the file has it,
  else its fallback keys in order (``SourceDef.fallback_keys``); an insert-with-matching job that
  finds its contact takes the Contact's fallback keys (Email + Last Name ...); an insert ticks
  none (iDMS matches on the iMIS ID by itself).

It is deterministic: the same headers always give the same proposal, and each proposal says in
plain words how it was found.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from difflib import SequenceMatcher
from typing import Any, Literal

from idms.sources.catalog import BY_NAME
from idms.sources.model import Action, FieldDef, SourceDef, fold
from idms.values.types import FieldType

How = Literal["given", "name", "label", "alias", "similar"]

# How sure each way of finding a field is. A resemblance scores below any declared spelling.
CONFIDENCE: dict[str, float] = {"exact": 1.0, "label": 0.95, "name": 0.95, "alias": 0.9}
SIMILAR = 0.85  # how alike (0..1, difflib) a header and a spelling must be to be proposed
CLOSE = 0.6  # how alike they must be to be listed as an alternative
UNLIKELY_SAMPLES = 0.3  # taken off when the column's sample values do not fit the field's type


@dataclass(frozen=True)
class ColumnProposal:
    """What became of one column: the field it maps to (``field`` is None when unmapped), how
    that was found and how sure it is, why (in words), and the other fields it could be."""

    column: str
    field: str | None = None
    label: str | None = None
    how: How | None = None
    confidence: float = 0.0
    reason: str = ""
    alternatives: tuple[str, ...] = ()
    match: bool = False
    on_contact: bool = False  # an insert-with-matching key: a field of the contact it finds

    @property
    def reference(self) -> str | None:
        """The field as a job's mapping names it (``Contact.Email`` for a contact key)."""
        if self.field is None:
            return None
        return f"Contact.{self.field}" if self.on_contact else self.field

    def to_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "field": self.reference,
            "label": self.label,
            "how": self.how,
            "confidence": round(self.confidence, 2),
            "match": self.match,
            "reason": self.reason,
            "alternatives": list(self.alternatives),
        }


@dataclass(frozen=True)
class MappingProposal:
    """Every column's proposal, in the file's order, and the match keys ticked (and why)."""

    source: str
    action: str | None
    columns: tuple[ColumnProposal, ...]
    match_keys: tuple[str, ...] = ()
    match_reason: str = ""
    notes: tuple[str, ...] = field(default=())

    @property
    def mapped(self) -> list[ColumnProposal]:
        return [c for c in self.columns if c.field is not None]

    @property
    def unmapped(self) -> list[ColumnProposal]:
        return [c for c in self.columns if c.field is None]

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "action": self.action,
            "columns": [c.to_dict() for c in self.columns],
            "match_keys": list(self.match_keys),
            "match_reason": self.match_reason,
        }


@dataclass(frozen=True)
class _Candidate:
    fdef: FieldDef
    how: How
    confidence: float
    spelling: str


def suggest_mapping(
    source: SourceDef,
    headers: Sequence[str],
    *,
    action: Action | str | None = None,
    platform: str | None = None,
    samples: Mapping[str, Sequence[Any]] | None = None,
    keep: Mapping[str, str] | None = None,
    reserved: Collection[str] = (),
    contact: SourceDef | None = None,
) -> MappingProposal:
    """Propose a field for each of ``headers`` and the match keys for ``action``.

    ``platform`` limits the fields to those of an iMIS platform (``ems``, ``2017``);
    ``samples`` gives a few values per column (a column whose values do not fit a field's type is
    less likely to be it); ``keep`` is the columns the user has mapped already (column -> field
    reference), which stand as given; ``reserved`` names fields given otherwise (a constant),
    which no column takes. ``contact`` is the Contact source an insert-with-matching job finds
    its contact in (default: the built-in one)."""
    act = Action(action) if action is not None else None
    fields = source.fields_on(platform) if platform else list(source.fields)
    order = {f.name: i for i, f in enumerate(fields)}
    keep = {fold(c): f for c, f in (keep or {}).items()}
    taken: dict[str, str] = {}  # field name -> the column (or constant) that has it
    for reference in reserved:
        found = source.find_field(reference)
        if found is not None:
            taken[found.name] = ""
    proposals: dict[str, ColumnProposal] = {}
    wanted: list[tuple[int, str, _Candidate, list[FieldDef], list[FieldDef]]] = []
    for index, column in enumerate(headers):
        if fold(column) in keep:
            reference = keep[fold(column)]
            found = source.find_field(reference)
            proposals[column] = ColumnProposal(
                column,
                found.name if found else reference,
                found.label if found else None,
                "given",
                1.0,
                f"'{column}' is mapped to {reference} as you said.",
            )
            if found is not None:
                taken[found.name] = column
            continue
        ranked = _candidates(column, fields, order, (samples or {}).get(column))
        close = [f for f in _close_fields(column, fields) if f not in [c.fdef for c in ranked]]
        if not ranked:
            proposals[column] = ColumnProposal(
                column,
                reason=_nothing_reason(column, source, close),
                alternatives=tuple(f.name for f in close),
            )
            continue
        best = ranked[0]
        rivals = [c for c in ranked[1:] if c.confidence >= best.confidence]
        if rivals:
            names = [best.fdef.label, *(c.fdef.label for c in rivals)]
            proposals[column] = ColumnProposal(
                column,
                reason=f"'{column}' could be {_either(names)}: choose one.",
                alternatives=tuple(c.fdef.name for c in ranked),
            )
            continue
        wanted.append((index, column, best, [c.fdef for c in ranked[1:]], close))

    # The better match takes a field wanted by two columns; on a tie, the earlier column.
    for _index, column, best, others, close in sorted(
        wanted, key=lambda w: (-w[2].confidence, w[0])
    ):
        f = best.fdef
        alternatives = tuple(o.name for o in others)
        holder = taken.get(f.name)
        if holder is not None:
            if holder == "":
                why = f"{f.label} is already given a constant."
            else:
                held = proposals[holder]
                if held.how == "given":
                    better = "is mapped to it"
                elif held.confidence > best.confidence:
                    better = "matches it better"
                else:
                    better = "comes first"
                why = f"'{column}' also looks like {f.label}, but '{holder}' {better}."
            proposals[column] = ColumnProposal(
                column, reason=why, alternatives=(f.name, *alternatives, *(o.name for o in close))
            )
            continue
        if f.unsupported:
            proposals[column] = ColumnProposal(
                column,
                reason=f"'{column}' is {f.label}, which cannot be mapped: it is {f.unsupported}.",
                alternatives=alternatives,
            )
            continue
        taken[f.name] = column
        proposals[column] = ColumnProposal(
            column,
            f.name,
            f.label,
            best.how,
            best.confidence,
            _found_reason(column, best),
            alternatives,
        )

    columns = [proposals[c] for c in headers]
    blank = {c for c, values in (samples or {}).items() if values and not _filled(values)}
    columns, keys, why = _tick_match_keys(source, act, columns, contact, platform, blank)
    return MappingProposal(source.name, act.value if act else None, tuple(columns), keys, why)


# ---- finding a column's field ------------------------------------------------------------------


def _candidates(
    column: str, fields: list[FieldDef], order: Mapping[str, int], samples: Sequence[Any] | None
) -> list[_Candidate]:
    """The fields ``column`` may be, best first (one entry per field, its best spelling)."""
    wanted = fold(column)
    stripped = column.strip()
    found: dict[str, _Candidate] = {}

    def offer(c: _Candidate) -> None:
        if c.fdef.name not in found or found[c.fdef.name].confidence < c.confidence:
            found[c.fdef.name] = c

    for f in fields:
        if stripped == f.label:
            offer(_Candidate(f, "label", CONFIDENCE["exact"], f.label))
        elif stripped == f.name:
            offer(_Candidate(f, "name", CONFIDENCE["exact"], f.name))
        elif wanted == fold(f.label):
            offer(_Candidate(f, "label", CONFIDENCE["label"], f.label))
        elif wanted == fold(f.name):
            offer(_Candidate(f, "name", CONFIDENCE["name"], f.name))
        else:
            alias = next((a for a in f.aliases if fold(a) == wanted), None)
            if alias is not None:
                offer(_Candidate(f, "alias", CONFIDENCE["alias"], alias))
    if not found and wanted:
        for f in fields:
            spelling, ratio = _likeness(wanted, f)
            if ratio >= SIMILAR:
                offer(_Candidate(f, "similar", round(ratio * 0.8, 2), spelling))
    ranked = [_fitted(c, samples) for c in found.values()]
    return sorted(ranked, key=lambda c: (-c.confidence, order[c.fdef.name]))


def _likeness(wanted: str, f: FieldDef) -> tuple[str, float]:
    """The spelling of ``f`` most like ``wanted`` (folded), and how alike (0..1)."""
    scored = [(s, SequenceMatcher(None, wanted, fold(s)).ratio()) for s in (f.label, f.name)]
    scored += [(a, SequenceMatcher(None, wanted, fold(a)).ratio()) for a in f.aliases]
    return max(scored, key=lambda s: s[1])


def _close_fields(column: str, fields: list[FieldDef]) -> list[FieldDef]:
    """Fields somewhat like ``column`` (the alternatives offered), closest first."""
    wanted = fold(column)
    if not wanted:
        return []
    scored = [(f, _likeness(wanted, f)[1]) for f in fields]
    close = [(f, r) for f, r in scored if CLOSE <= r < SIMILAR]
    return [f for f, _ in sorted(close, key=lambda s: -s[1])][:3]


def _fitted(c: _Candidate, samples: Sequence[Any] | None) -> _Candidate:
    """``c``, less sure when the column's sample values cannot be of the field's type."""
    values = [str(v).strip() for v in samples or () if v is not None and str(v).strip()]
    if not values or _values_fit(c.fdef.type, values):
        return c
    return _Candidate(
        c.fdef, c.how, round(max(c.confidence - UNLIKELY_SAMPLES, 0.0), 2), c.spelling
    )


def _values_fit(ftype: FieldType, values: list[str]) -> bool:
    if ftype is FieldType.EMAIL:
        return any("@" in v for v in values)
    if ftype in (FieldType.INTEGER, FieldType.DECIMAL):
        return any(_is_number(v) for v in values)
    return True


def _filled(values: Sequence[Any]) -> bool:
    return any(v is not None and str(v).strip() for v in values)


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", ""))
    except ValueError:
        return False
    return True


def _found_reason(column: str, c: _Candidate) -> str:
    f = c.fdef
    shown = f.name if f.label == f.name else f"{f.name} ('{f.label}')"
    if c.how == "similar":
        return f"'{column}' looks like {shown} ({c.spelling!r}); check it."
    if c.how == "alias":
        return f"'{column}' is a usual name for {shown}."
    what = "label" if c.how == "label" else "name"
    if column.strip() == c.spelling:
        return f"'{column}' is the {what} of {f.name}."
    return f"'{column}' is the {what} of {shown}, written differently."


def _nothing_reason(column: str, source: SourceDef, close: list[FieldDef]) -> str:
    if not close:
        return f"{source.label} has no field called '{column}' or anything like it."
    return (
        f"{source.label} has no field called '{column}'; it may be "
        f"{_either([f.label for f in close])}: choose one if so."
    )


def _either(names: Sequence[str]) -> str:
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " or " + names[-1]


# ---- match keys --------------------------------------------------------------------------------


def _tick_match_keys(
    source: SourceDef,
    action: Action | None,
    columns: list[ColumnProposal],
    contact: SourceDef | None,
    platform: str | None,
    blank: set[str],
) -> tuple[list[ColumnProposal], tuple[str, ...], str]:
    """The columns with their match keys ticked, the keys, and why those keys. A column whose
    sample values are all blank is no key (iDMS's "Skip Blank Match On" would skip its rows)."""
    if action is None:
        return _drop_read_only(source, columns, set()), (), "No action given: no match keys."
    if action is Action.INSERT:
        why = "An insert matches no existing records (iDMS finds the contact by iMIS ID)."
        return _drop_read_only(source, columns, set()), (), why
    if action is Action.INSERT_WITH_MATCHING and source.insert_with_matching == "find_contact":
        return _contact_keys(source, columns, contact, platform, blank)
    mapped = {c.field: i for i, c in enumerate(columns) if c.field is not None}
    empty = [k for k, i in mapped.items() if columns[i].column in blank]
    mapped = {k: i for k, i in mapped.items() if k not in empty}
    optional = set(source.match_when_mapped)
    sets = [tuple(k for k in source.identity if k not in optional), *source.fallback_keys]
    for keys in sets:
        if keys and all(k in mapped for k in keys):
            ticked = [*keys, *(k for k in source.identity if k in optional and k in mapped)]
            columns = [_ticked(c) if c.field in ticked and not c.on_contact else c for c in columns]
            first = " + ".join(sets[0])
            if keys == sets[0]:
                why = f"Matched on {first}: the key that names one record."
            else:
                missing = "blank in the file's first rows" if empty else "not in the file"
                why = (
                    f"Matched on {' + '.join(ticked)}: {first} is {missing}, and this is the "
                    "next best key."
                )
            return _drop_read_only(source, columns, set(ticked)), tuple(ticked), why
    offered = " or ".join(" + ".join(k) for k in sets if k)
    why = f"No column gives a match key for {source.label}: map {offered} and match on it."
    return _drop_read_only(source, columns, set()), (), why


def _contact_keys(
    source: SourceDef,
    columns: list[ColumnProposal],
    contact: SourceDef | None,
    platform: str | None,
    blank: set[str],
) -> tuple[list[ColumnProposal], tuple[str, ...], str]:
    """Insert with matching: the rows' contacts are found by the Contact's fallback keys."""
    if contact is None:
        contact = BY_NAME["Contact"]
    # iDMS: with the iMIS ID in hand, insert (it matches on it); this action is for rows
    # without it, and the job is refused when it maps one.
    columns = [
        ColumnProposal(
            c.column,
            reason=f"'{c.column}' is the iMIS ID: insert with matching finds the contact by "
            "other fields. With the iMIS ID in hand, use insert instead.",
            alternatives=("ImisId",),
        )
        if c.field == "ImisId" and c.how != "given"
        else c
        for c in columns
    ]
    wanted = {k for keys in contact.fallback_keys for k in keys}
    offered = contact.fields_on(platform) if platform else contact.fields
    fields = [f for f in offered if f.name in wanted]
    order = {f.name: i for i, f in enumerate(fields)}
    found: dict[str, int] = {}
    for i, c in enumerate(columns):
        if c.how == "given" or c.column in blank:
            continue
        ranked = _candidates(c.column, fields, order, None)
        if ranked and ranked[0].fdef.name not in found and ranked[0].how != "similar":
            found[ranked[0].fdef.name] = i
    for keys in contact.fallback_keys:
        if all(k in found for k in keys):
            columns = list(columns)
            for k in keys:
                i = found[k]
                best = _candidates(columns[i].column, fields, order, None)[0]
                columns[i] = ColumnProposal(
                    columns[i].column,
                    k,
                    best.fdef.label,
                    best.how,
                    best.confidence,
                    _found_reason(columns[i].column, best) + " It finds the contact.",
                    match=True,
                    on_contact=True,
                )
            refs = tuple(f"Contact.{k}" for k in keys)
            why = f"Each row's contact is found by {' + '.join(keys)} (insert with matching)."
            return _drop_read_only(source, columns, set()), refs, why
    keys_text = " or ".join(" + ".join(k) for k in contact.fallback_keys)
    why = f"No column finds the contact: insert with matching needs {keys_text}."
    return _drop_read_only(source, columns, set()), (), why


def _ticked(c: ColumnProposal) -> ColumnProposal:
    return replace(c, match=True)


def _drop_read_only(
    source: SourceDef, columns: list[ColumnProposal], keys: set[str]
) -> list[ColumnProposal]:
    """Read-only fields may only be match keys: a column proposed for one that is not a key
    is left unmapped, saying so."""
    kept = []
    for c in columns:
        f = source.find_field(c.field) if c.field and not c.on_contact else None
        if f is not None and f.read_only and c.how != "given" and f.name not in keys:
            c = ColumnProposal(
                c.column,
                reason=f"'{c.column}' is {f.label}, which iMIS sets: it can only be a match key, "
                "and this job does not match on it.",
                alternatives=(f.name, *c.alternatives),
            )
        kept.append(c)
    return kept
