"""The same credentials jobs give the same outcomes and records on both targets and platforms,
and every refusal comes from the one rule the source declares.

Two identical worlds: one runs every job on its embedded store, the other through the REST target
against a sandbox serving its store. After each job the counts and every row's outcome (code,
field, message) are equal, and so are the resulting logins and contacts (times left aside; a new
contact's iMIS ID depends on which of two concurrent REST calls reached the counter first).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from idms.jobs.compile import compile_job
from idms.jobs.model import JobInvalid
from idms.sources import catalog, rules
from idms.sources.filters import Filter, Operator
from idms.sources.model import Action, SourceDef
from idms.targets.base import Change, ChangeKind, Record, Target

from .support import World, comparable, counts, expect, new_world, store_state

PASSWORD = "Countess-Of-Lovelace-1"
ID = {"field": "iMIS ID", "column": "ID", "match": True}
LOCKED_CONSTANT = {"field": "Is Locked Out", "value": "Yes"}
Rows = Callable[[dict[str, str]], list[dict[str, Any]]]

# (name, source, action, mappings, rows given the people's iMIS IDs, expected counts)
EMS_JOBS: list[tuple[str, str, str, list[dict[str, Any]], Rows, dict[str, int]]] = [
    (
        "insert for existing contacts",
        "UserCredentials",
        "insert",
        [
            {"field": "iMIS ID", "column": "ID"},
            {"field": "Username", "column": "User"},
            {"field": "Password", "column": "Password"},
        ],
        lambda p: [
            {"ID": p["ada"], "Password": PASSWORD},
            {"ID": p["grace"], "User": "ghopper", "Password": PASSWORD},
            {"ID": p["nomail"], "Password": PASSWORD},
            {"ID": "999999", "Password": PASSWORD},
        ],
        expect(inserted=2, errors=2),
    ),
    (
        "insert with new contacts",
        "UserCredentials",
        "insert",
        [
            {"field": "First Name", "column": "First"},
            {"field": "Last Name", "column": "Last"},
            {"field": "Email", "column": "Email"},
            {"field": "Username", "column": "User"},
            {"field": "Password", "column": "Password"},
        ],
        lambda p: [
            {
                "First": "Mary",
                "Last": "Somerville",
                "Email": "mary@example.org",
                "User": "msomerville",
                "Password": PASSWORD,
            },
            {"First": "Kate", "Last": "Johnson", "Email": "kate@example.org", "User": "kjohnson"},
        ],
        expect(inserted=1, errors=1),
    ),
    (
        "insert with matching",
        "UserCredentials",
        "insert-with-matching",
        [
            {"field": "Email", "column": "Email", "match": True},
            {"field": "Last Name", "column": "Last", "match": True},
            {"field": "Username", "column": "User"},
            {"field": "Password", "column": "Password"},
        ],
        lambda p: [
            {
                "Email": "alan@example.org",
                "Last": "Turing",
                "User": "aturing",
                "Password": PASSWORD,
            },
            {
                "Email": "nobody@example.org",
                "Last": "Nobody",
                "User": "nobody",
                "Password": PASSWORD,
            },
        ],
        expect(inserted=1, errors=1),
    ),
    (
        "unlock",
        "UserCredentials",
        "update",
        [ID, {"field": "Unlock User Account", "column": "Unlock"}],
        lambda p: [
            {"ID": p["ada"], "Unlock": "Yes"},  # locked: unlocked
            {"ID": p["grace"], "Unlock": "T"},  # not locked: unchanged
            {"ID": p["alan"], "Unlock": "No"},  # locking: refused
            {"ID": "999999", "Unlock": "1"},
        ],  # no login: nothing to update
        expect(updated=1, unchanged=1, errors=2),
    ),
    (
        "delete",
        "UserCredentials",
        "delete",
        [ID],
        lambda p: [{"ID": p["grace"]}, {"ID": p["nomail"]}],
        expect(deleted=1, skipped=1),
    ),
    (
        "insert again after the delete",
        "UserCredentials",
        "insert",
        [
            {"field": "iMIS ID", "column": "ID"},
            {"field": "Username", "column": "User"},
            {"field": "Password", "column": "Password"},
        ],
        lambda p: [{"ID": p["grace"], "User": "grace.hopper", "Password": PASSWORD}],
        expect(inserted=1),
    ),
]


def known_ids(world: World, records: list[Record]) -> list[Record]:
    """Records with a new contact's iMIS ID replaced by a placeholder."""
    seeded = set(world.people.values())
    return [{**r, "ImisId": r["ImisId"] if r["ImisId"] in seeded else "(new)"} for r in records]


