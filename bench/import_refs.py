"""The references an import is measured against: the same rows into the same store tables.

Each reference writes a contacts CSV (``bench_import.make_csv``) into a store whose tables were
created by the store itself (``open_store`` on a fresh database: the same columns, keys and
indexes, the case-insensitive ``idms_fold`` ones included), with the store's rules as far as a
reference reasonably keeps them: matched on the folded e-mail, new contacts numbered from the
store's ``LAST_CONTACT_ID`` counter (one bump per batch or per statement) with a time-ordered
ContactKey GUID, a default-purpose ``Address`` row preferred for mailing and billing, blanks
written as NULL, ``updated_on`` touched only on rows that changed, and only changed rows
rewritten. What none of them does: typing and checking cells, lookup codes, results per row,
staging and journalling for resume, undo images; nor the store's guard against a counter value
already used by a supplied iMIS ID (never the case in a fresh store), nor duplicate e-mails
within the file (the generated file has none).

- :func:`sqlite_executemany`: ``sqlite3`` ``executemany`` in batches of 1,000, each committed,
  on the store's own connection (WAL, ``synchronous=NORMAL``, ``idms_fold`` registered).
- :func:`pg_copy_merge`: ``COPY`` of the file into a temporary table, then one set-based merge
  (``INSERT ... SELECT`` the new, ``UPDATE ... FROM`` the changed with ``IS DISTINCT FROM``),
  one transaction.
- :func:`pg_naive`: the loop everyone writes first: per row a ``SELECT`` on the folded e-mail,
  then ``INSERT`` or ``UPDATE``, committed every 1,000 rows.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BATCH = 1000
COUNTER = "LAST_CONTACT_ID"  # idms.targets.embedded.counters.CONTACT_ID
PURPOSE = "Address"  # the store's default address purpose

# The CSV's columns (bench_import.COLUMNS, in order) as the store's columns.
CONTACT = (
    "email", "first_name", "last_name", "middle_name", "title", "home_phone", "work_phone",
    "member_type", "status", "birth_date", "join_date",
)  # fmt: skip
ADDRESS = ("city", "state_province", "postal_code")
CSV_COLUMNS = CONTACT + ADDRESS


def now() -> str:
    """The store's timestamp: UTC, naive, whole seconds (``EmbeddedTarget``'s ``ctx.now``)."""
    return str(datetime.now(UTC).replace(tzinfo=None, microsecond=0))


def batches(csv_path: Path) -> Iterator[list[dict[str, Any]]]:
    """The file's rows as store columns, blanks as None, 1,000 at a time."""
    with csv_path.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        next(reader)
        batch: list[dict[str, Any]] = []
        for row in reader:
            batch.append({c: (v.strip() or None) for c, v in zip(CSV_COLUMNS, row, strict=True)})
            if len(batch) >= BATCH:
                yield batch
                batch = []
        if batch:
            yield batch


def _changed(columns: Sequence[str], param: str) -> str:
    return " OR ".join(f"{c} IS NOT {param % c}" for c in columns)


# ---- SQLite ----------------------------------------------------------------------------------


