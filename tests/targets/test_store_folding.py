"""The store's case-free comparisons keep their indexes, and a store made before them upgrades.

Migration ``0003_store`` rebuilds the e-mail and last-name indexes on ``idms_fold(...)`` and
recomputes the usernames' keys; matching on those fields must still be an index look-up (on
SQLite and on PostgreSQL), or matching 100,000 rows would scan the table 200 times.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from alembic import command
from sqlalchemy import event, insert, select

from idms.db import make_engine
from idms.targets.base import Change, ChangeKind
from idms.targets.embedded.adapters.folding import register_fold
from idms.targets.embedded.migrate import alembic_config
from idms.targets.embedded.schema import contacts, users
from idms.targets.embedded.target import EmbeddedTarget


def store_at(url: str, revision: str) -> None:
    """A store whose schema stops at ``revision`` (as an older idms left it)."""
    engine = make_engine(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", register_fold)
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), revision)
    finally:
        engine.dispose()


def test_a_store_made_before_the_fold_upgrades_its_indexes_and_username_keys(
    database_url: str,
) -> None:
    store_at(database_url, "0002_store")
    now = datetime.now(UTC).replace(tzinfo=None)
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            for imis_id, last, username in [("101", "İnce", "İnce"), ("102", "Öz", "ÖZ")]:
                conn.execute(
                    insert(contacts).values(
                        imis_id=imis_id,
                        contact_key=f"00000000-0000-0000-0000-000000000{imis_id}",
                        is_organization=False,
                        first_name="Test",
                        last_name=last,
                        mark_for_erasure=False,
                        created_on=now,
                        updated_on=now,
                    )
                )
                conn.execute(
                    insert(users).values(
                        imis_id=imis_id,
                        username=username,
                        username_key=username.casefold(),  # the key before 0003
                        is_locked_out=False,
                        failed_password_attempt_count=0,
                        is_disabled=False,
                        created_on=now,
                    )
                )
    finally:
        engine.dispose()

    target = EmbeddedTarget(database_url)  # upgrades to the newest schema
    try:
        with target.engine.connect() as conn:
            keys = dict(conn.execute(select(users.c.imis_id, users.c.username_key)).all())
        assert keys == {"101": "ince", "102": "öz"}
        found = target.match("Contact", ["LastName"], [{"LastName": "ince"}, {"LastName": "öZ"}])
        assert [[r["ImisId"] for r in hits] for hits in found] == [["101"], ["102"]]
        (taken,) = target.apply(
            "UserCredentials",
            [
                Change(
                    ChangeKind.INSERT,
                    {
                        "FirstName": "New",
                        "LastName": "Person",
                        "Email": "new@example.org",
                        "Username": "INCE",
                        "Password": "Correct-Horse-9",
                    },
                    ref=1,
                )
            ],
        )
        assert taken.error is not None
        assert taken.error.code == "username_taken"
    finally:
        target.close()


def test_matching_and_the_first_page_of_records_are_index_look_ups(database_url: str) -> None:
    target = EmbeddedTarget(database_url)
    statements: list[tuple[str, Any]] = []

    def keep(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "FROM contacts" in statement and ("idms_fold" in statement or "LIMIT" in statement):
            statements.append((statement, parameters))

    try:
        target.apply(
            "Contact",
            [
                Change(ChangeKind.INSERT, {"FirstName": "A", "LastName": f"Åberg{i}"}, ref=i)
                for i in range(50)
            ],
        )
        event.listen(target.engine, "before_cursor_execute", keep)
        target.match("Contact", ["Email"], [{"Email": "ÅSA@EXAMPLE.ORG"}])
        target.match("Contact", ["LastName"], [{"LastName": "ÅBERG7"}])
        assert len(list(target.read("Contact", limit=5))) == 5  # what `idms records` reads
        event.remove(target.engine, "before_cursor_execute", keep)
        assert len(statements) == 3
        plans = []
        with target.engine.connect() as conn:
            cursor = conn.connection.cursor()
            sqlite = target.engine.dialect.name == "sqlite"
            if not sqlite:  # a 50-row table is scanned whatever indexes it has, unless told
                cursor.execute("SET enable_seqscan = off")
            for statement, parameters in statements:
                explain = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
                cursor.execute(explain + statement, parameters)
                plans.append(" ".join(str(row) for row in cursor.fetchall()))
            cursor.close()
        assert "ix_contacts_email_ci" in plans[0], plans[0]
        assert "ix_contacts_last_name_ci" in plans[1], plans[1]
        # The first page of contacts in iMIS ID order is read off an index, not sorted.
        assert "ix_contacts_imis_id_order" in plans[2], plans[2]
    finally:
        target.close()
