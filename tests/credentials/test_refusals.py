"""Every refusal of the User Credentials rules, with its message.

Job-level refusals (``JobInvalid``) come before anything is written: no run is recorded and the
store is unchanged. Row-level refusals are the row's code and message, the same on the embedded
store and through the REST target.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from idms.config import Settings
from idms.jobs.model import JobInvalid
from idms.sources.filters import Filter, Operator
from idms.targets.base import Change, ChangeKind, Target
from idms.targets.embedded.adapters import credentials as credentials_adapter
from idms.targets.embedded.target import EmbeddedTarget

from .support import World, counts, expect, store_state

PASSWORD = "Difference-Engine-1"
UNSUPPORTED = "cannot be mapped: it is not supported by iDMS or the iMIS REST API."
ONLY_2017 = (
    "iMIS 2017 can only unlock user accounts, and it does so through the UserData business "
    "object: update source UserData, match on the iMIS ID and map Is Locked Out = No."
)
ID = {"field": "iMIS ID", "column": "ID", "match": True}
UNLOCK = {"field": "Unlock User Account", "column": "Unlock"}


@dataclass(frozen=True)
class Refusal:
    """A job and the problem its check must report (exactly, or starting so)."""

    name: str
    platform: str
    source: str
    action: str
    mappings: tuple[dict[str, Any], ...]
    problem: str


REFUSALS = (
    Refusal(
        "update maps the password",
        "ems",
        "UserCredentials",
        "update",
        (ID, UNLOCK, {"field": "Password", "column": "Password"}),
        "mappings[2] (field 'Password'): credentials cannot be updated; delete them and "
        "insert new ones (Password cannot be changed by an update).",
    ),
    Refusal(
        "update maps the username",
        "ems",
        "UserCredentials",
        "update",
        (ID, {"field": "Username", "column": "User"}, UNLOCK),
        "mappings[1] (field 'Username'): credentials cannot be updated; delete them and "
        "insert new ones (Username cannot be changed by an update).",
    ),
    Refusal(
        "update maps another field",
        "ems",
        "UserCredentials",
        "update",
        (ID, UNLOCK, {"field": "First Name", "column": "First"}),
        "mappings[2] (field 'First Name'): an update of User Credentials only unlocks "
        "accounts; map the match key(s) (for example the iMIS ID, match: true) and Unlock "
        "User Account, nothing else.",
    ),
    Refusal(
        "update does not unlock",
        "ems",
        "UserCredentials",
        "update",
        (ID,),
        "mappings: an update of User Credentials unlocks accounts: map Unlock User Account "
        "(UnlockUserAccount) with 1/T/True/Y/Yes.",
    ),
    Refusal(
        "a constant that locks",
        "ems",
        "UserCredentials",
        "update",
        (ID, {"field": "UnlockUserAccount", "value": "No"}),
        "mappings[1] (field 'UnlockUserAccount'): locking user accounts is not supported; "
        "Unlock User Account = 1/T/True/Y/Yes unlocks.",
    ),
    Refusal(
        "Effective Date",
        "ems",
        "UserCredentials",
        "insert",
        ({"field": "iMIS ID", "column": "ID"}, {"field": "Effective Date", "column": "From"}),
        f"mappings[1] (field 'Effective Date'): Effective Date {UNSUPPORTED}",
    ),
    Refusal(
        "Expiration Dates",
        "ems",
        "UserCredentials",
        "insert",
        ({"field": "iMIS ID", "column": "ID"}, {"field": "Expiration Dates", "column": "To"}),
        f"mappings[1] (field 'Expiration Dates'): Expiration Date {UNSUPPORTED}",
    ),
    Refusal(
        "Disabled Flag",
        "ems",
        "UserCredentials",
        "insert",
        ({"field": "iMIS ID", "column": "ID"}, {"field": "Disabled Flag", "value": "Yes"}),
        f"mappings[1] (field 'Disabled Flag'): Disabled Flag {UNSUPPORTED}",
    ),
    Refusal(
        "2017 insert",
        "2017",
        "UserCredentials",
        "insert",
        ({"field": "iMIS ID", "column": "ID"}, {"field": "Password", "column": "Password"}),
        f"action: User Credentials does not allow 'insert' on iMIS 2017. {ONLY_2017}",
    ),
    Refusal(
        "2017 insert with matching",
        "2017",
        "UserCredentials",
        "insert-with-matching",
        (
            {"field": "Email", "column": "Email", "match": True},
            {"field": "Password", "column": "Password"},
        ),
        f"action: User Credentials does not allow 'insert-with-matching' on iMIS 2017. {ONLY_2017}",
    ),
    Refusal(
        "2017 delete",
        "2017",
        "UserCredentials",
        "delete",
        (ID,),
        f"action: User Credentials does not allow 'delete' on iMIS 2017. {ONLY_2017}",
    ),
    Refusal(
        "2017 update of User Credentials",
        "2017",
        "UserCredentials",
        "update",
        (ID, UNLOCK),
        f"action: User Credentials does not allow 'update' on iMIS 2017. {ONLY_2017}",
    ),
    Refusal(
        "2017 UserData constant that locks",
        "2017",
        "UserData",
        "update",
        (
            {"field": "ID", "column": "ID", "match": True},
            {"field": "Is Locked Out", "value": "Yes"},
        ),
        "mappings[1] (field 'Is Locked Out'): locking user accounts is not supported; "
        "Is Locked Out = 0/F/False/N/No unlocks.",
    ),
    Refusal(
        "2017 UserData without Is Locked Out",
        "2017",
        "UserData",
        "update",
        ({"field": "ID", "column": "ID", "match": True},),
        "mappings: an update of UserData unlocks accounts: map Is Locked Out (IsLockedOut) "
        "with 0/F/False/N/No.",
    ),
)


@pytest.mark.parametrize("through", ["embedded", "rest"])
def test_job_level_refusals_write_nothing_and_record_no_run(world: World, through: str) -> None:
    world.give_credentials("ada", password=PASSWORD)
    before = store_state(world.store)
    row = {
        "ID": world.people["ada"],
        "User": "ada",
        "Password": PASSWORD,
        "Unlock": "Yes",
        "First": "Ada",
        "Email": "ada@example.org",
        "From": "2026-01-01",
        "To": "2027-01-01",
    }
    for platform in ("ems", "2017"):
        cases = [c for c in REFUSALS if c.platform == platform]
        with world.serve(platform) as sandbox:
            target: Target = world.store if through == "embedded" else sandbox.rest
            for case in cases:
                job = world.job(case.name, case.source, case.action, list(case.mappings), [row])
                with pytest.raises(JobInvalid) as refused:
                    world.run(target, job, label=through)
                assert case.problem in refused.value.problems, (case.name, refused.value.problems)
                assert "nothing was written" in refused.value.message
    assert world.runs(through).list() == []
    assert store_state(world.store) == before


def test_true_and_false_spellings_pass_the_job_check(world: World) -> None:
    """EMS unlocks with 1/T/True/Y/Yes; 2017's UserData with 0/F/False/N/No (iDMS's booleans)."""
    from idms.jobs.compile import compile_job

    for spelling in ("1", "T", "True", "Y", "Yes"):
        job = world.job(
            spelling,
            "UserCredentials",
            "update",
            [ID, {"field": "Unlock User Account", "value": spelling}],
            [{"ID": "1"}],
        )
        assert compile_job(job, world.store, ["ID"]).mappings[1].extract({}) is True
    world.set_platform("2017")
    for spelling in ("0", "F", "False", "N", "No"):
        job = world.job(
            spelling,
            "UserData",
            "update",
            [ID, {"field": "Is Locked Out", "value": spelling}],
            [{"ID": "1"}],
        )
        assert compile_job(job, world.store, ["ID"]).mappings[1].extract({}) is False


CREATE = [
    {"field": "iMIS ID", "column": "ID"},
    {"field": "First Name", "column": "First"},
    {"field": "Last Name", "column": "Last"},
    {"field": "Email", "column": "Email"},
    {"field": "Username", "column": "User"},
    {"field": "Password", "column": "Password"},
    {"field": "Unlock User Account", "column": "Unlock"},
]


@pytest.mark.parametrize("through", ["embedded", "rest"])
def test_row_refusals_say_exactly_what_is_wrong(world: World, through: str) -> None:
    world.give_credentials("ada", password=PASSWORD)
    ada, grace, alan, nomail = (world.people[n] for n in ("ada", "grace", "alan", "nomail"))
    contacts_before = list(world.store.read("Contact"))
    rows: list[dict[str, Any]] = [
        {"ID": "999999", "Password": PASSWORD},
        {"ID": nomail, "Password": PASSWORD},
        {"ID": ada, "User": "ada.again", "Password": PASSWORD},
        {"ID": grace, "User": "ADA@Example.ORG", "Password": PASSWORD},
        {"ID": alan, "Password": "abc"},
        {"ID": alan, "Password": PASSWORD, "Unlock": "No"},
        {"First": "Mary", "Last": "Somerville", "Email": "mary@example.org", "Password": PASSWORD},
        {
            "First": "Kate",
            "Last": "Johnson",
            "Email": "kate@example.org",
            "User": "Ada@example.org",
            "Password": PASSWORD,
        },
        {
            "First": "Kate",
            "Last": "Johnson",
            "Email": "kate@example.org",
            "User": "kjohnson",
            "Password": "12345",
        },
        {"ID": grace, "Email": "grace@elsewhere.org", "Password": PASSWORD},
        # refused above for a taken username: her credentials can still be made in the same run
        {"ID": grace, "User": "ghopper", "Password": PASSWORD},
        # the contact's own details may come along (as in a record read back)
        {
            "ID": alan,
            "First": "ALAN",
            "Last": "Turing",
            "Email": "alan@example.org",
            "Password": PASSWORD,
        },
    ]
    with world.serve("ems") as sandbox:
        target: Target = world.store if through == "embedded" else sandbox.rest
        report = world.run(
            target, world.job("refusals", "UserCredentials", "insert", CREATE, rows), label=through
        )
        assert counts(report) == expect(inserted=2, errors=10)
        assert world.outcomes(report, through) == [
            (
                2,
                "error",
                "contact_not_found",
                "ImisId",
                "iMIS ID 999999: no contact has this iMIS ID.",
            ),
            (
                3,
                "error",
                "contact_has_no_email",
                "ImisId",
                f"Contact {nomail} has no e-mail address; iMIS needs one to create credentials.",
            ),
            (
                4,
                "error",
                "credentials_exist",
                "ImisId",
                f"Contact {ada} already has user credentials; delete them first to create new "
                "ones.",
            ),
            (
                5,
                "error",
                "username_taken",
                "Username",
                "The username 'ADA@Example.ORG' is already used (usernames ignore case).",
            ),
            (
                6,
                "error",
                "weak_password",
                "Password",
                "The password is too short: it needs at least 6 characters.",
            ),
            (
                7,
                "error",
                "locking_not_supported",
                "UnlockUserAccount",
                "Locking user accounts is not supported.",
            ),
            (
                8,
                "error",
                "required",
                "Username",
                "Creating a new contact with credentials needs First name, Last name, Email, "
                "Username and Password; missing: Username.",
            ),
            (
                9,
                "error",
                "username_taken",
                "Username",
                "The username 'Ada@example.org' is already used (usernames ignore case).",
            ),
            (
                10,
                "error",
                "weak_password",
                "Password",
                "The password is too short: it needs at least 6 characters.",
            ),
            (
                11,
                "error",
                "contact_field_on_existing",
                "Email",
                f"Email 'grace@elsewhere.org' is not contact {grace}'s: contact details can only "
                "be given when the credentials create a new contact (leave iMIS ID blank for "
                "that).",
            ),
            (12, "inserted", None, None, None),
            (13, "inserted", None, None, None),
        ]
        # the refused new contacts were not created: contact and credentials go together
        assert list(world.store.read("Contact")) == contacts_before
        assert world.credentials("grace")["Username"] == "ghopper"

        # an update that would lock, and one that matches nothing
        update = world.job(
            "lock",
            "UserCredentials",
            "update",
            [ID, UNLOCK],
            [{"ID": ada, "Unlock": "No"}, {"ID": "999999", "Unlock": "Yes"}],
        )
        report = world.run(target, update, label=through)
        assert counts(report) == expect(errors=2)
        assert world.outcomes(report, through) == [
            (
                2,
                "error",
                "locking_not_supported",
                "UnlockUserAccount",
                "Locking user accounts is not supported.",
            ),
            (
                3,
                "error",
                "no_match",
                None,
                "No User Credentials record matches this row, so there is nothing to update.",
            ),
        ]


def test_a_new_contact_is_not_left_behind_when_the_store_refuses_its_login(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Even past the rules (another writer took the username meanwhile), the contact and its
    credentials are written together or not at all."""
    world.give_credentials("ada", password=PASSWORD)
    monkeypatch.setattr(credentials_adapter, "taken_usernames", lambda conn, names: set())
    contacts_before = list(world.store.read("Contact"))
    (result,) = world.store.apply(
        "UserCredentials",
        [
            Change(
                ChangeKind.INSERT,
                {
                    "FirstName": "Kate",
                    "LastName": "Johnson",
                    "Email": "kate@example.org",
                    "Username": "ADA@example.org",
                    "Password": PASSWORD,
                },
            )
        ],
    )
    assert result.error is not None
    assert result.error.code == "rejected_by_store"
    assert list(world.store.read("Contact")) == contacts_before
    assert [r["Username"] for r in world.store.read("UserCredentials")] == ["ada@example.org"]