def sqlite_executemany(url: str, csv_path: Path) -> dict[str, int]:
    """One pass of the SQLite reference into the store at ``url`` (tables already created)."""
    from idms.targets.embedded.keys import new_guid
    from idms.targets.embedded.store import open_store
    from idms.values.folding import fold

    engine = open_store(url)  # the store's connection settings and its idms_fold function
    raw = engine.raw_connection()
    conn: Any = raw.driver_connection  # autocommit: BEGIN IMMEDIATE ... COMMIT below, as idms
    names = ", ".join(CONTACT)
    contact_insert = (
        f"INSERT INTO contacts (imis_id, contact_key, is_organization, mark_for_erasure, "
        f"created_on, updated_on, {names}) VALUES (:imis_id, :contact_key, 0, 0, :now, :now, "
        + ", ".join(f":{c}" for c in CONTACT)
        + ")"
    )
    address_insert = (
        "INSERT INTO addresses (imis_id, address_purpose, city, state_province, postal_code, "
        "is_preferred_mailing, is_preferred_billing, is_preferred_shipping) "
        f"VALUES (:imis_id, '{PURPOSE}', :city, :state_province, :postal_code, 1, 1, 0)"
    )
    contact_update = (
        "UPDATE contacts SET "
        + ", ".join(f"{c} = :{c}" for c in CONTACT)
        + ", updated_on = :now WHERE imis_id = :imis_id AND ("
        + _changed(CONTACT, ":%s")
        + ")"
    )
    address_update = (
        "UPDATE addresses SET "
        + ", ".join(f"{c} = :{c}" for c in ADDRESS)
        + f" WHERE imis_id = :imis_id AND address_purpose = '{PURPOSE}' AND ("
        + _changed(ADDRESS, ":%s")
        + ")"
    )
    bump = (
        "INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) "
        "DO UPDATE SET value = value + excluded.value RETURNING value"
    )
    counts = {"inserted": 0, "updated": 0, "unchanged": 0}
    try:
        for batch in batches(csv_path):
            stamp = now()
            keys = [fold(r["email"]) for r in batch]
            marks = ",".join("?" * len(keys))
            conn.execute("BEGIN IMMEDIATE")
            found = dict(
                conn.execute(
                    f"SELECT idms_fold(email), imis_id FROM contacts "
                    f"WHERE idms_fold(email) IN ({marks})",
                    keys,
                )
            )
            new, old = [], []
            for key, row in zip(keys, batch, strict=True):
                row["now"] = stamp
                imis_id = found.get(key)
                if imis_id is None:
                    new.append(row)
                else:
                    row["imis_id"] = imis_id
                    old.append(row)
            if new:
                last = conn.execute(bump, (COUNTER, len(new))).fetchone()[0]
                for n, row in enumerate(new, start=last - len(new) + 1):
                    row["imis_id"], row["contact_key"] = str(n), new_guid()
                conn.executemany(contact_insert, new)
                conn.executemany(address_insert, new)
            if old:
                before = conn.total_changes
                conn.executemany(contact_update, old)
                updated = conn.total_changes - before
                conn.executemany(address_update, old)
                counts["updated"] += updated
                counts["unchanged"] += len(old) - updated
            conn.execute("COMMIT")
            counts["inserted"] += len(new)
    finally:
        raw.close()
        engine.dispose()
    return counts


# ---- PostgreSQL --------------------------------------------------------------------------------

# A version-7 UUID (time-ordered, as idms.targets.embedded.keys.new_guid) on PostgreSQL < 18,
# upper case as iMIS writes ContactKey.
PG_UUID7 = (
    "upper(encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid()) placing "
    "substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3) "
    "FROM 1 FOR 6), 52, 1), 53, 1), 'hex')::uuid::text)"
)


def pg_copy_merge(dsn: str, csv_path: Path) -> dict[str, int]:
    """One pass of the set-based reference: COPY into a temporary table, merge, commit."""
    import psycopg

    typed = {"birth_date": "::date", "join_date": "::date"}
    src = {c: f"nullif(trim(i.{c}), ''){typed.get(c, '')}" for c in CSV_COLUMNS}
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        stamp = now()
        cols = ", ".join(f"{c} text" for c in CSV_COLUMNS)
        cur.execute(f"CREATE TEMPORARY TABLE incoming (n bigserial, {cols}) ON COMMIT DROP")
        with (
            cur.copy(
                f"COPY incoming ({', '.join(CSV_COLUMNS)}) FROM STDIN WITH (FORMAT csv, HEADER)"
            ) as copy,
            csv_path.open("rb") as f,
        ):
            while chunk := f.read(1 << 20):
                copy.write(chunk)
        cur.execute("ANALYZE incoming")
        # The match: each incoming row with the contact its folded e-mail finds (the
        # idms_fold(email) index serves it), kept for the statements below.
        cur.execute(
            "CREATE TEMPORARY TABLE matched ON COMMIT DROP AS SELECT i.*, c.imis_id "
            "FROM incoming i LEFT JOIN contacts c ON idms_fold(c.email) = idms_fold(trim(i.email))"
        )
        cur.execute("SELECT count(*) FILTER (WHERE imis_id IS NULL), count(*) FROM matched")
        new, total = cur.fetchone() or (0, 0)
        inserted = updated = 0
        if new:
            cur.execute(
                "INSERT INTO counters (name, value) VALUES (%s, %s) ON CONFLICT (name) "
                "DO UPDATE SET value = counters.value + excluded.value RETURNING value",
                (COUNTER, new),
            )
            first = int((cur.fetchone() or (0,))[0]) - new
            cur.execute(
                "CREATE TEMPORARY TABLE fresh ON COMMIT DROP AS "
                "SELECT i.*, (%s + row_number() OVER (ORDER BY i.n))::text AS new_id "
                "FROM matched i WHERE i.imis_id IS NULL",
                (first,),
            )
            cur.execute(
                f"INSERT INTO contacts (imis_id, contact_key, is_organization, mark_for_erasure, "
                f"created_on, updated_on, {', '.join(CONTACT)}) "
                f"SELECT i.new_id, {PG_UUID7}, false, false, %s, %s, "
                + ", ".join(src[c] for c in CONTACT)
                + " FROM fresh i ORDER BY i.n",
                (stamp, stamp),
            )
            inserted = cur.rowcount
            cur.execute(
                "INSERT INTO addresses (imis_id, address_purpose, city, state_province, "
                "postal_code, is_preferred_mailing, is_preferred_billing, is_preferred_shipping) "
                f"SELECT i.new_id, '{PURPOSE}', "
                + ", ".join(src[c] for c in ADDRESS)
                + ", true, true, false FROM fresh i ORDER BY i.n"
            )
        if total > new:
            values = ", ".join(src[c] for c in CONTACT)
            cur.execute(
                "UPDATE contacts c SET ("
                + ", ".join(CONTACT)
                + f", updated_on) = ({values}, %s) FROM matched i "
                f"WHERE c.imis_id = i.imis_id "
                f"AND ({', '.join('c.' + c for c in CONTACT)}) IS DISTINCT FROM ({values})",
                (stamp,),
            )
            updated = cur.rowcount
            values = ", ".join(src[c] for c in ADDRESS)
            cur.execute(
                f"UPDATE addresses a SET ({', '.join(ADDRESS)}) = ({values}) FROM matched i "
                f"WHERE a.imis_id = i.imis_id "
                f"AND a.address_purpose = '{PURPOSE}' "
                f"AND ({', '.join('a.' + c for c in ADDRESS)}) IS DISTINCT FROM ({values})"
            )
        conn.commit()
    return {"inserted": inserted, "updated": updated, "unchanged": total - new - updated}


