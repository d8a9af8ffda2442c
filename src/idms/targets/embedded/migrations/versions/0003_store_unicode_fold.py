"""store: text compares ignoring case in every script (idms_fold), not in ASCII only

SQLite's ``lower()`` folds ASCII only, so ``ÅBERG`` never matched ``Åberg``; PostgreSQL's depends
on the database's locale. Every comparison now goes through ``idms_fold(text)``, the SQL spelling
of ``idms.values.folding.fold``: on SQLite the Python function itself, registered on each
connection; on PostgreSQL the SQL function created here. The e-mail and last-name indexes are
rebuilt on it, and the usernames' uniqueness keys are recomputed with it. Contacts get an index in
iMIS ID number order (length, then text).

Revision ID: 0003_store
Revises: 0002_store
Create Date: 2026-12-02 10:00:00
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

from idms.errors import TerminalTargetError
from idms.values.folding import fold

revision = "0003_store"
down_revision = "0002_store"
branch_labels = None
depends_on = None

log = logging.getLogger(__name__)

# PostgreSQL: the steps of ``fold`` in SQL, character for character (a test checks every
# character): NFKC (skipped when the text already is, which is cheap to ask), Turkish İ and ı to
# i, Unicode lower case (ICU's or a UTF-8 locale's, never the database's C locale), final sigma
# to sigma, sharp s to ss. IMMUTABLE and plain SQL, so PostgreSQL inlines it and indexes use it.
PG_FOLD = """
CREATE OR REPLACE FUNCTION idms_fold(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
SELECT replace(translate(lower(translate(
    CASE WHEN value IS NFKC NORMALIZED THEN value ELSE normalize(value, NFKC) END,
    'İı', 'ii') COLLATE {collation}), 'ς', 'σ'), 'ß', 'ss')
$$
"""

# Libc collations whose lower() is Unicode's (when PostgreSQL was built without ICU).
_UTF8_LOCALES = ("C.utf8", "C.UTF-8", "en_US.utf8", "en_US.UTF-8")


def _pg_collation(conn: sa.Connection) -> str:
    """The collation whose ``lower`` folds every script: ICU's root locale where PostgreSQL has
    ICU, else a UTF-8 libc locale."""
    names = {
        name
        for (name,) in conn.execute(
            sa.text("SELECT collname FROM pg_collation WHERE collencoding IN (-1, 6)")
        )
    }
    for name in ("und-x-icu", *_UTF8_LOCALES):
        if name in names:
            return '"' + name + '"'
    raise TerminalTargetError(
        "The embedded store needs a PostgreSQL that can lower-case every script: this server "
        "has neither ICU (collation und-x-icu) nor a UTF-8 locale (C.utf8). Install one of "
        "them, or use a PostgreSQL built with ICU."
    )


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text(PG_FOLD.format(collation=_pg_collation(conn))))
        check = conn.execute(sa.text("SELECT idms_fold('ÅBERG ΟΔΟΣ STRAẞE İNCE')")).scalar()
        expected = fold("ÅBERG ΟΔΟΣ STRAẞE İNCE")
        if check != expected:
            raise TerminalTargetError(
                f"PostgreSQL folds text unlike idms ({check!r}, not {expected!r}): the "
                "embedded store needs a UTF-8 database."
            )
    op.drop_index("ix_contacts_email_ci", table_name="contacts")
    op.drop_index("ix_contacts_last_name_ci", table_name="contacts")
    op.create_index("ix_contacts_email_ci", "contacts", [sa.text("idms_fold(email)")])
    op.create_index("ix_contacts_last_name_ci", "contacts", [sa.text("idms_fold(last_name)")])
    # iMIS IDs sort as numbers: by length, then text (the first page of records, at once).
    op.create_index(
        "ix_contacts_imis_id_order", "contacts", [sa.text("length(imis_id)"), sa.text("imis_id")]
    )
    _refold_usernames(conn)


def _refold_usernames(conn: sa.Connection) -> None:
    """Usernames were unique by ``str.casefold``; now by ``fold`` (NFKC, Turkish i). Where two
    usernames fold alike only now (``İnce`` and ``ince``), the second keeps its old key, so that
    the store still opens, and a warning names it: rename one of the two."""
    users = sa.table(
        "users", sa.column("imis_id"), sa.column("username"), sa.column("username_key")
    )
    rows = conn.execute(sa.select(users.c.imis_id, users.c.username, users.c.username_key)).all()
    taken = {key for _, _, key in rows}
    for imis_id, username, key in rows:
        new = fold(str(username).strip())
        if new == key:
            continue
        if new in taken:
            log.warning(
                "Username %r (iMIS ID %s) is the same as another username ignoring case: "
                "rename one of them.",
                username,
                imis_id,
            )
            continue
        conn.execute(users.update().where(users.c.imis_id == imis_id).values(username_key=new))
        taken.discard(key)
        taken.add(new)


def downgrade() -> None:
    op.drop_index("ix_contacts_imis_id_order", table_name="contacts")
    op.drop_index("ix_contacts_email_ci", table_name="contacts")
    op.drop_index("ix_contacts_last_name_ci", table_name="contacts")
    op.create_index("ix_contacts_email_ci", "contacts", [sa.text("lower(email)")])
    op.create_index("ix_contacts_last_name_ci", "contacts", [sa.text("lower(last_name)")])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS idms_fold(text)")