def test_the_password_policy_follows_the_setting(world: World) -> None:
    settings = Settings.load(
        workspace=world.workspace, environ={"IDMS_PASSWORD_MIN_LENGTH": "10"}
    ).with_changes(target=f"sqlite:///{world.workspace / 'imis.db'}")
    strict = EmbeddedTarget.from_settings(settings)
    try:
        assert strict.policy.password_min_length == 10
        results = strict.apply(
            "UserCredentials",
            [
                Change(ChangeKind.INSERT, {"ImisId": world.people["ada"], "Password": "Nine-Char"}),
                Change(
                    ChangeKind.INSERT, {"ImisId": world.people["alan"], "Password": " Spaced-Out "}
                ),
                Change(
                    ChangeKind.INSERT, {"ImisId": world.people["grace"], "Password": "Ten-Chars!"}
                ),
            ],
        )
    finally:
        strict.close()
    assert [(r.error.code, r.error.message) for r in results[:2] if r.error] == [
        ("weak_password", "The password is too short: it needs at least 10 characters."),
        ("weak_password", "The password starts or ends with a space."),
    ]
    assert results[2].ok
    found = world.store.read(
        "UserCredentials", [Filter("Username", Operator.EQ, "GRACE@example.org")]
    )
    assert [r["ImisId"] for r in found] == [world.people["grace"]]
