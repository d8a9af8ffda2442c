"""Checking a job against the target and the input before anything is written.

Every problem is collected, each pointing at its mapping, and reported at once (``JobInvalid``).
What passes becomes a ``CompiledJob``: the source as the target describes it, compiled mappings,
match keys, and the vendor's job-level rules already enforced.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from idms.errors import IdmsError, suggest
from idms.jobs.mapping import CompiledMapping, compile_mapping
from idms.jobs.model import Job, JobInvalid, MappingSpec
from idms.sources.model import Action, FieldDef, SourceDef, fold
from idms.targets.base import Target

# Sources where one contact has many records: a delete matched on iMIS ID alone removes them all.
BROAD_DELETE_RISK = frozenset({"Activity", "GroupMember", "Relationship", "Address"})
# What a User Credentials update may map, said when it maps something else.
UNLOCK_ONLY = (
    "an update of User Credentials only unlocks accounts; map the match key(s) (for example "
    "the iMIS ID, match: true) and Unlock User Account, nothing else"
)


@dataclass
class CompiledJob:
    job: Job
    source: SourceDef
    action: Action
    platform: str
    mappings: list[CompiledMapping]  # written to the source (match keys included)
    contact_mappings: list[CompiledMapping]  # insert-with-matching: used to find the contact
    match_fields: list[str]  # fields of the source the rows are matched on
    columns: tuple[str, ...]

    @property
    def contact_match_fields(self) -> list[str]:
        return [m.field.name for m in self.contact_mappings]

    @property
    def secret_columns(self) -> frozenset[str]:
        return frozenset(m.column for m in self.mappings if m.secret and m.column)


def compile_without_input(job: Job, target: Target) -> CompiledJob:
    """``compile_job`` for a job whose input is not at hand (a template, a schedule's file read
    when it fires): the columns the job maps stand in for the input's."""
    return compile_job(job, target, [m.column for m in job.mappings if m.column is not None])


def compile_job(job: Job, target: Target, columns: Sequence[str]) -> CompiledJob:
    """The job ready to run, or JobInvalid listing every problem."""
    problems: list[str] = []
    platform = target.platform
    try:
        source = target.describe(job.source)
    except IdmsError as exc:
        raise JobInvalid([f"source: {exc.message}"], name=f"Job '{job.name}'") from None
    action = job.action
    allowed = source.actions_on(platform)
    if action not in allowed:
        problems.append(_action_problem(source, action, platform, allowed))

    contact: SourceDef | None = None
    if action is Action.INSERT_WITH_MATCHING and source.name != "Contact":
        contact = target.describe("Contact")

    by_column = {fold(c): c for c in columns}
    seen_fields: dict[str, int] = {}
    seen_columns: dict[str, int] = {}
    mappings: list[CompiledMapping] = []
    contact_mappings: list[CompiledMapping] = []
    blank_clears = job.options.blank_values == "clear"

    for i, spec in enumerate(job.mappings):
        where = f"mappings[{i}] (field '{spec.field}')"
        fdef, on_contact = _resolve_field(spec, source, contact, problems, where)
        if fdef is None:
            continue
        column = None
        if spec.column is not None:
            column = by_column.get(fold(spec.column))
            if column is None:
                close = suggest(spec.column, columns)
                hint = f" Did you mean '{close}'?" if close else ""
                listed = ", ".join(f"'{c}'" for c in columns[:30])
                problems.append(
                    f"{where}: the input has no column '{spec.column}'.{hint} Columns: {listed}."
                )
                continue
            if fold(column) in seen_columns:
                problems.append(
                    f"{where}: column '{column}' is already mapped by "
                    f"mappings[{seen_columns[fold(column)]}]; map each column only once."
                )
            seen_columns[fold(column)] = i
        key = ("contact:" if on_contact else "") + fdef.name
        if key in seen_fields:
            problems.append(
                f"{where}: {fdef.name} is already mapped by mappings[{seen_fields[key]}]."
            )
        seen_fields[key] = i
        problems.extend(_field_problems(spec, fdef, source, action, on_contact, where))
        try:
            compiled = compile_mapping(
                i,
                fdef,
                column=column,
                constant=spec.value,
                has_constant=spec.origin == "value",
                template=spec.template,
                value_map=spec.values,
                fmt=spec.format,
                match=spec.match,
                append=spec.append,
                blank_clears=blank_clears,
            )
        except ValueError as exc:
            problems.append(f"{where}: {exc}")
            continue
        (contact_mappings if on_contact else mappings).append(compiled)

    match_fields = [m.field.name for m in mappings if m.match]
    role_mapped = any(m.field.name == "RoleName" for m in mappings)
    adds_role = source.name == "GroupMember" and role_mapped and bool(match_fields)
    if adds_role and "RoleName" not in match_fields:
        # iDMS: a mapped Role Name that is not matched adds the role; matched, it updates it.
        # Either way the role takes part in finding the membership record.
        match_fields.append("RoleName")
    problems.extend(_action_rules(job, source, action, mappings, contact_mappings, match_fields))
    problems.extend(_login_rules(job, source, action, mappings))
    if problems:
        raise JobInvalid(problems, name=f"Job '{job.name}'")
    return CompiledJob(
        job, source, action, platform, mappings, contact_mappings, match_fields, tuple(columns)
    )


