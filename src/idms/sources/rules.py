"""What idms refuses, written once, next to the sources it governs.

The embedded target, the REST target and the job compiler all call the entry points below, so a
rule cannot say one thing when a job is checked and another when a row is written:

* :func:`refused_change` / :func:`action_problem`: the action is not allowed on the platform
  (for a change sent to a target / for a job, before it runs);
* :func:`insert_values` / :func:`update_values`: what a change may write: no read-only or
  unsupported field, no change of the fields that identify the record, and the source's own
  ``checks`` (``SourceDef.checks``: what a login source's insert or update may do ...);
* :func:`field_problems` / :func:`job_problems`: the same rules as a job's mappings break them,
  whatever its rows hold (a mapping of a read-only field, a constant that would lock accounts).

Rules are pure functions of the source, the platform, the record before and the values: they
know nothing of targets or jobs. A refused row is :class:`RowRefused` (a code, a sentence, the
field); a target turns it into its row result, the compiler into a problem of ``JobInvalid``.

What lives here is what idms decides from the declarations alone. The checks that need a store's
data (lookup codes, required fields and defaults, taken iMIS IDs and usernames, a contact's
e-mail) are in ``idms.sources.checks``, over a few store look-ups: the embedded store applies
them when it writes, and the REST target judges a plan's changes with them (a real iMIS makes
its own when written). The few that need a store's own tables (a group's roles, an event's
places) stay with the embedded store's adapters.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from idms.errors import InvalidInputError
from idms.sources.model import Action, FieldDef, SourceDef
from idms.values.folding import fold_value

Values = Mapping[str, Any]

# The actions that make a target insert, update or delete a record.
CHANGE_ACTIONS: dict[str, frozenset[Action]] = {
    "insert": frozenset({Action.INSERT, Action.INSERT_WITH_MATCHING, Action.INSERT_UPDATE}),
    "update": frozenset({Action.UPDATE, Action.INSERT_UPDATE}),
    "delete": frozenset({Action.DELETE}),
}


class RowRefused(InvalidInputError):
    """One change refused by a rule: ``code`` and ``message`` for the row, ``field`` when one
    field is to blame. Raised by rules and caught per change by whoever applies them."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.field = field


@dataclass(frozen=True)
class Mapped:
    """What a job-level rule knows of one mapping: its field, whether it is a match key, its
    constant (None unless the mapping is a constant) and where it is (``mappings[1] (field
    'Password')``), to start each problem with."""

    field: FieldDef
    matched: bool
    constant: Any
    where: str


InsertCheck = Callable[[SourceDef, Values], None]
UpdateCheck = Callable[[SourceDef, Values, Values], None]
JobCheck = Callable[[SourceDef, Action, Sequence[Mapped]], list[str]]


@dataclass(frozen=True)
class SourceChecks:
    """A source's own rules, declared in its ``SourceDef.checks``.

    ``insert(source, values)`` and ``update(source, before, values)`` raise :class:`RowRefused`;
    ``job(source, action, mappings)`` lists the problems of a job that breaks them whatever its
    rows hold."""

    insert: InsertCheck | None = None
    update: UpdateCheck | None = None
    job: JobCheck | None = None


# ---- the entry points ------------------------------------------------------------------------


def refused_change(source: SourceDef, platform: str, kind: str) -> RowRefused | None:
    """Why ``source`` refuses every ``kind`` change (insert, update, delete) on ``platform``,
    or None when some allowed action makes such changes."""
    if CHANGE_ACTIONS[kind] & source.actions_on(platform):
        return None
    note = source.action_notes.get(Action(kind))
    message = note.row if note else source.platform_notes.get(platform, "")
    return RowRefused("action_not_allowed", message or f"{source.label} does not allow {kind}s.")


def refused_changes(source: SourceDef, platform: str) -> dict[str, RowRefused]:
    """Every kind of change (insert, update, delete) ``source`` refuses on ``platform``, with
    why: what a target answers, before writing anything, for a batch that asks for one."""
    out: dict[str, RowRefused] = {}
    for kind in CHANGE_ACTIONS:
        refusal = refused_change(source, platform, kind)
        if refusal is not None:
            out[kind] = refusal
    return out


