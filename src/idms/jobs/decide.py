"""Deciding each row's fate for a batch: match (set-based), then insert, update, delete or skip.

One ``Target.match`` call per batch for the source (and one for Contact in insert-with-matching
jobs), never a query per row. Multiple matches follow "Skip Update If More Than 1 Record Found";
blank match values follow "Skip Blank Match On".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from idms.jobs.compile import CompiledJob
from idms.jobs.mapping import NOT_GIVEN
from idms.jobs.rows import WorkRow
from idms.runs.status import Outcome
from idms.sources.model import Action, FieldDef, SourceDef
from idms.targets.base import ChangeKind, Record, Target
from idms.values.folding import fold, fold_value
from idms.values.types import FieldType

# Whether two values of one field are the same (see same_value).
Comparer = Callable[[Any, Any], bool]

WRITE_OF = {"insert": ChangeKind.INSERT, "update": ChangeKind.UPDATE, "delete": ChangeKind.DELETE}


def match_key(row: WorkRow, fields: Sequence[str]) -> tuple[Any, ...]:
    """The row's match values, folded as the target compares them (text without case)."""
    values = row.values
    return tuple([_folded_criterion(values.get(f, NOT_GIVEN)) for f in fields])


def _folded_criterion(value: Any) -> Any:
    """``fold_value(_criterion(value))``: every row of a run is keyed by it."""
    return None if value is NOT_GIVEN else fold_value(value)


def _criterion(value: Any) -> Any:
    return None if value is NOT_GIVEN else value


def match_criterion(row: WorkRow, fields: Sequence[str]) -> dict[str, Any]:
    """The row's match values as ``Target.match`` is asked for them."""
    values = row.values
    return {f: _criterion(values.get(f, NOT_GIVEN)) for f in fields}


def decide_batch(
    cjob: CompiledJob,
    target: Target,
    rows: Sequence[WorkRow],
    *,
    pending: Mapping[tuple[Any, ...], Record] | None = None,
) -> None:
    """Set, for every undecided row, its write (``row.write``) or its outcome.

    ``pending`` holds records a plan has decided to insert earlier in the run, by match key, so a
    later row with the same key is planned as an update of it, as the real run would do.
    """
    options = cjob.job.options
    live = [r for r in rows if not r.decided]
    if cjob.contact_mappings:
        live = _find_contacts(cjob, target, live)
    source = cjob.source
    if cjob.action is Action.INSERT or (
        cjob.action is Action.INSERT_WITH_MATCHING and source.insert_with_matching == "find_contact"
    ):
        for row in live:
            row.write = "insert"
        if source.duplicate_check is not None and options.duplicate_check:
            _skip_duplicates(target, source, live)
        from idms.jobs.identical import flag_identical  # it builds on this module

        flag_identical(cjob, target, live, pending=pending)
        return
    fields = cjob.match_fields
    to_match: list[WorkRow] = []
    criteria: list[dict[str, Any]] = []
    skip_blank = options.skip_blank_match_on
    for row in live:
        criterion = match_criterion(row, fields)
        if skip_blank:
            blank = [f for f, value in criterion.items() if value in (None, "")]
            if blank:
                labels = ", ".join(cjob.source.field(f).label for f in blank)
                row.skip("blank_match_value", f"Skipped: the match value for {labels} is blank.")
                continue
        to_match.append(row)
        criteria.append(criterion)
    found = target.match(cjob.source.name, fields, criteria) if to_match else []
    unchanged = Unchanged(cjob.source)
    for row, matches in zip(to_match, found, strict=True):
        if not matches and pending is not None:
            planned = pending.get(match_key(row, fields))
            matches = [planned] if planned is not None else []
        row.matches = matches
        _decide_row(cjob, row, unchanged)


def _decide_row(cjob: CompiledJob, row: WorkRow, unchanged: Unchanged) -> None:
    options = cjob.job.options
    action = cjob.action
    n = len(row.matches)
    label = cjob.source.label
    if n > 1 and (options.skip_update_if_multiple_matches or action is Action.INSERT_WITH_MATCHING):
        row.skip(
            "multiple_matches",
            f"Skipped: {n} {label} records match this row (Skip Update If More Than 1 Record "
            "Found); match on more fields.",
        )
        return
    if action is Action.INSERT_WITH_MATCHING:  # on Contact: insert unless it exists
        if n == 0:
            row.write = "insert"
        else:
            who = row.matches[0].get("ImisId")
            row.skip("already_exists", f"Skipped: the contact already exists (iMIS ID {who}).")
        return
    if action is Action.DELETE:
        if n == 0:
            row.skip("no_match", f"Skipped: no {label} record matches this row; nothing to delete.")
        else:
            row.write = "delete"
        return
    if n == 0:
        if action is Action.INSERT_UPDATE:
            row.write = "insert"
        else:
            row.fail(
                "no_match",
                f"No {label} record matches this row, so there is nothing to update.",
            )
        return
    if action is Action.INSERT_UPDATE and options.insert_only_when_no_match:
        row.skip(
            "matched_insert_only",
            "Skipped: a record matches and the job inserts only when nothing matches.",
        )
        return
    row.write = "update"
    # An update that is an action (UserData's Is Locked Out: Yes is refused, as locking is not
    # supported, even on an account that is locked already) is always judged by the target.
    judged = cjob.source.update_is_an_action
    if not judged and all(unchanged(row, record) for record in row.matches):
        row.outcome = Outcome.UNCHANGED
        row.write = None


