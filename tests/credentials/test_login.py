"""Credentials made by import jobs let people log in; five failures lock; an update job unlocks.

Every job here runs either on the embedded store or through the REST target against the sandbox
that serves the same store; the logins always go through the sandbox's ``/token``, as a person
(or iMIS's own sign-in page) would.
"""

from __future__ import annotations

from typing import Any

import pytest

from idms.sources.filters import Filter, Operator

from .support import INCORRECT, LOCKED, World, counts, expect

ADA_PASSWORD = "Analytical-Engine-1843"
MARY_PASSWORD = "Mechanism-Of-Heavens-1"
ALAN_PASSWORD = "Enigma-Bombe-1940"
CREATE_MAPPINGS: list[dict[str, Any]] = [
    {"field": "iMIS ID", "column": "ID"},
    {"field": "First Name", "column": "First"},
    {"field": "Last Name", "column": "Last"},
    {"field": "Email", "column": "Email"},
    {"field": "Username", "column": "User"},
    {"field": "Password", "column": "Password"},
]
UNLOCK_MAPPINGS: list[dict[str, Any]] = [
    {"field": "iMIS ID", "column": "ID", "match": True},
    {"field": "Unlock User Account", "column": "Unlock"},
]


@pytest.mark.parametrize("through", ["embedded", "rest"])
def test_imported_credentials_log_in_then_lock_and_an_update_job_unlocks(
    world: World, through: str
) -> None:
    with world.serve("ems") as sandbox:
        target = world.store if through == "embedded" else sandbox.rest
        ada = world.people["ada"]
        create = world.job(
            "create logins",
            "UserCredentials",
            "insert",
            CREATE_MAPPINGS,
            [
                # an existing contact: no username given, so her e-mail becomes it
                {"ID": ada, "Password": ADA_PASSWORD},
                # a new contact, created with its credentials
                {
                    "First": "Mary",
                    "Last": "Somerville",
                    "Email": "mary@example.org",
                    "User": "msomerville",
                    "Password": MARY_PASSWORD,
                },
            ],
        )
        report = world.run(target, create, label=through)
        assert counts(report) == expect(inserted=2)
        (mary,) = world.store.read("Contact", [Filter("Email", Operator.EQ, "mary@example.org")])
        assert (mary["FirstName"], mary["LastName"]) == ("Mary", "Somerville")

        # the new logins work (usernames compared without case) ...
        answer = sandbox.token("ada@example.org", ADA_PASSWORD)
        assert answer.status_code == 200, answer.text
        assert answer.json()["token_type"] == "bearer"
        assert sandbox.logs_in("MSomerville", MARY_PASSWORD)
        # ... a wrong password does not
        wrong = sandbox.token("ada@example.org", "Not-Her-Password-1")
        assert wrong.status_code == 400
        assert wrong.json() == {"error": "invalid_grant", "error_description": INCORRECT}

        # four more failures make five: the account locks, the right password no longer works
        answers = [sandbox.token("ada@example.org", "Not-Her-Password-1") for _ in range(4)]
        assert [a.json()["error_description"] for a in answers] == [INCORRECT] * 3 + [LOCKED]
        locked = sandbox.token("ada@example.org", ADA_PASSWORD)
        assert locked.status_code == 400
        assert locked.json() == {"error": "invalid_grant", "error_description": LOCKED}
        stored = world.credentials("ada")
        assert (stored["IsLockedOut"], stored["FailedPasswordAttemptCount"]) == (True, 5)
        assert stored["LastLockoutDate"] is not None

        # an update job, matched on the iMIS ID, with Unlock User Account = Yes
        unlock = world.job(
            "unlock", "UserCredentials", "update", UNLOCK_MAPPINGS, [{"ID": ada, "Unlock": "Yes"}]
        )
        report = world.run(target, unlock, label=through)
        assert counts(report) == expect(updated=1)
        (row,) = world.runs(through).rows(report.run_id)
        assert row.before == {"IsLockedOut": True, "FailedPasswordAttemptCount": 5}
        assert row.after == {"IsLockedOut": False, "FailedPasswordAttemptCount": 0}
        stored = world.credentials("ada")
        assert (stored["IsLockedOut"], stored["FailedPasswordAttemptCount"]) == (False, 0)
        assert sandbox.logs_in("ada@example.org", ADA_PASSWORD)

        # unlocking an account that is not locked changes nothing
        again = world.run(target, unlock, label=through)
        assert counts(again) == expect(unchanged=1)


@pytest.mark.parametrize("through", ["embedded", "rest"])
def test_insert_with_matching_finds_the_contact_then_its_login_works(
    world: World, through: str
) -> None:
    with world.serve("ems") as sandbox:
        target = world.store if through == "embedded" else sandbox.rest
        job = world.job(
            "logins by e-mail and name",
            "UserCredentials",
            "insert-with-matching",
            [
                {"field": "Email", "column": "Email", "match": True},
                {"field": "Last Name", "column": "Last", "match": True},
                {"field": "Username", "column": "User"},
                {"field": "Password", "column": "Password"},
            ],
            [
                {
                    "Email": "ALAN@example.org",
                    "Last": "turing",
                    "User": "aturing",
                    "Password": ALAN_PASSWORD,
                },
                {
                    "Email": "alan@example.org",
                    "Last": "Lovelace",
                    "User": "nobody",
                    "Password": ALAN_PASSWORD,
                },
            ],
        )
        report = world.run(target, job, label=through)
        assert counts(report) == expect(inserted=1, errors=1)
        outcomes = world.outcomes(report, through)
        assert outcomes[1][1:4] == ("error", "contact_not_found", None)
        assert world.credentials("alan")["Username"] == "aturing"
        assert sandbox.logs_in("aturing", ALAN_PASSWORD)