def _action_problem(
    source: SourceDef, action: Action, platform: str, allowed: frozenset[Action]
) -> str:
    if source.name == "Contact" and action is Action.DELETE:
        return (
            "action: contacts cannot be deleted in iMIS. Update the contacts with "
            "'Mark Contact for Erasure' (MarkForErasure) = Yes instead, then run iMIS's "
            "contact-erasure task."
        )
    note = source.platform_notes.get(platform)
    names = ", ".join(a.value for a in Action if a in allowed) or "none"
    text = f"action: {source.label} does not allow '{action.value}'"
    return f"{text} on iMIS {platform}. {note}" if note else f"{text}; it allows: {names}."


def _resolve_field(
    spec: MappingSpec,
    source: SourceDef,
    contact: SourceDef | None,
    problems: list[str],
    where: str,
) -> tuple[FieldDef | None, bool]:
    name = spec.field
    explicit_contact = name.lower().startswith("contact.")
    bare = name.split(".", 1)[1] if explicit_contact else name
    if contact is not None and spec.match:
        # Insert with matching: match keys find the contact (Email, LastName ...).
        found = contact.find_field(bare)
        if found is not None:
            return found, True
    if explicit_contact:
        problems.append(
            f"{where}: Contact fields only find the contact in an insert-with-matching job."
        )
        return None, False
    found = source.find_field(name)
    if found is None:
        choices = [f.name for f in source.fields] + [f.label for f in source.fields]
        close = suggest(name, choices)
        hint = f" Did you mean '{close}'?" if close else ""
        problems.append(f"{where}: {source.name} has no field '{name}'.{hint}")
        return None, False
    return found, False


def _field_problems(
    spec: MappingSpec,
    fdef: FieldDef,
    source: SourceDef,
    action: Action,
    on_contact: bool,
    where: str,
) -> list[str]:
    problems = []
    if fdef.unsupported:
        problems.append(f"{where}: {fdef.label} cannot be mapped: it is {fdef.unsupported}.")
    if fdef.read_only and not spec.match and not on_contact:
        problems.append(
            f"{where}: {fdef.label} is set by iMIS and cannot be written; it can only be a "
            "match key (match: true)."
        )
    if fdef.secret and spec.match:
        problems.append(f"{where}: {fdef.label} cannot be matched on.")
    if spec.format and fdef.type.value not in ("date", "datetime"):
        problems.append(f"{where}: 'format' applies to date fields; {fdef.label} is not one.")
    if spec.append and not fdef.appendable:
        problems.append(
            f"{where}: 'append' applies to multi-select panel fields; {fdef.label} is not one."
        )
    return problems


