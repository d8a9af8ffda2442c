"""``idms demo`` data: counts, valid codes everywhere, panels, users, gifts, determinism."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import ColumnElement, Engine, Table, func, select

from idms.demo import DEMO_PASSWORD, DemoSummary, fill_demo
from idms.errors import InvalidInputError
from idms.sources.catalog import BUILTIN_SOURCES, BY_NAME, ENTITY_LOOKUPS
from idms.targets.embedded import schema
from idms.targets.embedded.admin import get_setting, panel_tables
from idms.targets.embedded.lookups import load_codes
from idms.targets.embedded.passwords import username_key, verify_password
from idms.targets.embedded.store import open_store

N = 300

# Source -> the table its fields are stored in (column = snake_case of the field name).
SOURCE_TABLES: dict[str, Table] = {
    "Contact": schema.contacts,
    "Address": schema.addresses,
    "Activity": schema.activities,
    "GroupMember": schema.group_members,
    "Relationship": schema.relationships,
    "Event": schema.events,
    "EventFunction": schema.event_functions,
    "EventRegistration": schema.event_registrations,
    "Gift": schema.gifts,
}


@dataclass
class Filled:
    engine: Engine
    summary: DemoSummary
    calls: list[tuple[str, int, int]]


@pytest.fixture
def store(database_url: str) -> Iterator[Engine]:
    engine = open_store(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def filled(store: Engine) -> Filled:
    calls: list[tuple[str, int, int]] = []
    summary = fill_demo(store, contacts=N, seed=7, progress=lambda s, d, t: calls.append((s, d, t)))
    return Filled(store, summary, calls)


def count(engine: Engine, table: Table, *where: ColumnElement[bool]) -> int:
    with engine.connect() as conn:
        stmt = select(func.count()).select_from(table)
        for clause in where:
            stmt = stmt.where(clause)
        return int(conn.execute(stmt).scalar_one())


def contact_rows(engine: Engine) -> list[tuple[object, ...]]:
    c = schema.contacts.c
    cols = (c.imis_id, c.contact_key, c.first_name, c.last_name, c.organization_name, c.email,
            c.member_type, c.birth_date, c.organization_id)  # fmt: skip
    with engine.connect() as conn:
        rows = conn.execute(select(*cols).order_by(func.length(c.imis_id), c.imis_id))
        return [tuple(r) for r in rows]


def test_counts_are_as_requested_and_summarised(filled: Filled) -> None:
    engine, summary = filled.engine, filled.summary
    c = schema.contacts.c
    assert count(engine, schema.contacts) == N == summary.contacts
    orgs = count(engine, schema.contacts, c.is_organization.is_(True))
    persons = count(engine, schema.contacts, c.is_organization.is_(False))
    assert orgs + persons == N
    assert (orgs, persons) == (summary.organizations, summary.persons)
    assert orgs == N // 10
    assert count(engine, schema.addresses) == summary.addresses >= N
    assert count(engine, schema.activities) == summary.activities
    assert 1.2 * persons < summary.activities < 2.8 * persons  # about two per person
    assert count(engine, schema.users) == summary.users > 0
    assert count(engine, schema.gifts) == summary.gifts > 0
    assert count(engine, schema.event_registrations) == summary.registrations > 0
    assert count(engine, schema.relationships) == summary.relationships > 0
    assert count(engine, schema.group_members) == summary.group_members > 0
    assert count(engine, schema.communication_preference_values) == summary.preference_values > 0
    assert 3 <= count(engine, schema.events) == summary.events <= 6
    assert count(engine, schema.lookup_codes) == summary.lookup_codes
    rows = dict(summary.as_rows())
    assert rows["Contacts"] == N
    assert rows["Panel MemberProfile rows"] == summary.panel_rows["MemberProfile"]
    assert all(isinstance(n, int) for n in rows.values())


def test_contacts_look_real(filled: Filled) -> None:
    c = schema.contacts.c
    with filled.engine.connect() as conn:
        persons = conn.execute(
            select(c.first_name, c.last_name, c.email, c.contact_key, c.organization_id).where(
                c.is_organization.is_(False)
            )
        ).all()
        org_ids = set(conn.execute(select(c.imis_id).where(c.is_organization.is_(True))).scalars())
        keys = conn.execute(select(c.contact_key)).scalars().all()
        postal = conn.execute(select(schema.addresses.c.postal_code)).scalars().all()
        assert get_setting(conn, "default_address_purpose", "") == "Address"
    assert all(first and last for first, last, *_ in persons)
    emails = [e for _, _, e, *_ in persons if e]
    assert 0.85 * len(persons) < len(emails) < len(persons)  # about 5 % have no e-mail
    assert all(e == e.lower() and "@" in e for e in emails)
    assert len({e.lower() for e in emails}) == len(emails)
    assert len(set(keys)) == len(keys)
    assert all(k == k.upper() and len(k) == 36 for k in keys)
    linked = [org for *_, org in persons if org]
    assert linked
    assert set(linked) <= org_ids
    assert any(p and p.startswith("0") for p in postal)  # kept as text, leading zeros and all
    # Every contact has exactly one address of the default purpose, preferred for mail.
    a = schema.addresses.c
    assert count(filled.engine, schema.addresses, a.address_purpose == "Address") == N
    assert count(filled.engine, schema.addresses, a.is_preferred_mailing.is_(True)) == N


def test_every_lookup_table_of_the_catalog_is_filled(filled: Filled) -> None:
    used = {f.lookup for s in BUILTIN_SOURCES for f in s.fields if f.lookup}
    general = used - set(ENTITY_LOOKUPS)
    assert {"MEMBER_TYPE", "COUNTRY", "ADDRESS_PURPOSE", "ACTIVITY_TYPE"} <= general
    with filled.engine.connect() as conn:
        panel_lookups = {
            f.lookup for panel, _ in panel_tables(conn).values() for f in panel.fields if f.lookup
        }
        for table in sorted(general | panel_lookups):
            assert load_codes(conn, table), f"lookup table {table} is empty"
        for table in ENTITY_LOOKUPS:  # events, functions, groups, gift items, payment methods
            assert load_codes(conn, table), f"entity lookup {table} is empty"
        countries = load_codes(conn, "COUNTRY")
        reciprocal = dict(
            conn.execute(
                select(schema.lookup_codes.c.code, schema.lookup_codes.c.expansion).where(
                    schema.lookup_codes.c.table_name == "RELATIONSHIP_TYPE"
                )
            ).all()
        )
    assert len(countries) >= 35
    assert {"United States", "Canada", "United Kingdom"} <= set(countries)
    assert reciprocal["PARENT"] == "CHILD"
    assert reciprocal["CHILD"] == "PARENT"
    assert reciprocal["SPOUSE"] == "SPOUSE"
    assert set(load_codes_for(filled.engine, "MEMBER_TYPE")) >= {"NM", "REG", "STU", "CORP"}


def load_codes_for(engine: Engine, table: str) -> dict[str, str]:
    with engine.connect() as conn:
        return load_codes(conn, table)


def test_code_fields_hold_codes_of_their_lookup_tables(filled: Filled) -> None:
    checked: set[tuple[str, str]] = set()
    with filled.engine.connect() as conn:
        for source_name, table in SOURCE_TABLES.items():
            for fdef in BY_NAME[source_name].fields:
                column = schema.snake(fdef.name)
                if fdef.lookup is None or column not in table.c:
                    continue
                values = set(
                    conn.execute(
                        select(table.c[column]).distinct().where(table.c[column].is_not(None))
                    ).scalars()
                )
                codes = set(load_codes(conn, fdef.lookup))
                assert values <= codes, f"{table.name}.{column}: {values - codes}"
                if values:
                    checked.add((table.name, column))
    for must in [
        ("contacts", "member_type"),
        ("contacts", "status"),
        ("contacts", "prefix"),
        ("contacts", "gender"),
        ("contacts", "chapter"),
        ("addresses", "country"),
        ("addresses", "address_purpose"),
        ("activities", "activity_type"),
        ("relationships", "relationship_type"),
        ("gifts", "payment_method_id"),
        ("event_registrations", "function_code"),
        ("group_members", "group_name"),
    ]:
        assert must in checked


def test_panels_exist_with_rows_of_valid_codes(filled: Filled) -> None:
    with filled.engine.connect() as conn:
        tables = panel_tables(conn)
        assert {"MemberProfile", "Volunteering"} <= set(tables)
        assert tables["MemberProfile"][0].kind == "single"
        assert tables["Volunteering"][0].kind == "multi"
        profile, volunteering = tables["MemberProfile"][1], tables["Volunteering"][1]
        profiles = conn.execute(select(profile)).mappings().all()
        roles = conn.execute(select(volunteering)).mappings().all()
        interests = set(load_codes(conn, "INTEREST"))
        skills = set(load_codes(conn, "VOLUNTEER_SKILL"))
    assert len(profiles) == filled.summary.panel_rows["MemberProfile"] > 0
    assert len(roles) == filled.summary.panel_rows["Volunteering"] > 0
    for row in profiles:
        assert set(row["interests"].split(",")) <= interests
    ordinals = [row["ordinal"] for row in roles]
    assert len(set(ordinals)) == len(ordinals)
    for row in roles:
        assert row["role"]
        assert set(row["skills"].split(",")) <= skills


def test_users_have_credentials_and_some_are_locked_out(filled: Filled) -> None:
    u, c = schema.users.c, schema.contacts.c
    with filled.engine.connect() as conn:
        rows = conn.execute(
            select(u.username, u.username_key, u.password_hash, u.is_locked_out,
                   u.failed_password_attempt_count, u.last_lockout_date, c.email)
            .join(schema.contacts, c.imis_id == u.imis_id)
        ).all()  # fmt: skip
    assert rows
    assert len(rows) == filled.summary.users
    assert len({r.username_key for r in rows}) == len(rows)
    assert all(r.username_key == username_key(r.username) for r in rows)
    assert all(r.email for r in rows)  # credentials need an e-mail address
    assert len({r.password_hash for r in rows}) == len(rows)  # hashed one by one (own salt)
    assert verify_password(DEMO_PASSWORD, rows[0].password_hash)
    locked = [r for r in rows if r.is_locked_out]
    assert len(locked) == filled.summary.locked_users >= 2
    assert all(r.failed_password_attempt_count == 5 and r.last_lockout_date for r in locked)


def test_no_gift_is_paid_by_credit_card(filled: Filled) -> None:
    g, pm = schema.gifts.c, schema.payment_methods.c
    card = select(pm.payment_method_id).where(pm.payment_type == "CREDIT_CARD")
    with filled.engine.connect() as conn:
        assert conn.execute(card).scalars().all()  # card methods exist ...
        used = conn.execute(select(g.payment_method_id).where(g.payment_method_id.in_(card)))
        assert used.all() == []  # ... and no gift uses one
        dates = conn.execute(select(g.gift_date, g.transaction_date)).all()
    assert all(gift == transaction for gift, transaction in dates)


def test_relationships_and_registrations_are_consistent(filled: Filled) -> None:
    r, e = schema.relationships.c, schema.event_registrations.c
    f = schema.event_functions.c
    with filled.engine.connect() as conn:
        rels = conn.execute(
            select(r.imis_id, r.relationship_type, r.target_imis_id, r.reciprocal_type)
        ).all()
        prices = conn.execute(
            select(e.price, f.price, f.capacity, e.waitlist).join(
                schema.event_functions,
                (f.event_code == e.event_code) & (f.function_code == e.function_code),
            )
        ).all()
        options = conn.execute(
            select(f.event_code, func.count()).where(f.is_registration_option.is_(True))
            .group_by(f.event_code)
        ).all()  # fmt: skip
        capped = conn.execute(select(func.count()).where(f.capacity.is_not(None))).scalar_one()
    keys = {(a, t, b) for a, t, b, _ in rels}
    for a, _kind, b, reciprocal in rels:
        if reciprocal is not None:
            assert (b, reciprocal, a) in keys
    assert any(kind == "EMPLOYEE" for _, kind, _, _ in rels)
    assert all(reg == func_price for reg, func_price, _, _ in prices)
    assert all(2 <= n <= 3 for _, n in options)
    assert capped == 1


def test_same_seed_gives_the_same_contacts(store: Engine, tmp_path: Path) -> None:
    other = open_store(f"sqlite:///{tmp_path / 'other.db'}")
    third = open_store(f"sqlite:///{tmp_path / 'third.db'}")
    try:
        fill_demo(store, contacts=60, seed=42)
        fill_demo(other, contacts=60, seed=42)
        fill_demo(third, contacts=60, seed=43)
        first, again, different = contact_rows(store), contact_rows(other), contact_rows(third)
    finally:
        other.dispose()
        third.dispose()
    assert len(first) == 60
    assert first == again
    assert first != different


def test_refuses_a_store_that_already_holds_contacts(store: Engine) -> None:
    fill_demo(store, contacts=20, seed=1)
    with pytest.raises(InvalidInputError, match=r"already holds 20 contacts.*--workspace DIR"):
        fill_demo(store, contacts=20, seed=2)
    assert count(store, schema.contacts) == 20


def test_refuses_a_negative_count(store: Engine) -> None:
    with pytest.raises(InvalidInputError):
        fill_demo(store, contacts=-1)


@pytest.mark.parametrize("n", [0, 1, 2, 9])
def test_tiny_stores(store: Engine, n: int) -> None:
    summary = fill_demo(store, contacts=n, seed=3)
    assert count(store, schema.contacts) == summary.contacts == n
    assert summary.organizations + summary.persons == n
    assert summary.lookup_codes > 0
    assert summary.events >= 3


def test_progress_goes_up_in_every_stage(filled: Filled) -> None:
    stages: dict[str, list[tuple[int, int]]] = {}
    for name, step, total in filled.calls:
        stages.setdefault(name, []).append((step, total))
    assert {"Lookup tables", "Contacts", "Addresses", "Activities", "Users"} <= set(stages)
    for stage, calls in stages.items():
        done = [d for d, _ in calls]
        totals = {t for _, t in calls}
        assert len(totals) == 1, stage
        assert done[0] == 0, stage
        assert done[-1] == totals.pop(), stage
        assert all(a < b for a, b in itertools.pairwise(done)), stage
    assert len(stages["Contacts"]) > 10  # enough steps to draw a bar
    assert stages["Contacts"][-1] == (N, N)