def action_problem(source: SourceDef, platform: str, action: Action) -> str | None:
    """Why a job may not run ``action`` on ``source`` under ``platform``, or None."""
    allowed = source.actions_on(platform)
    if action in allowed:
        return None
    note = source.action_notes.get(action)
    if note is not None:
        return note.job
    platform_note = source.platform_notes.get(platform)
    text = f"{source.label} does not allow '{action.value}'"
    if platform_note:
        return f"{text} on iMIS {platform}. {platform_note}"
    names = ", ".join(a.value for a in Action if a in allowed) or "none"
    return f"{text}; it allows: {names}."


def insert_values(source: SourceDef, platform: str, values: Values) -> dict[str, Any]:
    """The values a new record may be given (by canonical name), or RowRefused."""
    written = writable_values(source, values)
    if source.checks is not None and source.checks.insert is not None:
        source.checks.insert(source, written)
    return written


def update_values(
    source: SourceDef, platform: str, before: Values, values: Values
) -> dict[str, Any]:
    """The values ``before`` may be updated with (by canonical name), or RowRefused."""
    written = writable_values(source, values)
    check_identity_kept(source, before, written)
    if source.checks is not None and source.checks.update is not None:
        source.checks.update(source, before, written)
    return written


def field_problems(fdef: FieldDef, *, matched: bool, on_contact: bool) -> list[str]:
    """Why a job may not map ``fdef`` (the writability rules, as a mapping breaks them)."""
    problems = []
    if fdef.unsupported:
        problems.append(f"{fdef.label} cannot be mapped: it is {fdef.unsupported}.")
    if fdef.read_only and not matched and not on_contact:
        problems.append(
            f"{fdef.label} is set by iMIS and cannot be written; it can only be a match key "
            "(match: true)."
        )
    return problems


def job_problems(
    source: SourceDef, platform: str, action: Action, mappings: Sequence[Mapped]
) -> list[str]:
    """The problems of a job that breaks the source's own rules whatever its rows hold."""
    if source.checks is None or source.checks.job is None:
        return []
    return source.checks.job(source, action, mappings)


# ---- every source ----------------------------------------------------------------------------


def writable_values(source: SourceDef, values: Values) -> dict[str, Any]:
    """``values`` by canonical name; a read-only field given a value, or an unsupported field,
    is refused (a read-only field given None is dropped: records read back carry them)."""
    if values.keys() <= source.plain_writable:  # the usual case, decided at C speed
        return dict(values)
    out: dict[str, Any] = {}
    for name, value in values.items():
        fdef = source.field(name)
        if fdef.unsupported:
            raise RowRefused("unsupported_field", f"{fdef.label} is {fdef.unsupported}.", fdef.name)
        if fdef.read_only and value is not None:
            raise RowRefused(
                "read_only_field", f"{fdef.label} is set by iMIS and cannot be written.", fdef.name
            )
        if not fdef.read_only:
            out[fdef.name] = value
    return out


def check_identity_kept(source: SourceDef, before: Values, values: Values) -> None:
    """An update may not change the fields that identify the record (compared without case)."""
    for name in source.identity:
        if name in values and fold_value(values[name]) != fold_value(before.get(name)):
            raise RowRefused(
                "key_changed",
                f"{source.field(name).label} identifies the record and cannot be changed.",
                name,
            )


# ---- Contact -----------------------------------------------------------------------------------


def contact_update(source: SourceDef, before: Values, values: Values) -> None:
    """A person stays a person and an organization an organization."""
    if "IsOrganization" in values and bool(values["IsOrganization"]) != bool(
        before.get("IsOrganization")
    ):
        raise RowRefused(
            "contact_kind_changed",
            "A person cannot become an organization (or the reverse).",
            "IsOrganization",
        )


CONTACT_CHECKS = SourceChecks(update=contact_update)

# ---- User Credentials (EMS) --------------------------------------------------------------------