def state(world: World) -> dict[str, list[dict[str, Any]]]:
    return {
        source: comparable(known_ids(world, list(world.store.read(source))))
        for source in ("UserCredentials", "Contact")
    }


def test_ems_jobs_give_the_same_outcomes_and_records_on_both_targets(tmp_path: Path) -> None:
    with ExitStack() as stack:
        local = new_world(tmp_path / "local", stack)
        remote = new_world(tmp_path / "remote", stack)
        assert local.people == remote.people
        sandbox = stack.enter_context(remote.serve("ems"))
        pairs: list[tuple[World, Target, str]] = [
            (local, local.store, "embedded"),
            (remote, sandbox.rest, "rest"),
        ]
        for name, source, action, mappings, rows, expected in EMS_JOBS:
            if name == "unlock":  # five failed logins lock Ada's account on both
                for _ in range(5):
                    local.store.attempt_login("ada@example.org", "not-the-password")
                sandbox.lock("ada@example.org")
                assert local.credentials("ada")["IsLockedOut"] is True
                assert state(local) == state(remote)
            outcomes = []
            for world, target, label in pairs:
                job = world.job(name, source, action, mappings, rows(world.people))
                report = world.run(target, job, label=label)
                assert counts(report) == expected, (name, label, world.outcomes(report, label))
                outcomes.append(world.outcomes(report, label))
            assert outcomes[0] == outcomes[1], name
            assert state(local) == state(remote), name
        logins = {r["Username"] for r in local.store.read("UserCredentials")}
        assert logins == {"ada@example.org", "grace.hopper", "msomerville", "aturing"}
        for username in sorted(logins):
            assert local.store.attempt_login(username, PASSWORD).ok
            assert sandbox.logs_in(username, PASSWORD)


def test_2017_unlock_job_gives_the_same_outcomes_and_records_on_both_targets(
    tmp_path: Path,
) -> None:
    with ExitStack() as stack:
        local = new_world(tmp_path / "local", stack)
        remote = new_world(tmp_path / "remote", stack)
        for world in (local, remote):
            world.give_credentials("ada", "grace", password=PASSWORD)
        local.set_platform("2017")
        sandbox = stack.enter_context(remote.serve("2017"))
        for username in ("ada@example.org", "grace@example.org"):
            for _ in range(5):
                local.store.attempt_login(username, "not-the-password")
            sandbox.lock(username)
        assert state(local) == state(remote)
        outcomes = []
        for world, target, label in (
            (local, local.store, "embedded"),
            (remote, sandbox.rest, "rest"),
        ):
            job = world.job(
                "unlock on 2017",
                "UserData",
                "update",
                [
                    {"field": "ID", "column": "ID", "match": True},
                    {"field": "Is Locked Out", "column": "Locked"},
                ],
                [
                    {"ID": world.people["ada"], "Locked": "No"},
                    {"ID": world.people["grace"], "Locked": "True"},
                    {"ID": world.people["alan"], "Locked": "0"},
                ],
            )
            report = world.run(target, job, label=label)
            assert counts(report) == expect(updated=1, errors=2)
            outcomes.append(world.outcomes(report, label))
        assert outcomes[0] == outcomes[1]
        assert [o[2] for o in outcomes[0]] == [None, "locking_not_supported", "no_match"]
        assert state(local) == state(remote)
        assert local.store.attempt_login("ada@example.org", PASSWORD).ok
        assert sandbox.logs_in("ada@example.org", PASSWORD)
        assert not sandbox.logs_in("grace@example.org", PASSWORD)


