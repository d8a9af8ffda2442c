"""The references an import is measured against: the same rows into the same store tables.

Each reference writes a contacts CSV (``bench_import.make_csv``) into a store whose tables were
created by the store itself (``open_store`` on a fresh database: the same columns, keys and
indexes, the case-insensitive ``idms_fold`` ones included), with the store's rules as far as a
reference reasonably keeps them: matched on the folded e-mail, new contacts numbered from the
store's ``LAST_CONTACT_ID`` counter (one bump per batch or per statement) with a time-ordered
ContactKey GUID, a default-purpose ``Address`` row preferred for mailing and billing, blanks
written as NULL, ``updated_on`` touched only on rows that changed, and only changed rows
rewritten. What executemany and the PostgreSQL references leave out: typing and checking cells,
lookup codes, results per row, journalling, before- and after-images. The two floors keep
exactly those (no undo, no leases, no rules beyond them). None of them keeps the store's guard
against a counter value already used by a supplied iMIS ID (never the case in a fresh store),
nor handles duplicate e-mails within the file (the generated file has none).

- :func:`sqlite_executemany`: ``sqlite3`` ``executemany`` in batches of 1,000, each committed,
  on the store's own connection (WAL, ``synchronous=NORMAL``, ``idms_fold`` registered).
- :func:`sqlite_floor`: executemany plus the guarantees above, as a per-row Python loop on
  tuples: cells typed by idms's coercers, codes checked, matched contacts read whole and
  compared, each row's result with its images journalled in the store's transaction and
  recorded in a second database (the suite's ``run_rows``), committed per batch.
- :func:`sqlite_set_floor`: the same guarantees, set-based (issue 18): Python per row only types
  the cells (and folds the e-mail) into a tuple; each batch is staged by one executemany into a
  TEMP table, and SQL statements check the codes, match, diff, number the new contacts, insert,
  update, and make the images (JSON) and the journal; the row results come back to Python only
  as JSON text, for the suite.
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
# The same columns as the source's fields (bench_import.FIELDS).
FIELD_NAMES = (
    "Email", "FirstName", "LastName", "MiddleName", "Title", "HomePhone", "WorkPhone",
    "MemberType", "Status", "BirthDate", "JoinDate", "City", "StateProvince", "PostalCode",
)  # fmt: skip


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

# The contact-ID counter raised by a batch's new contacts, its new value returned.
SQLITE_BUMP = (
    "INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) "
    "DO UPDATE SET value = value + excluded.value RETURNING value"
)
# The batch journal of the batch before, forgotten once the next one is written (as idms does).
SQLITE_FORGET = "DELETE FROM idms_applied_batches WHERE batch_key = ?"


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
                last = conn.execute(SQLITE_BUMP, (COUNTER, len(new))).fetchone()[0]
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


def _suite(csv_path: Path, suite_path: Path | None) -> Any:
    """The second database a run's row results are recorded in (the suite's ``run_rows``)."""
    import sqlite3

    suite = sqlite3.connect(suite_path or csv_path.with_suffix(".suite.db"), isolation_level=None)
    suite.execute("PRAGMA journal_mode=WAL")
    suite.execute("PRAGMA synchronous=NORMAL")
    suite.execute(
        "CREATE TABLE IF NOT EXISTS run_rows (run_id TEXT, seq INTEGER, row_number INTEGER, "
        "outcome TEXT, identity TEXT, before TEXT, after TEXT, PRIMARY KEY (run_id, seq))"
    )
    return suite


def sqlite_floor(url: str, csv_path: Path, suite_path: Path | None = None) -> dict[str, int]:
    """The least an import that keeps idms's guarantees can do per row in CPython: the
    executemany reference plus, per row, what no import may skip. Each cell is typed by idms's
    own coercer for its field and each lookup code checked (a set look-up); matched contacts
    are read whole (contact and default address: their before-images) and compared in Python,
    so unchanged rows are known and only changed ones rewritten; each row's result (its
    identity, before- and after-images as JSON) is journalled in the store's transaction and
    recorded in a second database (the suite's ``run_rows`` shape), committed per batch. No
    objects per row beyond a tuple and a dict, no rules beyond those, no undo, no leases: a
    floor, not a design (the figures say how far idms's pipeline is above it)."""
    from idms.runs.rows import dumps as js  # the suite's JSON (None stays NULL)
    from idms.targets.embedded.keys import new_guid
    from idms.targets.embedded.lookups import load_codes
    from idms.targets.embedded.store import open_store
    from idms.targets.embedded.target import EmbeddedTarget
    from idms.values.coerce import coercer
    from idms.values.folding import fold

    target = EmbeddedTarget(url)
    source = target.describe("Contact")
    fields = [source.field(f) for f in FIELD_NAMES]
    converts = [coercer(f.type, field=f.label, max_length=f.max_length) for f in fields]
    with target.engine.connect() as sa:
        codes = [
            {c.casefold() for c in load_codes(sa, f.lookup)} if f.lookup else None for f in fields
        ]
    target.close()
    suite = _suite(csv_path, suite_path)
    run_id = f"floor-{time.time_ns()}"
    engine = open_store(url)
    raw = engine.raw_connection()
    conn: Any = raw.driver_connection
    names = ", ".join(CONTACT)
    contact_insert = (
        f"INSERT INTO contacts (imis_id, contact_key, is_organization, mark_for_erasure, "
        f"created_on, updated_on, {names}) VALUES (?, ?, 0, 0, ?, ?, "
        + ", ".join("?" * len(CONTACT))
        + ")"
    )
    address_insert = (
        "INSERT INTO addresses (imis_id, address_purpose, city, state_province, postal_code, "
        f"is_preferred_mailing, is_preferred_billing, is_preferred_shipping) "
        f"VALUES (?, '{PURPOSE}', ?, ?, ?, 1, 1, 0)"
    )
    contact_update = (
        "UPDATE contacts SET "
        + ", ".join(f"{c} = ?" for c in CONTACT)
        + ", updated_on = ? WHERE imis_id = ?"
    )
    address_update = (
        "UPDATE addresses SET "
        + ", ".join(f"{c} = ?" for c in ADDRESS)
        + f" WHERE imis_id = ? AND address_purpose = '{PURPOSE}'"
    )
    current = (
        "SELECT idms_fold(c.email), c.imis_id, "
        + ", ".join(f"c.{c}" for c in CONTACT)
        + ", "
        + ", ".join(f"a.{c}" for c in ADDRESS)
        + f" FROM contacts c LEFT JOIN addresses a ON a.imis_id = c.imis_id "
        f"AND a.address_purpose = '{PURPOSE}' WHERE idms_fold(c.email) IN "
    )

    width = len(CONTACT)
    counts = {"inserted": 0, "updated": 0, "unchanged": 0}
    seq = 0
    previous: str | None = None
    try:
        with csv_path.open(newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            next(reader)
            number = 1
            while batch := [r for _, r in zip(range(BATCH), reader, strict=False)]:
                stamp = now()
                typed: list[tuple[Any, ...]] = []
                for cells in batch:
                    number += 1
                    values = []
                    for cell, convert, allowed in zip(cells, converts, codes, strict=True):
                        value = convert(cell) if cell.strip() else None
                        if (
                            allowed is not None
                            and value is not None
                            and (str(value).casefold() not in allowed)
                        ):
                            raise SystemExit(f"row {number}: {value} is not a code")
                        if hasattr(value, "isoformat"):
                            value = value.isoformat()
                        values.append(value)
                    typed.append(tuple(values))
                keys = [fold(t[0]) for t in typed]
                conn.execute("BEGIN IMMEDIATE")
                found = {
                    r[0]: r[1:]
                    for r in conn.execute(current + "(" + ",".join("?" * len(keys)) + ")", keys)
                }
                new, changed_c, changed_a, results = [], [], [], []
                for key, row in zip(keys, typed, strict=True):
                    seq += 1
                    stored = found.get(key)
                    if stored is None:
                        new.append(row)
                        results.append([seq, "inserted", row])
                        continue
                    imis_id, before = stored[0], stored[1:]
                    diff = [FIELD_NAMES[i] for i in range(len(row)) if row[i] != before[i]]
                    if not diff:
                        results.append([seq, "unchanged", {"ImisId": imis_id}, None, None])
                        continue
                    if any(i < width and row[i] != before[i] for i in range(width)):
                        changed_c.append((*row[:width], stamp, imis_id))
                    if row[width:] != before[width:]:
                        changed_a.append((*row[width:], imis_id))
                    index = {n: i for i, n in enumerate(FIELD_NAMES)}
                    results.append(
                        [
                            seq,
                            "updated",
                            {"ImisId": imis_id},
                            {n: before[index[n]] for n in diff},
                            {n: row[index[n]] for n in diff},
                        ]
                    )
                if new:
                    last = conn.execute(SQLITE_BUMP, (COUNTER, len(new))).fetchone()[0]
                    ids = [str(n) for n in range(last - len(new) + 1, last + 1)]
                    conn.executemany(
                        contact_insert,
                        [
                            (i, new_guid(), stamp, stamp, *r[:width])
                            for i, r in zip(ids, new, strict=True)
                        ],
                    )
                    conn.executemany(
                        address_insert, [(i, *r[width:]) for i, r in zip(ids, new, strict=True)]
                    )
                    taken = iter(ids)
                    for result in results:
                        if result[1] == "inserted":
                            imis_id = next(taken)
                            after = dict(zip(FIELD_NAMES, result[2], strict=True))
                            after["ImisId"] = imis_id
                            result[2:] = [{"ImisId": imis_id}, None, after]
                if changed_c:
                    conn.executemany(contact_update, changed_c)
                if changed_a:
                    conn.executemany(address_update, changed_a)
                params = [
                    (run_id, q, q + 1, outcome, js(i), js(b), js(a))
                    for q, outcome, i, b, a in results
                ]
                key = f"{run_id}:{seq}"
                if previous is not None:
                    conn.execute(SQLITE_FORGET, (previous,))
                conn.execute(
                    "INSERT INTO idms_applied_batches (batch_key, results, created_on) "
                    "VALUES (?, ?, ?)",
                    (key, js(params), stamp),
                )
                conn.execute("COMMIT")
                suite.execute("BEGIN")
                suite.executemany("INSERT INTO run_rows VALUES (?, ?, ?, ?, ?, ?, ?)", params)
                suite.execute("COMMIT")
                previous = key
                for result in results:
                    counts[result[1]] += 1
        if previous is not None:  # autocommit: the store's connection runs BEGIN ... COMMIT
            conn.execute(SQLITE_FORGET, (previous,))
    finally:
        raw.close()
        engine.dispose()
        suite.close()
    return counts


# A new contact's ContactKey made in SQL in idms.targets.embedded.keys.new_guids's form: the
# batch's millisecond as the head ("XXXXXXXX-XXXX-7", a parameter), 12 random bits, the variant
# digit ("89AB", 2 random bits), 12 and 48 random bits, from SQLite's PRNG (seeded from the
# system's randomness). printf on random() is twice as quick as slicing hex(randomblob(10)).
SQLITE_GUID = (
    "printf('%s%03X-%s%03X-%012X', :head, random() & 4095, "
    "substr('89AB', (random() & 3) + 1, 1), random() & 4095, random() & 281474976710655)"
)


def _image(values: Sequence[str], changed: Sequence[str]) -> str:
    """SQL for a JSON object of the named values whose ``changed`` condition holds, in order
    (the floor's ``{field: value for field in diff}``), NULL when none does. Made only for rows
    with a change (``iif`` is lazy): with half the rows unchanged, that halved its cost."""
    parts = ", ".join(
        f"iif({c}, ',\"{n}\":' || json_quote({v}), '')"
        for n, v, c in zip(FIELD_NAMES, values, changed, strict=True)
    )
    joined = f"printf('{'%s' * len(values)}', {parts})"
    return f"iif({' OR '.join(changed)}, '{{' || substr({joined}, 2) || '}}', NULL)"


def sqlite_set_floor(url: str, csv_path: Path, suite_path: Path | None = None) -> dict[str, int]:
    """The floor's guarantees, kept set-based (issue 18): what an idms pipeline built this way
    could reach. Python per row only types the cells (idms's coercers, as the floor) and folds
    the e-mail into a tuple; each batch is staged with one executemany into a TEMP table, and
    SQL does the rest in the store's transaction, committed per batch: the lookup codes checked
    (NOT EXISTS against the codes, exactly or folded as idms compares codes; the first bad row
    named), the match (the staged fold against the ``ix_contacts_email_ci`` index) with the
    diff (``IS NOT`` per column, kept as a bit mask), the outcome and the changed values'
    before- and after-images in one ``UPDATE ... FROM``; the new contacts' IDs (the counter's
    base + their order), identities and after-images (``json_object``); the inserts (``INSERT
    ... SELECT``, ContactKeys as UUIDv7 from SQLite's PRNG) and the changed rows' updates
    (``UPDATE ... FROM``, ``updated_on`` only on them); the journal (``json_group_array``). The
    row results come back to Python only as JSON text, fed by executemany into the suite's
    ``run_rows``. Where SQL was slower than Python it is not used: folding the staged e-mail
    with ``idms_fold`` in SQL (a call back into Python per row) cost more than ``fold`` here.
    Unlike the floor, a batch's cells are all typed before its codes are checked, so a bad cell
    further down is reported before a bad code above it."""
    from idms.targets.embedded.lookups import load_codes
    from idms.targets.embedded.store import open_store
    from idms.targets.embedded.target import EmbeddedTarget
    from idms.values.coerce import coercer
    from idms.values.folding import fold
    from idms.values.types import FieldType

    def iso(convert: Any) -> Any:
        return lambda cell: convert(cell).isoformat()  # a date as the store keeps it

    target = EmbeddedTarget(url)
    source = target.describe("Contact")
    fields = [source.field(f) for f in FIELD_NAMES]
    converts = []
    for field in fields:
        convert = coercer(field.type, field=field.label, max_length=field.max_length)
        dated = field.type in (FieldType.DATE, FieldType.DATETIME)
        converts.append(iso(convert) if dated else convert)
    with target.engine.connect() as sa:
        codes = {f.lookup: load_codes(sa, f.lookup) for f in fields if f.lookup}
    target.close()
    suite = _suite(csv_path, suite_path)
    run_id = f"set-floor-{time.time_ns()}"
    engine = open_store(url)
    raw = engine.raw_connection()
    conn: Any = raw.driver_connection
    conn.execute("PRAGMA temp_store = MEMORY")  # the staging table never touches a file
    stage = ", ".join(CSV_COLUMNS)
    conn.execute(
        f"CREATE TEMP TABLE stage (seq INTEGER PRIMARY KEY, folded, {stage}, imis_id, d INTEGER, "
        "outcome, identity, before, after)"
    )
    # The batch's new rows in order, numbered 1.. by their rowid (emptied each batch).
    conn.execute("CREATE TEMP TABLE fresh (k INTEGER PRIMARY KEY, seq INTEGER)")
    conn.execute("CREATE TEMP TABLE codes (lookup, code, folded)")
    conn.execute("CREATE INDEX temp.codes_code ON codes (lookup, code)")
    conn.execute("CREATE INDEX temp.codes_folded ON codes (lookup, folded)")
    conn.executemany(
        "INSERT INTO codes VALUES (?, ?, ?)",
        [(name, c, fold(c)) for name, found in codes.items() for c in found],
    )
    # Each lookup cell that is not a code, exactly or folded as idms compares codes.
    check = (
        " UNION ALL ".join(
            f"SELECT seq, {i} AS k, {c} FROM stage s WHERE {c} IS NOT NULL "
            f"AND NOT EXISTS (SELECT 1 FROM codes WHERE lookup = '{f.lookup}' AND code = s.{c}) "
            f"AND NOT EXISTS (SELECT 1 FROM codes WHERE lookup = '{f.lookup}' "
            f"AND folded = idms_fold(s.{c}))"
            for i, (c, f) in enumerate(zip(CSV_COLUMNS, fields, strict=True))
            if f.lookup
        )
        + " ORDER BY seq, k LIMIT 1"
    )
    width = len(CONTACT)
    stored = [f"c.{c}" for c in CONTACT] + [f"a.{c}" for c in ADDRESS]
    differs = [f"{s} IS NOT stage.{c}" for s, c in zip(stored, CSV_COLUMNS, strict=True)]
    contact_bits, address_bits = (1 << width) - 1, ((1 << len(ADDRESS)) - 1) << width
    # The match (folded e-mail, its index) and, read before anything is written, the diff as a
    # bit mask (bit i: column i changed), the outcome and the changed values' images.
    match = (
        "UPDATE stage SET imis_id = c.imis_id, d = "
        + " | ".join(f"(({x}) << {i})" for i, x in enumerate(differs))
        + f", outcome = iif({' OR '.join(differs)}, 'updated', 'unchanged'), "
        "identity = json_object('ImisId', c.imis_id), "
        f"before = {_image(stored, differs)}, "
        f"after = {_image([f'stage.{c}' for c in CSV_COLUMNS], differs)}"
        f" FROM contacts c LEFT JOIN addresses a ON a.imis_id = c.imis_id "
        f"AND a.address_purpose = '{PURPOSE}' WHERE idms_fold(c.email) = stage.folded"
    )
    # The new rows' IDs (the counter's base + their order), identities and after-images.
    new_id = "CAST(:base + f.k AS TEXT)"
    every = ", ".join(f"'{n}', {c}" for n, c in zip(FIELD_NAMES, CSV_COLUMNS, strict=True))
    numbered = (
        f"UPDATE stage SET imis_id = {new_id}, outcome = 'inserted', "
        f"identity = json_object('ImisId', {new_id}), "
        f"after = json_object({every}, 'ImisId', {new_id}) FROM fresh f WHERE stage.seq = f.seq"
    )
    names = ", ".join(CONTACT)
    contact_insert = (
        f"INSERT INTO contacts (imis_id, contact_key, is_organization, mark_for_erasure, "
        f"created_on, updated_on, {names}) SELECT imis_id, {SQLITE_GUID}, 0, 0, :stamp, :stamp, "
        f"{names} FROM stage WHERE d IS NULL ORDER BY seq"
    )
    address_insert = (
        "INSERT INTO addresses (imis_id, address_purpose, city, state_province, postal_code, "
        "is_preferred_mailing, is_preferred_billing, is_preferred_shipping) "
        f"SELECT imis_id, '{PURPOSE}', {', '.join(ADDRESS)}, 1, 1, 0 "
        "FROM stage WHERE d IS NULL ORDER BY seq"
    )
    contact_update = (
        f"UPDATE contacts SET ({names}) = ({', '.join(f's.{c}' for c in CONTACT)}), "
        f"updated_on = :stamp FROM stage s WHERE contacts.imis_id = s.imis_id "
        f"AND s.d & {contact_bits}"
    )
    address_update = (
        f"UPDATE addresses SET ({', '.join(ADDRESS)}) = ({', '.join(f's.{c}' for c in ADDRESS)}) "
        f"FROM stage s WHERE addresses.imis_id = s.imis_id "
        f"AND addresses.address_purpose = '{PURPOSE}' AND s.d & {address_bits}"
    )
    journal = (
        "INSERT INTO idms_applied_batches (batch_key, results, created_on) "
        "SELECT :key, json_group_array(json_array(:run, seq, seq + 1, outcome, identity, "
        "before, after)), :stamp FROM (SELECT * FROM stage ORDER BY seq)"
    )
    results = "SELECT ?, seq, seq + 1, outcome, identity, before, after FROM stage ORDER BY seq"
    counts = {"inserted": 0, "updated": 0, "unchanged": 0}
    seq = 0
    previous: str | None = None
    try:
        with csv_path.open(newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            next(reader)
            while batch := [r for _, r in zip(range(BATCH), reader, strict=False)]:
                stamp = now()
                typed = []
                for cells in batch:
                    seq += 1
                    values = [
                        convert(cell) if cell.strip() else None
                        for cell, convert in zip(cells, converts, strict=True)
                    ]
                    # The e-mail folded here, not by idms_fold(stage.email) in the match: a
                    # call back into Python per row from SQL costs more than fold() does here.
                    typed.append((seq, values[0] and fold(values[0]), *values))
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("DELETE FROM stage")
                conn.executemany(
                    f"INSERT INTO stage (seq, folded, {stage}) "
                    f"VALUES (?, ?{', ?' * len(CSV_COLUMNS)})",
                    typed,
                )
                for bad in conn.execute(check):
                    conn.execute("ROLLBACK")
                    raise SystemExit(f"row {bad[0] + 1}: {bad[2]} is not a code")
                changes = conn.total_changes
                conn.execute(match)
                new = len(typed) - (conn.total_changes - changes)
                if new:
                    last = conn.execute(SQLITE_BUMP, (COUNTER, new)).fetchone()[0]
                    conn.execute("DELETE FROM fresh")
                    conn.execute(
                        "INSERT INTO fresh (seq) SELECT seq FROM stage WHERE d IS NULL ORDER BY seq"
                    )
                    conn.execute(numbered, {"base": last - new})
                    ms = f"{(time.time_ns() // 1_000_000) & ((1 << 48) - 1):012X}"
                    conn.execute(contact_insert, {"stamp": stamp, "head": f"{ms[:8]}-{ms[8:]}-7"})
                    conn.execute(address_insert)
                conn.execute(contact_update, {"stamp": stamp})
                conn.execute(address_update)
                key = f"{run_id}:{seq}"
                if previous is not None:
                    conn.execute(SQLITE_FORGET, (previous,))
                conn.execute(journal, {"key": key, "run": run_id, "stamp": stamp})
                conn.execute("COMMIT")
                suite.execute("BEGIN")
                suite.executemany(
                    "INSERT INTO run_rows VALUES (?, ?, ?, ?, ?, ?, ?)",
                    conn.execute(results, (run_id,)),
                )
                suite.execute("COMMIT")
                previous = key
                for outcome, n in conn.execute("SELECT outcome, count(*) FROM stage GROUP BY 1"):
                    counts[outcome] += n
        if previous is not None:  # autocommit: the store's connection runs BEGIN ... COMMIT
            conn.execute(SQLITE_FORGET, (previous,))
    finally:
        raw.close()
        engine.dispose()
        suite.close()
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
