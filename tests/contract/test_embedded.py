"""The embedded target against the contract, on SQLite and on PostgreSQL.

Besides the shared contract, what only the embedded store offers: logins (``attempt_login``) and
panel creation (``create_panel``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from idms.db import make_engine
from idms.errors import PanelDefinitionError, UnknownSourceError
from idms.targets.base import Target
from idms.targets.embedded import schema
from idms.targets.embedded.passwords import LoginOutcome
from idms.targets.embedded.target import EmbeddedTarget
from pgdb import fresh_database

from .folding import CaseFoldingContract
from .seeding import seed_store
from .suite import PANELS, PASSWORD, PanelContract, TargetContract, inserted, one, update


class EmbeddedContract(TargetContract, PanelContract, CaseFoldingContract):
    """The contract's hooks for the embedded store, and its own extras."""

    def seed_reference_data(self, target: Target) -> None:
        assert isinstance(target, EmbeddedTarget)
        seed_store(target)

    def seed_panels(self, target: Target) -> None:
        assert isinstance(target, EmbeddedTarget)
        for definition in PANELS:
            target.create_panel(definition)

    # ---- logins: failed attempts lock the account; an unlock through apply opens it ----------

    def test_login_locks_after_failed_attempts_and_unlock_reopens(self, seeded: Target) -> None:
        assert isinstance(seeded, EmbeddedTarget)
        (contact,) = inserted(
            seeded, "Contact", {"FirstName": "Ada", "LastName": "Lovelace", "Email": "a@x.org"}
        )
        ada = contact["ImisId"]
        inserted(
            seeded, "UserCredentials", {"ImisId": ada, "Username": "ada", "Password": PASSWORD}
        )
        assert seeded.attempt_login("ADA", PASSWORD).outcome is LoginOutcome.OK
        outcomes = [seeded.attempt_login("ada", "wrong-password").outcome for _ in range(5)]
        assert outcomes == [LoginOutcome.WRONG_PASSWORD] * 4 + [LoginOutcome.LOCKED_OUT]
        assert seeded.attempt_login("ada", PASSWORD).outcome is LoginOutcome.LOCKED_OUT
        locked = one(seeded, "UserCredentials", ImisId=ada)
        assert (locked["IsLockedOut"], locked["FailedPasswordAttemptCount"]) == (True, 5)
        assert locked["LastLockoutDate"] is not None
        unlock = update(seeded, "UserCredentials", {"ImisId": ada}, {"UnlockUserAccount": True})
        assert unlock.before == locked
        assert unlock.after is not None
        assert (unlock.after["IsLockedOut"], unlock.after["FailedPasswordAttemptCount"]) == (
            False,
            0,
        )
        assert one(seeded, "UserCredentials", ImisId=ada) == unlock.after
        result = seeded.attempt_login("ada", PASSWORD)
        assert (result.outcome, result.imis_id) == (LoginOutcome.OK, ada)
        assert seeded.attempt_login("nobody", PASSWORD).outcome is LoginOutcome.UNKNOWN_USER

    # ---- panel definitions ---------------------------------------------------------------------

    def test_malformed_panel_lists_every_problem_and_creates_nothing(self, seeded: Target) -> None:
        assert isinstance(seeded, EmbeddedTarget)
        before = [s.name for s in seeded.sources()]
        text = """\
name: 9Lives
kind: multi
fields:
  - {name: ImisId, type: string}
  - {name: Level, type: code}
  - {name: Hours, type: integer, length: 5}
  - {name: hours, type: decimal}
  - {name: Secret, type: password}
"""
        with pytest.raises(PanelDefinitionError) as info:
            seeded.create_panel(text)
        problems = info.value.problems
        assert len(problems) == 6, problems
        assert problems[0].startswith("name: '9Lives' must start with a letter")
        assert problems[1] == "fields.0 (ImisId): 'ImisId' is reserved (the panel's key fields)"
        assert problems[2] == "fields.1 (Level): a code field needs a lookup table"
        assert problems[3] == "fields.2 (Hours): length applies to string fields only"
        assert problems[4] == "fields.3 (hours): the field name is used twice"
        assert problems[5].startswith("fields.4 (Secret): type 'password' is not a panel type")
        assert [s.name for s in seeded.sources()] == before
        assert not [t for t in inspect(seeded.engine).get_table_names() if t.startswith("ud_")]
        with pytest.raises(UnknownSourceError):
            seeded.describe("Panel 9Lives")

    def test_panel_names_must_be_free(self, seeded: Target) -> None:
        assert isinstance(seeded, EmbeddedTarget)
        with pytest.raises(PanelDefinitionError) as info:
            seeded.create_panel(PANELS[0].replace("name: Profile", "name: Contact"))
        assert info.value.problems == ["name: 'Contact' is already the name of a source"]
        seeded.create_panel(PANELS[0])
        with pytest.raises(PanelDefinitionError) as again:
            seeded.create_panel(PANELS[0].replace("name: Profile", "name: PROFILE"))
        assert again.value.problems == ["name: 'PROFILE' is already the name of a source"]
        assert seeded.describe("Panel Profile").name == "Profile"


class TestEmbeddedSQLite(EmbeddedContract):
    @pytest.fixture
    def target(self, tmp_path: Path) -> Iterator[EmbeddedTarget]:
        target = EmbeddedTarget(f"sqlite:///{tmp_path / 'store.db'}")
        yield target
        target.close()


@pytest.fixture(scope="module")
def postgres_store_url() -> Iterator[str]:
    """One PostgreSQL database for this module, dropped at the end (skipped with the reason
    when no server answers, like ``postgres_url``, whose server it uses).

    A database per test (``postgres_url``) costs half a second to create and migrate, which
    for a hundred tests is most of a minute; each test here gets the store emptied instead.
    """
    with fresh_database("idms_contract") as url:
        EmbeddedTarget(url).close()  # creates the store's tables
        yield url


def empty_store(url: str) -> None:
    """Back to a new store: panel tables dropped, every store table emptied (counters too)."""
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            for name in inspect(conn).get_table_names():
                if name.startswith("ud_"):
                    conn.execute(text(f'DROP TABLE "{name}"'))
            for table in reversed(schema.metadata.sorted_tables):
                conn.execute(table.delete())
    finally:
        engine.dispose()


@pytest.mark.postgres
class TestEmbeddedPostgres(EmbeddedContract):
    @pytest.fixture
    def target(self, postgres_store_url: str) -> Iterator[EmbeddedTarget]:
        empty_store(postgres_store_url)
        target = EmbeddedTarget(postgres_store_url)
        yield target
        target.close()


def test_new_contact_keys_are_time_ordered_guids() -> None:
    import uuid

    from idms.targets.embedded.keys import GuidPool, new_guid

    pool = GuidPool()  # a batch's keys: many from one random buffer, refilled as it empties
    keys = [new_guid() for _ in range(200)] + [pool() for _ in range(3000)]
    keys += [GuidPool()() for _ in range(50)]
    assert len(set(keys)) == 3250
    for key in keys:
        parsed = uuid.UUID(key)
        assert (parsed.version, parsed.variant) == (7, uuid.RFC_4122)
        assert key == key.upper()
    # Keys made in later milliseconds sort after earlier ones.
    first = new_guid()
    import time

    time.sleep(0.002)
    assert new_guid()[:13] > first[:13]