def pg_naive(dsn: str, csv_path: Path) -> dict[str, int]:
    """One pass of the naive reference: per row a match, then an insert or an update."""
    import psycopg

    from idms.targets.embedded.keys import new_guid
    from idms.values.folding import fold

    names = ", ".join(CONTACT)
    contact_insert = (
        f"INSERT INTO contacts (imis_id, contact_key, is_organization, mark_for_erasure, "
        f"created_on, updated_on, {names}) VALUES (%(imis_id)s, %(contact_key)s, false, false, "
        "%(now)s, %(now)s, " + ", ".join(f"%({c})s" for c in CONTACT) + ")"
    )
    address_insert = (
        "INSERT INTO addresses (imis_id, address_purpose, city, state_province, postal_code, "
        "is_preferred_mailing, is_preferred_billing, is_preferred_shipping) VALUES "
        f"(%(imis_id)s, '{PURPOSE}', %(city)s, %(state_province)s, %(postal_code)s, "
        "true, true, false)"
    )
    contact_update = (
        "UPDATE contacts SET "
        + ", ".join(f"{c} = %({c})s" for c in CONTACT)
        + ", updated_on = %(now)s WHERE imis_id = %(imis_id)s AND ("
        + ", ".join(CONTACT)
        + ") IS DISTINCT FROM ("
        + ", ".join(f"%({c})s" for c in CONTACT)
        + ")"
    )
    address_update = (
        "UPDATE addresses SET "
        + ", ".join(f"{c} = %({c})s" for c in ADDRESS)
        + f" WHERE imis_id = %(imis_id)s AND address_purpose = '{PURPOSE}' AND ("
        + ", ".join(ADDRESS)
        + ") IS DISTINCT FROM ("
        + ", ".join(f"%({c})s" for c in ADDRESS)
        + ")"
    )
    counts = {"inserted": 0, "updated": 0, "unchanged": 0}
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        for batch in batches(csv_path):
            stamp = now()
            for row in batch:
                row["now"] = stamp
                cur.execute(
                    "SELECT imis_id FROM contacts WHERE idms_fold(email) = %s",
                    (fold(row["email"]),),
                )
                found = cur.fetchone()
                if found is None:
                    cur.execute(
                        "INSERT INTO counters (name, value) VALUES (%s, 1) ON CONFLICT (name) "
                        "DO UPDATE SET value = counters.value + 1 RETURNING value",
                        (COUNTER,),
                    )
                    row["imis_id"] = str((cur.fetchone() or (0,))[0])
                    row["contact_key"] = new_guid()
                    cur.execute(contact_insert, row)
                    cur.execute(address_insert, row)
                    counts["inserted"] += 1
                else:
                    row["imis_id"] = found[0]
                    cur.execute(contact_update, row)
                    counts["updated" if cur.rowcount else "unchanged"] += 1
                    cur.execute(address_update, row)
            conn.commit()
    return counts


def timed(reference: Any, where: str, csv_path: Path) -> tuple[float, float, dict[str, int]]:
    """Wall-clock seconds, this process's CPU seconds, and the outcome counts of one pass."""
    start, cpu = time.perf_counter(), time.process_time()
    counts = reference(where, csv_path)
    return time.perf_counter() - start, time.process_time() - cpu, counts
