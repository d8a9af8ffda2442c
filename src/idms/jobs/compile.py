"""Checking a job against the target and the input before anything is written.

Every problem is collected, each pointing at its mapping, and reported at once (``JobInvalid``).
What passes becomes a ``CompiledJob``: the source as the target describes it, compiled mappings,
match keys, and the vendor's job-level rules already enforced. The rules themselves live with the
sources (``idms.sources.rules``); what this module decides per source it reads from the source's
declaration, never from its name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from idms.errors import IdmsError, UnknownFieldError, suggest
from idms.jobs.mapping import CompiledMapping, compile_mapping
from idms.jobs.model import Job, JobInvalid, MappingSpec
from idms.jobs.rows import MASK
from idms.sources import rules
from idms.sources.model import Action, FieldDef, SourceDef, fold
from idms.targets.base import Target


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
    def match_keys(self) -> list[str]:
        """Every field the rows are matched on, as the job's preamble and confirmations name
        them: the contact's fields that find the contact (insert with matching), as
        ``Contact.Field``, then the source's own match fields."""
        return [f"Contact.{name}" for name in self.contact_match_fields] + self.match_fields

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
    refused = rules.action_problem(source, platform, action)
    if refused is not None:
        problems.append(f"action: {refused}")

    contact: SourceDef | None = None
    if action is Action.INSERT_WITH_MATCHING and source.insert_with_matching == "find_contact":
        contact = target.describe("Contact")

    by_column = {fold(c): c for c in columns}
    seen_fields: dict[str, int] = {}
    seen_columns: dict[str, int] = {}
    mappings: list[CompiledMapping] = []
    contact_mappings: list[CompiledMapping] = []
    blank_clears = job.options.blank_values == "clear"

    specs = _with_match_on(job, source, contact, problems)
    for i, spec in enumerate(specs):
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
    if match_fields:
        # iDMS: a mapped Role Name that is not matched adds the role; matched, it updates it.
        # Either way the role takes part in finding the membership record.
        mapped = {m.field.name for m in mappings}
        for name in source.match_when_mapped:
            if name in mapped and name not in match_fields:
                match_fields.append(name)
    problems.extend(_action_rules(job, source, action, mappings, contact_mappings, match_fields))
    problems.extend(rules.job_problems(source, platform, action, _mapped(job, mappings)))
    if problems:
        raise JobInvalid(problems, name=f"Job '{job.name}'")
    # The job as it runs: its match keys on the mappings they name (what a template keeps).
    job = job.model_copy(update={"mappings": specs, "match_on": []})
    return CompiledJob(
        job, source, action, platform, mappings, contact_mappings, match_fields, tuple(columns)
    )


def _with_match_on(
    job: Job, source: SourceDef, contact: SourceDef | None, problems: list[str]
) -> list[MappingSpec]:
    """The mappings, each one that ``match_on`` names marked ``match: true``. A reference names a
    mapping when both resolve to the same field (``--match ImisId`` names the mapping of
    ``iMIS ID``); one that names no mapping is a problem."""
    specs = list(job.mappings)
    for reference in job.match_on:
        where = f"match key '{reference}'"
        named = [
            k for k, spec in enumerate(specs) if _same_field(reference, spec.field, source, contact)
        ]
        if named:
            for k in named:
                specs[k] = specs[k].model_copy(update={"match": True})
            continue
        try:
            fdef = _lookup(reference, source, contact)
        except UnknownFieldError as exc:
            problems.append(f"{where}: {exc.message}")
            continue
        problems.append(
            f"{where}: {fdef.label} ({fdef.name}) is not mapped; map a column (or a constant) to "
            "it first, then match on it."
        )
    return specs


def _lookup(reference: str, source: SourceDef, contact: SourceDef | None) -> FieldDef:
    """The field ``reference`` names: the contact's (insert with matching), else the source's."""
    if contact is not None and (found := contact.find_field(_contact_part(reference)[1])):
        return found
    return source.resolve(reference)