# ---- one rule, one place ---------------------------------------------------------------------

ONLY_2017 = (
    "iMIS 2017 can only unlock user accounts, and it does so through the UserData business "
    "object: update source UserData, match on the iMIS ID and map Is Locked Out = No."
)
UNSUPPORTED = "not supported by iDMS or the iMIS REST API"


@dataclass(frozen=True)
class Refused:
    """A change a source's rule refuses, and the same rule as a job breaks it.

    ``values`` and ``who`` (whose record an update or delete addresses) are for the change;
    ``expected`` is its (code, field, message); ``job`` is (action, mappings) of a job that
    breaks the rule whatever its rows hold, and ``problem`` what the job check says, or None
    when the rule depends on the record and only a row can break it.
    """

    name: str
    platform: str
    source: str
    kind: ChangeKind
    values: dict[str, Any]
    who: str | None
    expected: tuple[str, str | None, str]
    job: tuple[str, list[dict[str, Any]]] | None = None
    problem: str | None = None


CREDENTIAL_ID = {"field": "iMIS ID", "column": "ID"}
REFUSED = [
    Refused(
        "locking on insert",
        "ems",
        "UserCredentials",
        ChangeKind.INSERT,
        {"ImisId": "alan", "Password": PASSWORD, "UnlockUserAccount": False},
        None,
        ("locking_not_supported", "UnlockUserAccount", "Locking user accounts is not supported."),
        ("insert", [CREDENTIAL_ID, {"field": "UnlockUserAccount", "value": "No"}]),
        "mappings[1] (field 'UnlockUserAccount'): locking user accounts is not supported; "
        "Unlock User Account = 1/T/True/Y/Yes unlocks.",
    ),
    Refused(
        "locking on update",
        "ems",
        "UserCredentials",
        ChangeKind.UPDATE,
        {"UnlockUserAccount": False},
        "ada",
        ("locking_not_supported", "UnlockUserAccount", "Locking user accounts is not supported."),
        ("update", [ID, {"field": "UnlockUserAccount", "value": "No"}]),
        "mappings[1] (field 'UnlockUserAccount'): locking user accounts is not supported; "
        "Unlock User Account = 1/T/True/Y/Yes unlocks.",
    ),
    Refused(
        "a password in an update",
        "ems",
        "UserCredentials",
        ChangeKind.UPDATE,
        {"Password": PASSWORD},
        "ada",
        (
            "credentials_not_updatable",
            "Password",
            "Credentials cannot be updated; delete them and insert new ones.",
        ),
        (
            "update",
            [
                ID,
                {"field": "Unlock User Account", "value": "Yes"},
                {"field": "Password", "column": "Password"},
            ],
        ),
        "mappings[2] (field 'Password'): credentials cannot be updated; delete them and insert "
        "new ones (Password cannot be changed by an update).",
    ),
    Refused(
        "another field in an update",
        "ems",
        "UserCredentials",
        ChangeKind.UPDATE,
        {"FirstName": "Augusta"},
        "ada",
        (
            "credentials_not_updatable",
            "FirstName",
            "An update of user credentials only unlocks accounts (Unlock User Account).",
        ),
        (
            "update",
            [
                ID,
                {"field": "Unlock User Account", "value": "Yes"},
                {"field": "First Name", "column": "First"},
            ],
        ),
        "mappings[2] (field 'First Name'): an update of User Credentials only unlocks "
        "accounts; map the match key(s) (for example the iMIS ID, match: true) and Unlock "
        "User Account, nothing else.",
    ),
    Refused(
        "a read-only field",
        "ems",
        "UserCredentials",
        ChangeKind.INSERT,
        {"ImisId": "alan", "Password": PASSWORD, "IsLockedOut": True},
        None,
        ("read_only_field", "IsLockedOut", "Is Locked Out is set by iMIS and cannot be written."),
        ("insert", [CREDENTIAL_ID, {"field": "Is Locked Out", "value": "Yes"}]),
        "mappings[1] (field 'Is Locked Out'): Is Locked Out is set by iMIS and cannot be "
        "written; it can only be a match key (match: true).",
    ),
    Refused(
        "an unsupported field",
        "ems",
        "UserCredentials",
        ChangeKind.INSERT,
        {"ImisId": "alan", "Password": PASSWORD, "IsDisabled": True},
        None,
        ("unsupported_field", "IsDisabled", f"Disabled Flag is {UNSUPPORTED}."),
        ("insert", [CREDENTIAL_ID, {"field": "Disabled Flag", "value": "Yes"}]),
        f"mappings[1] (field 'Disabled Flag'): Disabled Flag cannot be mapped: it is "
        f"{UNSUPPORTED}.",
    ),
    Refused(
        "credentials on iMIS 2017",
        "2017",
        "UserCredentials",
        ChangeKind.INSERT,
        {"ImisId": "alan", "Password": PASSWORD},
        None,
        ("action_not_allowed", None, ONLY_2017),
        ("insert", [CREDENTIAL_ID, {"field": "Password", "column": "Password"}]),
        f"action: User Credentials does not allow 'insert' on iMIS 2017. {ONLY_2017}",
    ),
    Refused(
        "locking through UserData",
        "2017",
        "UserData",
        ChangeKind.UPDATE,
        {"IsLockedOut": True},
        "ada",
        (
            "locking_not_supported",
            "IsLockedOut",
            "Locking user accounts is not supported; Is Locked Out = No unlocks.",
        ),
        ("update", [{"field": "ID", "column": "ID", "match": True}, LOCKED_CONSTANT]),
        "mappings[1] (field 'Is Locked Out'): locking user accounts is not supported; "
        "Is Locked Out = 0/F/False/N/No unlocks.",
    ),
    Refused(
        "a contact deleted",
        "ems",
        "Contact",
        ChangeKind.DELETE,
        {},
        "ada",
        (
            "action_not_allowed",
            None,
            "Contacts cannot be deleted in iMIS: update Mark Contact for Erasure instead.",
        ),
        ("delete", [ID]),
        "action: contacts cannot be deleted in iMIS. Update the contacts with 'Mark Contact "
        "for Erasure' (MarkForErasure) = Yes instead, then run iMIS's contact-erasure task.",
    ),
    Refused(
        "a person made an organization",
        "ems",
        "Contact",
        ChangeKind.UPDATE,
        {"IsOrganization": True},
        "ada",
        (
            "contact_kind_changed",
            "IsOrganization",
            "A person cannot become an organization (or the reverse).",
        ),
    ),
    Refused(
        "a key changed",
        "ems",
        "Contact",
        ChangeKind.UPDATE,
        {"ImisId": "999999"},
        "ada",
        ("key_changed", "ImisId", "iMIS ID identifies the record and cannot be changed."),
    ),
]


