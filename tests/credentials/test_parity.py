"""The same credentials jobs give the same outcomes and records on both targets and platforms.

Two identical worlds: one runs every job on its embedded store, the other through the REST target
against a sandbox serving its store. After each job the counts and every row's outcome (code,
field, message) are equal, and so are the resulting logins and contacts (times left aside; a new
contact's iMIS ID depends on which of two concurrent REST calls reached the counter first).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from idms.targets.base import Record, Target

from .support import World, comparable, counts, expect, new_world

PASSWORD = "Countess-Of-Lovelace-1"
ID = {"field": "iMIS ID", "column": "ID", "match": True}
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