LOCKING = "Locking user accounts is not supported."
NOT_UPDATABLE = ("Username", "Password")
# What a User Credentials update may map, said when it maps something else.
UNLOCK_ONLY = (
    "an update of User Credentials only unlocks accounts; map the match key(s) (for example "
    "the iMIS ID, match: true) and Unlock User Account, nothing else"
)


def credentials_insert(source: SourceDef, values: Values) -> None:
    """An insert may unlock (Unlock User Account = True, a no-op) but never lock."""
    if values.get("UnlockUserAccount") is False:
        raise RowRefused("locking_not_supported", LOCKING, "UnlockUserAccount")


def credentials_update(source: SourceDef, before: Values, values: Values) -> None:
    """Credentials are never updated: an update only unlocks, and cannot lock."""
    for name in NOT_UPDATABLE:
        if name in values:
            raise RowRefused(
                "credentials_not_updatable",
                "Credentials cannot be updated; delete them and insert new ones.",
                name,
            )
    others = [n for n in values if n not in ("UnlockUserAccount", "ImisId")]
    if others:
        raise RowRefused(
            "credentials_not_updatable",
            "An update of user credentials only unlocks accounts (Unlock User Account).",
            others[0],
        )
    if values.get("UnlockUserAccount") is False:
        raise RowRefused("locking_not_supported", LOCKING, "UnlockUserAccount")


def credentials_job(source: SourceDef, action: Action, mappings: Sequence[Mapped]) -> list[str]:
    """The credentials rules a job breaks whatever its rows hold.

    An update only unlocks (Username or Password in an update is refused, and so is any other
    written field) and must map Unlock User Account; locking is not supported, so a constant
    that locks is refused here rather than on every row.
    """
    problems: list[str] = []
    for m in mappings:
        if m.field.name == "UnlockUserAccount" and m.constant is False:
            problems.append(
                f"{m.where}: locking user accounts is not supported; Unlock User Account "
                "= 1/T/True/Y/Yes unlocks."
            )
    if action is not Action.UPDATE:
        return problems
    written = [m for m in mappings if not m.matched]
    for m in written:
        if m.field.unsupported or m.field.read_only:
            continue  # already refused, with the reason
        if m.field.name in NOT_UPDATABLE:
            problems.append(
                f"{m.where}: credentials cannot be updated; delete them and insert new ones "
                f"({m.field.label} cannot be changed by an update)."
            )
        elif m.field.name != "UnlockUserAccount":
            problems.append(f"{m.where}: {UNLOCK_ONLY}.")
    if not any(m.field.name == "UnlockUserAccount" for m in written):
        problems.append(
            "mappings: an update of User Credentials unlocks accounts: map Unlock User "
            "Account (UnlockUserAccount) with 1/T/True/Y/Yes."
        )
    return problems


CREDENTIALS_CHECKS = SourceChecks(
    insert=credentials_insert, update=credentials_update, job=credentials_job
)

# ---- UserData (iMIS 2017) ----------------------------------------------------------------------


def userdata_update(source: SourceDef, before: Values, values: Values) -> None:
    """Is Locked Out = No unlocks; Yes would lock, which is not supported."""
    if values.get("IsLockedOut") is True:
        raise RowRefused(
            "locking_not_supported",
            "Locking user accounts is not supported; Is Locked Out = No unlocks.",
            "IsLockedOut",
        )


def userdata_job(source: SourceDef, action: Action, mappings: Sequence[Mapped]) -> list[str]:
    """A constant that locks is refused; an update must map Is Locked Out (not as a key)."""
    problems: list[str] = []
    for m in mappings:
        if m.field.name == "IsLockedOut" and not m.matched and m.constant is True:
            problems.append(
                f"{m.where}: locking user accounts is not supported; Is Locked Out = "
                "0/F/False/N/No unlocks."
            )
    if action is Action.UPDATE and not any(
        m.field.name == "IsLockedOut" and not m.matched for m in mappings
    ):
        problems.append(
            "mappings: an update of UserData unlocks accounts: map Is Locked Out "
            "(IsLockedOut) with 0/F/False/N/No."
        )
    return problems


USERDATA_CHECKS = SourceChecks(update=userdata_update, job=userdata_job)