def by_the_rule(
    case: Refused, source: SourceDef, values: dict[str, Any], before: Record | None
) -> rules.RowRefused | None:
    """What ``idms.sources.rules`` itself says of the case's change."""
    refused = rules.refused_change(source, case.platform, case.kind)
    if refused is not None:
        return refused
    try:
        if case.kind is ChangeKind.INSERT:
            rules.insert_values(source, case.platform, values)
        else:
            assert before is not None
            rules.update_values(source, case.platform, before, values)
    except rules.RowRefused as exc:
        return exc
    return None


@pytest.mark.parametrize("case", REFUSED, ids=lambda c: c.name)
def test_a_refused_change_is_refused_alike_by_both_targets_and_the_job_check(
    world: World, case: Refused
) -> None:
    """Each refusal comes from one rule (``idms.sources.rules``): the embedded store, the REST
    target (through the sandbox) and the rule itself give the same code, field and message, and
    the job check reports the same rule before anything is written."""
    world.give_credentials("ada", password=PASSWORD)
    values = {k: world.people.get(v, v) if k == "ImisId" else v for k, v in case.values.items()}
    identity = {"ImisId": world.people[case.who]} if case.who else None
    change = Change(case.kind, values, identity)
    with world.serve(case.platform) as sandbox:
        before_state = store_state(world.store)
        source = world.store.describe(case.source)
        before = None
        if identity is not None:
            (before,) = world.store.read(
                case.source, [Filter("ImisId", Operator.EQ, identity["ImisId"])]
            )
        rule = by_the_rule(case, source, values, before)
        assert rule is not None
        assert (rule.code, rule.field, rule.message) == case.expected
        for target in (world.store, sandbox.rest):
            (result,) = target.apply(case.source, [change])
            assert result.error is not None, (case.name, target)
            assert (result.error.code, result.error.field, result.error.message) == case.expected
        assert store_state(world.store) == before_state
        if case.job is None:
            return
        action, mappings = case.job
        row = {"ID": world.people["ada"], "Password": PASSWORD, "First": "Augusta"}
        for target in (world.store, sandbox.rest):
            job = world.job(case.name, case.source, action, mappings, [row])
            with pytest.raises(JobInvalid) as invalid:
                compile_job(job, target, list(row))
            assert case.problem in invalid.value.problems, invalid.value.problems