def _action_rules(
    job: Job,
    source: SourceDef,
    action: Action,
    mappings: list[CompiledMapping],
    contact_mappings: list[CompiledMapping],
    match_fields: list[str],
) -> list[str]:
    problems: list[str] = []
    mapped = {m.field.name for m in mappings}
    if action is Action.INSERT and match_fields:
        problems.append(
            "mappings: an insert does not match existing records; remove 'match: true' or use "
            "insert-update or insert-with-matching."
        )
    needs_keys = action in (Action.UPDATE, Action.INSERT_UPDATE, Action.DELETE) or (
        action is Action.INSERT_WITH_MATCHING and source.name == "Contact"
    )
    if needs_keys and not match_fields:
        problems.append(
            f"mappings: a{'n' if action.value[0] in 'aeiou' else ''} {action.value} job needs at "
            "least one mapping with 'match: true' (for example the iMIS ID, or SEQN for "
            "activities)."
        )
    if action is Action.INSERT_WITH_MATCHING and source.name != "Contact":
        if not contact_mappings:
            problems.append(
                "mappings: insert-with-matching finds the contact from contact fields marked "
                "'match: true' (for example Email and LastName)."
            )
        if "ImisId" in mapped:
            problems.append(
                "mappings: with the iMIS ID in hand, use insert (it matches the contact by iMIS "
                "ID); insert-with-matching is for rows without it."
            )
    broad = source.name in BROAD_DELETE_RISK and set(match_fields) == {"ImisId"}
    if action is Action.DELETE and broad and not job.options.allow_broad_delete:
        problems.append(
            f"mappings: a delete of {source.label} matched on iMIS ID alone would remove "
            f"every {source.label} record of those contacts. Match on "
            f"{' + '.join(source.identity)} instead, or set the option "
            "allow_broad_delete: true if that is what you mean."
        )
    inserting = action in (Action.INSERT, Action.INSERT_WITH_MATCHING, Action.INSERT_UPDATE)
    if inserting and source.kind not in ("contact", "credentials"):
        provided = mapped | ({"ImisId"} if contact_mappings else set())
        for f in source.fields:
            if f.required_on_insert and f.name not in provided and f.default is None:
                if f.name == "ImisId" and action is Action.INSERT_UPDATE and "ImisId" in mapped:
                    continue
                problems.append(
                    f"mappings: {f.label} ({f.name}) is required to insert {source.label} "
                    "records; map it."
                )
    return problems


def _login_rules(
    job: Job, source: SourceDef, action: Action, mappings: list[CompiledMapping]
) -> list[str]:
    """The vendor's rules for logins that a job breaks whatever its rows hold.

    User Credentials are never updated: an update only unlocks (Username or Password in an
    update is refused, and so is any other written field); locking is not supported, so a
    constant that locks is refused here rather than on every row. iMIS 2017's UserData unlocks
    through Is Locked Out = No, which an update must map.
    """
    problems: list[str] = []

    def where(m: CompiledMapping) -> str:
        return f"mappings[{m.index}] (field '{job.mappings[m.index].field}')"

    def constant(m: CompiledMapping) -> Any:
        return m.extract({}) if m.source_label == "the constant" else None

    if source.kind == "credentials":
        for m in mappings:
            if m.field.name == "UnlockUserAccount" and constant(m) is False:
                problems.append(
                    f"{where(m)}: locking user accounts is not supported; Unlock User Account "
                    "= 1/T/True/Y/Yes unlocks."
                )
        if action is Action.UPDATE:
            written = [m for m in mappings if not m.match]
            for m in written:
                if m.field.unsupported or m.field.read_only:
                    continue  # already refused, with the reason
                if m.field.name in ("Username", "Password"):
                    problems.append(
                        f"{where(m)}: credentials cannot be updated; delete them and insert new "
                        f"ones ({m.field.label} cannot be changed by an update)."
                    )
                elif m.field.name != "UnlockUserAccount":
                    problems.append(f"{where(m)}: {UNLOCK_ONLY}.")
            if not any(m.field.name == "UnlockUserAccount" for m in written):
                problems.append(
                    "mappings: an update of User Credentials unlocks accounts: map Unlock User "
                    "Account (UnlockUserAccount) with 1/T/True/Y/Yes."
                )
    if source.kind == "userdata":
        for m in mappings:
            if m.field.name == "IsLockedOut" and not m.match and constant(m) is True:
                problems.append(
                    f"{where(m)}: locking user accounts is not supported; Is Locked Out = "
                    "0/F/False/N/No unlocks."
                )
        if action is Action.UPDATE and not any(
            m.field.name == "IsLockedOut" and not m.match for m in mappings
        ):
            problems.append(
                "mappings: an update of UserData unlocks accounts: map Is Locked Out "
                "(IsLockedOut) with 0/F/False/N/No."
            )
    return problems