def _same_field(a: str, b: str, source: SourceDef, contact: SourceDef | None) -> bool:
    """Whether two references name the same field: of the contact (that an insert with matching
    finds its contact by), else of the source."""
    spaces = [(contact, True), (source, False)] if contact is not None else [(source, False)]
    for space, is_contact in spaces:
        first = space.find_field(_contact_part(a)[1] if is_contact else a)
        second = space.find_field(_contact_part(b)[1] if is_contact else b)
        if first is not None and second is not None:
            return first is second
    return False


def _contact_part(reference: str) -> tuple[bool, str]:
    """``Contact.Email`` -> (True, "Email"); ``Email`` -> (False, "Email")."""
    if reference.lower().startswith("contact."):
        return True, reference.split(".", 1)[1]
    return False, reference


def _resolve_field(
    spec: MappingSpec,
    source: SourceDef,
    contact: SourceDef | None,
    problems: list[str],
    where: str,
) -> tuple[FieldDef | None, bool]:
    explicit_contact, bare = _contact_part(spec.field)
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
    try:
        return source.resolve(spec.field), False
    except UnknownFieldError as exc:
        problems.append(f"{where}: {exc.message}")
        return None, False


def _field_problems(
    spec: MappingSpec,
    fdef: FieldDef,
    source: SourceDef,
    action: Action,
    on_contact: bool,
    where: str,
) -> list[str]:
    writability = rules.field_problems(fdef, matched=spec.match, on_contact=on_contact)
    problems = [f"{where}: {problem}" for problem in writability]
    if fdef.secret and spec.match:
        problems.append(f"{where}: {fdef.label} cannot be matched on.")
    if fdef.secret and spec.origin == "value" and spec.value == MASK:
        # A document copied from what idms shows (idms template show): never a password.
        problems.append(
            f"{where}: {fdef.label} is masked ({MASK}), as idms shows a stored password: give "
            "the real value again, or map it from a column."
        )
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
    finds_contact = source.insert_with_matching == "find_contact"
    needs_keys = action in (Action.UPDATE, Action.INSERT_UPDATE, Action.DELETE) or (
        action is Action.INSERT_WITH_MATCHING and not finds_contact
    )
    if needs_keys and not match_fields and not job.match_on:  # a bad match_on is said already
        problems.append(
            f"mappings: a{'n' if action.value[0] in 'aeiou' else ''} {action.value} job needs at "
            "least one mapping with 'match: true' (for example the iMIS ID, or SEQN for "
            "activities)."
        )
    if action is Action.INSERT_WITH_MATCHING and finds_contact:
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
    broad = source.many_per_contact and set(match_fields) == {"ImisId"}
    if action is Action.DELETE and broad and not job.options.allow_broad_delete:
        problems.append(
            f"mappings: a delete of {source.label} matched on iMIS ID alone would remove "
            f"every {source.label} record of those contacts. Match on "
            f"{' + '.join(source.identity)} instead, or set the option "
            "allow_broad_delete: true if that is what you mean."
        )
    inserting = action in (Action.INSERT, Action.INSERT_WITH_MATCHING, Action.INSERT_UPDATE)
    if inserting and not source.required_per_row:
        provided = mapped | ({"ImisId"} if contact_mappings else set())
        for f in source.fields:
            if f.required_on_insert and f.name not in provided and f.default is None:
                problems.append(
                    f"mappings: {f.label} ({f.name}) is required to insert {source.label} "
                    "records; map it."
                )
    return problems


def _mapped(job: Job, mappings: list[CompiledMapping]) -> list[rules.Mapped]:
    """The mappings as the source's job rules see them."""
    return [
        rules.Mapped(
            m.field,
            m.match,
            m.extract({}) if m.source_label == "the constant" else None,
            f"mappings[{m.index}] (field '{job.mappings[m.index].field}')",
        )
        for m in mappings
    ]