def test_a_rule_declared_on_a_source_is_kept_by_both_targets_and_the_job_check(
    world: World,
) -> None:
    """Adding a rule is declaring it on the source: a made-up one (no username may start with
    'root') is kept by the embedded store, by the REST target and by the job check alike,
    without a line of either target or the engine knowing it."""

    def no_root_insert(source: SourceDef, values: Mapping[str, Any]) -> None:
        if str(values.get("Username") or "").startswith("root"):
            raise rules.RowRefused(
                "root_username", "No username may start with 'root'.", "Username"
            )

    def no_root_job(
        source: SourceDef, action: Action, mappings: Sequence[rules.Mapped]
    ) -> list[str]:
        return [
            f"{m.where}: no username may start with 'root'."
            for m in mappings
            if m.field.name == "Username" and str(m.constant or "").startswith("root")
        ]

    declared = catalog.USER_CREDENTIALS.checks
    assert declared is not None
    made_up = rules.SourceChecks(insert=no_root_insert, update=declared.update, job=no_root_job)
    object.__setattr__(catalog.USER_CREDENTIALS, "checks", made_up)
    try:
        with world.serve("ems") as sandbox:
            change = Change(
                ChangeKind.INSERT,
                {"ImisId": world.people["alan"], "Username": "rootalan", "Password": PASSWORD},
            )
            for target in (world.store, sandbox.rest):
                target.refresh()
                (result,) = target.apply("UserCredentials", [change])
                assert result.error is not None
                assert (result.error.code, result.error.field, result.error.message) == (
                    "root_username",
                    "Username",
                    "No username may start with 'root'.",
                )
                job = world.job(
                    "root",
                    "UserCredentials",
                    "insert",
                    [CREDENTIAL_ID, {"field": "Username", "value": "rootalan"}],
                    [{"ID": world.people["alan"]}],
                )
                with pytest.raises(JobInvalid) as invalid:
                    compile_job(job, target, ["ID"])
                assert invalid.value.problems == [
                    "mappings[1] (field 'Username'): no username may start with 'root'."
                ]
    finally:
        object.__setattr__(catalog.USER_CREDENTIALS, "checks", declared)
    assert list(world.store.read("UserCredentials")) == []