class Unchanged:
    """Whether writing a row's values would change nothing on a record of ``source``: each
    field's comparison (:func:`same_value`) chosen once, not looked up per value."""

    def __init__(self, source: SourceDef) -> None:
        self.source = source
        # None: a field never read back (a password) is never judged unchanged.
        self.compare: dict[str, Comparer | None] = {f.name: _comparer(f) for f in source.fields}

    def __call__(self, row: WorkRow, record: Record) -> bool:
        compare, append, current_of = self.compare, row.append, record.get
        for name, value in row.values.items():
            if value is NOT_GIVEN:
                continue
            try:
                same = compare[name]
            except KeyError:  # another name of a field (an alias): resolved as the job does
                same = compare[name] = _comparer(self.source.field(name))
            if same is None:
                return False
            current = current_of(name)
            if append and name in append and isinstance(value, tuple):
                value = tuple(dict.fromkeys(tuple(current or ()) + value))
            if not same(current, value):
                return False
        return True


def same_value(fdef: FieldDef, current: Any, new: Any) -> bool:
    """Whether ``current`` and ``new`` are the same value of ``fdef`` as the target compares
    them: blank (None or empty) equals blank; codes and multi-select codes without case;
    decimals by number; anything else by equality."""
    return comparison(fdef)(current, new)


def comparison(fdef: FieldDef) -> Comparer:
    """:func:`same_value` for the values of ``fdef``, chosen once for a batch's rows."""
    return _SAME.get(fdef.type, _same_plain)


def _comparer(fdef: FieldDef) -> Comparer | None:
    return None if fdef.write_only or fdef.secret else comparison(fdef)


def _same_plain(current: Any, new: Any) -> bool:
    """The rule for blanks, and equality for the rest: blank (None or "") against blank is the
    same value, None against a value that is not blank is not."""
    if current is None or new is None:
        return (current is None or current == "") and (new is None or new == "")
    return bool(current == new)


def _blank_first(compare: Comparer) -> Comparer:
    """``compare`` for two values given; blanks as :func:`_same_plain` judges them."""

    def same(current: Any, new: Any) -> bool:
        if current is None or new is None or (current == "" and new == ""):
            return _same_plain(current, new)
        return compare(current, new)

    return same


def _same_code(current: Any, new: Any) -> bool:
    return fold(str(current)) == fold(str(new))


def _same_codes(current: Any, new: Any) -> bool:
    return {fold(str(v)) for v in current} == {fold(str(v)) for v in new}


def _same_decimal(current: Any, new: Any) -> bool:
    return Decimal(str(current)) == Decimal(str(new))


_SAME: dict[FieldType, Comparer] = {
    FieldType.CODE: _blank_first(_same_code),
    FieldType.MULTISELECT: _blank_first(_same_codes),
    FieldType.DECIMAL: _blank_first(_same_decimal),
}


def _find_contacts(cjob: CompiledJob, target: Target, rows: list[WorkRow]) -> list[WorkRow]:
    """Insert with matching: find each row's contact from its contact fields; set its ImisId."""
    options = cjob.job.options
    fields = cjob.contact_match_fields
    ready: list[WorkRow] = []
    for row in rows:
        blank = [f for f in fields if _criterion(row.contact_values.get(f)) in (None, "")]
        if blank and options.skip_blank_match_on:
            row.skip(
                "blank_match_value",
                f"Skipped: the contact match value for {', '.join(blank)} is blank.",
            )
            continue
        ready.append(row)
    criteria = [{f: _criterion(r.contact_values.get(f)) for f in fields} for r in ready]
    found = target.match("Contact", fields, criteria) if ready else []
    out: list[WorkRow] = []
    for row, contacts in zip(ready, found, strict=True):
        described = " + ".join(f"{f} '{row.contact_values.get(f)}'" for f in fields)
        if not contacts:
            row.fail("contact_not_found", f"No contact matches {described}.")
        elif len(contacts) > 1:
            row.skip(
                "multiple_contacts",
                f"Skipped: {len(contacts)} contacts match {described}; match on more fields.",
            )
        else:
            row.values["ImisId"] = contacts[0]["ImisId"]
            out.append(row)
    return out


def _skip_duplicates(target: Target, source: SourceDef, rows: list[WorkRow]) -> None:
    """iMIS does not refuse a second identical registration; idms does (duplicate_check)."""
    check = source.duplicate_check
    assert check is not None
    fields = list(check.fields)
    criteria = [{f: _criterion(r.values.get(f, NOT_GIVEN)) for f in fields} for r in rows]
    found = target.match(source.name, fields, criteria) if rows else []
    seen: set[tuple[Any, ...]] = set()
    for row, wanted, existing in zip(rows, criteria, found, strict=True):
        key = tuple(fold_value(c) for c in wanted.values())
        if existing or key in seen:
            row.write = None
            row.skip(check.code, check.message)
        seen.add(key)