@pytest.mark.parametrize("through", ["embedded", "rest"])
def test_2017_unlocks_through_a_user_data_job(world: World, through: str) -> None:
    # On iMIS 2017 the credentials are iMIS's own; idms only unlocks them.
    world.give_credentials("ada", "grace", password=ADA_PASSWORD)
    with world.serve("2017") as sandbox:
        target = world.store if through == "embedded" else sandbox.rest
        assert world.store.policy.platform == "2017"
        sandbox.lock("ada@example.org")
        sandbox.lock("grace@example.org")
        assert not sandbox.logs_in("ada@example.org", ADA_PASSWORD)
        names = {r["Username"]: r["FullName"] for r in target.read("UserData")}
        assert names == {"ada@example.org": "Ada Lovelace", "grace@example.org": "Grace Hopper"}
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
                {"ID": world.people["grace"], "Locked": "Yes"},  # locking: refused
            ],
        )
        report = world.run(target, job, label=through)
        assert counts(report) == expect(updated=1, errors=1)
        assert world.outcomes(report, through)[1] == (
            3,
            "error",
            "locking_not_supported",
            "IsLockedOut",
            "Locking user accounts is not supported; Is Locked Out = No unlocks.",
        )
        assert sandbox.logs_in("ada@example.org", ADA_PASSWORD)
        assert not sandbox.logs_in("grace@example.org", ADA_PASSWORD)
        stored = world.credentials("grace")
        assert (stored["IsLockedOut"], stored["FailedPasswordAttemptCount"]) == (True, 5)


def test_without_a_password_the_account_exists_but_cannot_log_in(world: World) -> None:
    from idms.targets.embedded.passwords import LoginOutcome

    job = world.job(
        "login without password",
        "UserCredentials",
        "insert",
        [{"field": "iMIS ID", "column": "ID"}],
        [{"ID": world.people["grace"]}],
    )
    report = world.run(world.store, job)
    assert counts(report) == expect(inserted=1)
    stored = world.credentials("grace")
    assert stored["Username"] == "grace@example.org"  # the contact's e-mail, as iMIS does
    assert world.store.attempt_login("grace@example.org", "").outcome is LoginOutcome.NO_PASSWORD
    with world.serve("ems") as sandbox:
        for password in ("", "Anything-At-All-1"):
            answer = sandbox.token("grace@example.org", password)
            assert answer.status_code == 400
            assert answer.json()["error"] == "invalid_grant"
    # not counted as failures: there was no password to get wrong
    assert world.credentials("grace")["FailedPasswordAttemptCount"] == 0


@pytest.mark.parametrize("through", ["embedded", "rest"])
def test_delete_keeps_the_contact_insert_works_again_and_undo_restores_the_login(
    world: World, through: str
) -> None:
    from idms.jobs.undo import undo_run

    ada = world.people["ada"]
    mappings = [CREATE_MAPPINGS[0], CREATE_MAPPINGS[4], CREATE_MAPPINGS[5]]  # ID, User, Password
    with world.serve("ems") as sandbox:
        target = world.store if through == "embedded" else sandbox.rest
        create = world.job(
            "create",
            "UserCredentials",
            "insert",
            mappings,
            [{"ID": ada, "User": "ada", "Password": ADA_PASSWORD}],
        )
        assert counts(world.run(target, create, label=through)) == expect(inserted=1)
        delete = world.job(
            "delete", "UserCredentials", "delete", [UNLOCK_MAPPINGS[0]], [{"ID": ada}]
        )
        deleted = world.run(target, delete, label=through)
        assert counts(deleted) == expect(deleted=1)
        assert list(world.store.read("UserCredentials")) == []
        (contact,) = world.store.read("Contact", [Filter("ImisId", Operator.EQ, ada)])
        assert contact["Email"] == "ada@example.org"  # the contact stays
        assert not sandbox.logs_in("ada", ADA_PASSWORD)

        # undo puts the login back, but not its password: the run never kept it
        undone = undo_run(deleted.run_id, target=target, runs=world.runs(through))
        assert undone.counts.as_dict()["inserted"] == 1
        assert world.credentials("ada")["Username"] == "ada"
        assert not sandbox.logs_in("ada", ADA_PASSWORD)
        assert counts(world.run(target, delete, label=through)) == expect(deleted=1)

        # the vendor's way to change credentials: delete them, then insert new ones
        renamed = world.job(
            "again",
            "UserCredentials",
            "insert",
            mappings,
            [{"ID": ada, "User": "countess", "Password": MARY_PASSWORD}],
        )
        assert counts(world.run(target, renamed, label=through)) == expect(inserted=1)
        assert sandbox.logs_in("countess", MARY_PASSWORD)
        assert not sandbox.logs_in("ada", ADA_PASSWORD)
