"""``idms demo``: fill an empty embedded store with a realistic association, made with Faker.

The same ``seed`` gives the same data (names, addresses, codes, keys; only the dates move with
today's date). What is created:

* every lookup table the sources validate against (member types, countries, address purposes,
  activity types, relationship types with their reciprocals in ``expansion`` ...), and the store
  setting ``default_address_purpose`` = ``Address``;
* organizations (about 10 % of the contacts, member type CORP) and persons, some of them employed by
  an organization, a few without an e-mail address;
* an ``Address``-purpose address for every contact, and a Work, Home or Billing one for some;
* about two activities per person over the last three years;
* two panels, ``MemberProfile`` (single-instance) and ``Volunteering`` (multi-instance), with rows;
* committees and chapters as groups with roles and members; relationships between persons
  (written on both sides when the type has a reciprocal) and from employees to their organization;
* communication preferences and the persons' opt-ins;
* a handful of events with registration options and program items, and registrations;
* gift items, payment methods and gifts (never paid by credit card);
* user credentials for about 10 % of the persons with an e-mail address (at most 300).

**Every demo user has the password** ``Demo-Password-1`` (:data:`DEMO_PASSWORD`), hashed for each
user separately with the cheap argon2 parameters of ``fast_hash_password``. About 5 % of the users
(at least 2 when there are 10 or more) are locked out after 5 failed logins.
"""

from __future__ import annotations

import random
import re
import unicodedata
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from importlib import resources
from typing import Any

from faker import Faker
from sqlalchemy import Connection, Engine, Table, func, select

from idms.demo.reference import (
    ACTIVITY_TYPES,
    CERTIFICATIONS,
    CHAPTER_OF_STATE,
    CHAPTER_ROLES,
    CHAPTERS,
    COMMITTEE_ROLES,
    COMMITTEE_SIZES,
    COMMITTEES,
    DESIGNATIONS,
    EVENT_TEMPLATES,
    FOREIGN,
    GIFT_ITEMS,
    INTERESTS,
    LOOKUPS,
    MEMBER_TYPES_ACTIVE,
    NICKNAMES,
    ORG_SUFFIXES,
    PAYMENT_METHODS,
    PERSON_MEMBER_TYPES,
    PREFERENCES,
    PUBLICATIONS,
    RECIPROCAL,
    RELATED_SHARES,
    SMALL,
    SPECIALTIES,
    STATE_WEIGHTS,
    TITLES,
    VOLUNTEER_ROLES,
    VOLUNTEER_SKILLS,
    VOLUNTEER_TASKS,
    WEBINAR_TOPICS,
)
from idms.errors import InvalidInputError
from idms.sources.panels import PanelDefinition, parse_panel
from idms.targets.embedded import counters
from idms.targets.embedded.admin import create_panel, load_panels, panel_tables, set_setting
from idms.targets.embedded.passwords import fast_hash_password, username_key
from idms.targets.embedded.schema import (
    activities,
    addresses,
    communication_preference_values,
    communication_preferences,
    contacts,
    event_functions,
    event_registrations,
    events,
    gift_items,
    gifts,
    group_members,
    group_roles,
    groups,
    lookup_codes,
    payment_methods,
    relationships,
    snake,
    users,
)

Progress = Callable[[str, int, int], None]
Row = dict[str, Any]

DEMO_PASSWORD = "Demo-Password-1"
MAX_USERS = 300
CHUNK = 5000
PANEL_FILES = ("memberprofile.yml", "volunteering.yml")
PROFILE_PANEL = "MemberProfile"
VOLUNTEER_PANEL = "Volunteering"


# ---- the summary ---------------------------------------------------------------------------------


@dataclass
class DemoSummary:
    """What ``fill_demo`` created, counted per kind."""

    lookup_codes: int = 0
    contacts: int = 0
    organizations: int = 0
    persons: int = 0
    addresses: int = 0
    activities: int = 0
    panel_rows: dict[str, int] = field(default_factory=dict)
    groups: int = 0
    group_members: int = 0
    relationships: int = 0
    communication_preferences: int = 0
    preference_values: int = 0
    events: int = 0
    event_functions: int = 0
    registrations: int = 0
    gift_items: int = 0
    payment_methods: int = 0
    gifts: int = 0
    users: int = 0
    locked_users: int = 0

    def as_rows(self) -> list[tuple[str, int]]:
        """(label, count) pairs in the order a summary table shows them."""
        rows = [
            ("Lookup codes", self.lookup_codes),
            ("Contacts", self.contacts),
            ("Organizations", self.organizations),
            ("Persons", self.persons),
            ("Addresses", self.addresses),
            ("Activities", self.activities),
        ]
        rows += [(f"Panel {name} rows", n) for name, n in self.panel_rows.items()]
        rows += [
            ("Groups", self.groups),
            ("Group members", self.group_members),
            ("Relationships", self.relationships),
            ("Communication preferences", self.communication_preferences),
            ("Communication preference values", self.preference_values),
            ("Events", self.events),
            ("Registration options and program items", self.event_functions),
            ("Event registrations", self.registrations),
            ("Gift items", self.gift_items),
            ("Payment methods", self.payment_methods),
            ("Gifts", self.gifts),
            ("Users", self.users),
            ("Locked-out users", self.locked_users),
        ]
        return rows


# ---- entry point ---------------------------------------------------------------------------------


def fill_demo(
    engine: Engine,
    *,
    contacts: int = 1000,
    seed: int = 0,
    progress: Progress | None = None,
) -> DemoSummary:
    """Fill an empty store with demo data: ``contacts`` contacts and everything around them.

    ``progress(stage, done, total)`` is called as each stage advances. Refuses (InvalidInputError)
    a store that already holds contacts. Panels are created first (each commits by itself); all
    the data is then written in one transaction.
    """
    if contacts < 0:
        raise InvalidInputError("The number of demo contacts cannot be negative.")
    with engine.connect() as conn:
        _refuse_filled(conn)
    usable = _ensure_panels(engine, progress)
    summary = DemoSummary()
    with engine.execution_options(sqlite_immediate=True).begin() as conn:
        _refuse_filled(conn)
        _Demo(conn, contacts, seed, progress, summary, usable).run()
    return summary


def _refuse_filled(conn: Connection) -> None:
    held = int(conn.execute(select(func.count()).select_from(contacts)).scalar() or 0)
    if held:
        raise InvalidInputError(
            f"The store already holds {held} contacts; idms demo fills an empty store. "
            "Use a new workspace (--workspace DIR)."
        )


def _ensure_panels(engine: Engine, progress: Progress | None) -> set[str]:
    """Create the demo panels; a panel that exists with the same definition is reused.

    Returns the names of the panels that can be filled (one that exists with another definition
    is left alone and stays empty).
    """
    stage = _Stage(progress, "Panels", len(PANEL_FILES))
    usable: set[str] = set()
    for name in PANEL_FILES:
        text = (resources.files("idms.demo") / "panels" / name).read_text(encoding="utf-8")
        wanted = parse_panel(text)
        with engine.connect() as conn:
            existing = {p.name.lower(): p for p in load_panels(conn)}
        found: PanelDefinition | None = existing.get(wanted.name.lower())
        if found is None:
            create_panel(engine, text)
            usable.add(wanted.name)
        elif found.model_dump() == wanted.model_dump():
            usable.add(wanted.name)
        stage.advance()
    stage.finish()
    return usable


# ---- helpers -------------------------------------------------------------------------------------


class _Stage:
    """Progress of one stage: ``done`` goes up from 0 to ``total`` in a few dozen steps."""

    def __init__(self, report: Progress | None, name: str, total: int) -> None:
        self.report = report
        self.name = name
        self.total = total
        self.done = 0
        self.shown = 0
        self.step = max(1, total // 50)
        if report is not None:
            report(name, 0, total)

    def advance(self, n: int = 1) -> None:
        self.done += n
        if self.done < self.total and self.done - self.shown >= self.step:
            self._show(self.done)

    def finish(self) -> None:
        if self.shown < self.total:
            self._show(self.total)

    def _show(self, done: int) -> None:
        self.shown = done
        if self.report is not None:
            self.report(self.name, done, self.total)


class _Bulk:
    """Rows for one table, inserted ``CHUNK`` at a time; missing columns get their defaults.

    With ``counter``, the ``key`` column of each row is numbered from that store counter.
    """

    def __init__(
        self, conn: Connection, table: Table, counter: str | None = None, key: str = ""
    ) -> None:
        self.conn = conn
        self.table = table
        self.counter = counter
        self.key = key
        auto = table.autoincrement_column
        self.blank: Row = {
            c.name: getattr(c.default, "arg", None)
            for c in table.c
            if auto is None or c.name != auto.name
        }
        self.rows: list[Row] = []
        self.count = 0

    def add(self, row: Row) -> None:
        self.rows.append(row)
        if len(self.rows) >= CHUNK:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        if self.counter is not None:
            numbers = counters.allocate(self.conn, self.counter, len(self.rows))
            for row, number in zip(self.rows, numbers, strict=True):
                row[self.key] = number
        self.conn.execute(self.table.insert(), [{**self.blank, **row} for row in self.rows])
        self.count += len(self.rows)
        self.rows = []


def _insert_new(conn: Connection, table: Table, keys: Sequence[str], rows: list[Row]) -> int:
    """Insert the rows whose key is not in the table yet; how many were inserted."""
    taken = {tuple(r) for r in conn.execute(select(*[table.c[k] for k in keys]))}
    fresh = [r for r in rows if tuple(r[k] for k in keys) not in taken]
    if fresh:
        bulk = _Bulk(conn, table)
        for row in fresh:
            bulk.add(row)
        bulk.flush()
    return len(fresh)


def _ascii(text: str) -> str:
    """Lower-case letters and digits only (for e-mail addresses, usernames and domains)."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", folded.lower())


def _money(value: float | int | str) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


@dataclass(slots=True)
class _Contact:
    imis_id: str
    is_org: bool
    name: str
    first: str
    last: str
    email: str | None
    member_type: str
    status: str
    chapter: str | None
    org_id: str | None
    join_date: date | None
    created_on: datetime
    country: str
    state: str | None
    title: str | None = None
    home_phone: str | None = None
    work_phone: str | None = None
    domain: str | None = None
    address: Row | None = None


# ---- the generator -------------------------------------------------------------------------------


class _Demo:
    def __init__(
        self,
        conn: Connection,
        n: int,
        seed: int,
        progress: Progress | None,
        summary: DemoSummary,
        panels: set[str],
    ) -> None:
        self.conn = conn
        self.n = n
        self.progress = progress
        self.summary = summary
        self.panels = panels
        self.rng = random.Random(seed)
        self.fake = self._faker("en_US", seed)
        self.foreign = {
            country: self._faker(locale, seed + i + 1)
            for i, (country, (locale, _)) in enumerate(FOREIGN.items())
        }
        self.now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
        self.today = self.now.date()
        self.contacts: list[_Contact] = []
        self.persons: list[_Contact] = []
        self.orgs: list[_Contact] = []
        self.orgs_by_id: dict[str, _Contact] = {}
        self.domains: set[str] = set()
        self.emails: set[str] = set()
        self.states = list(STATE_WEIGHTS)
        self.state_weights = list(STATE_WEIGHTS.values())

    @staticmethod
    def _faker(locale: str, seed: int) -> Faker:
        fake = Faker(locale)
        fake.seed_instance(seed)
        return fake

    def stage(self, name: str, total: int) -> _Stage:
        return _Stage(self.progress, name, total)

    def run(self) -> None:
        self.lookups()
        self.make_contacts()
        self.make_addresses()
        self.make_activities()
        self.make_panel_rows()
        self.make_groups()
        self.make_relationships()
        self.make_preferences()
        self.make_events()
        self.make_gifts()
        self.make_users()

    # ---- small random helpers ------------------------------------------------------------------

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def pick(self, weights: dict[str, float] | dict[str, int]) -> str:
        return self.rng.choices(list(weights), list(weights.values()))[0]

    def days_ago(self, low: int, high: int) -> date:
        return self.today - timedelta(days=self.rng.randint(low, high))

    def moment(self, day: date) -> datetime:
        """A time during office hours on ``day``, never later than now."""
        seconds = self.rng.randint(7 * 3600, 19 * 3600)
        return min(datetime.combine(day, time()) + timedelta(seconds=seconds), self.now)

    def later(self, start: datetime) -> datetime:
        span = max(0, int((self.now - start).total_seconds()))
        return start + timedelta(seconds=int(span * self.rng.random() ** 2))

    def phone(self) -> str:
        rng = self.rng
        return f"({rng.randint(201, 989)}) {rng.randint(200, 999)}-{rng.randint(0, 9999):04d}"

    def contact_key(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4)).upper()

    def unique_email(self, local: str, domain: str) -> str:
        local = local or "member"
        email = f"{local}@{domain}"
        n = 1
        while email in self.emails:
            n += 1
            email = f"{local}{n}@{domain}"
        self.emails.add(email)
        return email

    def paid_through(self, member_type: str, status: str) -> date | None:
        if member_type in ("NM", "LIFE"):
            return None
        year = self.today.year
        if status == "A":
            return date(year + self.rng.choice((0, 0, 1)), 12, 31)
        return date(year - self.rng.randint(1, 4), 12, 31)

    # ---- lookup tables -------------------------------------------------------------------------

    def lookups(self) -> None:
        stage = self.stage("Lookup tables", len(LOOKUPS))
        for table_name, codes in LOOKUPS.items():
            rows = [
                {"table_name": table_name, "code": c, "description": d, "expansion": e}
                for c, d, e in codes
            ]
            self.summary.lookup_codes += _insert_new(
                self.conn, lookup_codes, ("table_name", "code"), rows
            )
            stage.advance()
        set_setting(self.conn, "default_address_purpose", "Address")
        stage.finish()

    # ---- contacts ------------------------------------------------------------------------------

    def place(self) -> tuple[str, str | None]:
        """A country and (in the United States) a state for a new contact."""
        roll = self.rng.random()
        for country, (_, share) in FOREIGN.items():
            if roll < share:
                return country, None
            roll -= share
        return "United States", self.rng.choices(self.states, self.state_weights)[0]

    def make_contacts(self) -> None:
        n = self.n
        stage = self.stage("Contacts", n)
        n_orgs = n // 10 if n >= 10 else min(1, n // 2)
        ids = [str(i) for i in counters.allocate(self.conn, counters.CONTACT_ID, n)]
        org_positions = set(self.rng.sample(range(n), n_orgs))
        self.orgs = [self.new_org(ids[p]) for p in sorted(org_positions)]
        self.orgs_by_id = {o.imis_id: o for o in self.orgs}
        bulk = _Bulk(self.conn, contacts)
        for position, imis_id in enumerate(ids):
            if position in org_positions:
                org = self.orgs_by_id[imis_id]
                self.contacts.append(org)
                bulk.add(self.org_row(org))
            else:
                person, row = self.new_person(imis_id)
                self.contacts.append(person)
                self.persons.append(person)
                bulk.add(row)
            stage.advance()
        bulk.flush()
        stage.finish()
        self.summary.contacts = bulk.count
        self.summary.organizations = len(self.orgs)
        self.summary.persons = len(self.persons)

    def org_name(self) -> str:
        fake = self.fake
        if self.chance(0.5):
            return str(fake.company())[:80]
        return f"{fake.last_name()} {self.rng.choice(ORG_SUFFIXES)}"[:80]

    def new_org(self, imis_id: str) -> _Contact:
        name = self.org_name()
        words = [_ascii(w) for w in re.split(r"[\s,&-]+", name)]
        stem = "".join(w for w in words[:2] if w not in ("", "and", "llc", "inc", "plc"))[:30]
        tld = self.rng.choice((".com", ".org", ".net"))
        domain, n = f"{stem or 'org'}{tld}", 1
        while domain in self.domains:
            n += 1
            domain = f"{stem or 'org'}{n}{tld}"
        self.domains.add(domain)
        country, state = self.place()
        status = "A" if self.chance(0.95) else "I"
        join = self.days_ago(30, 25 * 365)
        org = _Contact(
            imis_id=imis_id,
            is_org=True,
            name=name,
            first="",
            last="",
            email=None,
            member_type="CORP",
            status=status,
            chapter=CHAPTER_OF_STATE.get(state or ""),
            org_id=None,
            join_date=join,
            created_on=self.moment(join),
            country=country,
            state=state,
            work_phone=self.phone(),
            domain=domain,
        )
        local = self.rng.choice(("info", "contact", "office", "admin"))
        org.email = self.unique_email(local, domain)
        return org

    def org_row(self, org: _Contact) -> Row:
        return {
            "imis_id": org.imis_id,
            "contact_key": self.contact_key(),
            "is_organization": True,
            "organization_name": org.name,
            "email": org.email,
            "work_phone": org.work_phone,
            "fax": self.phone() if self.chance(0.4) else None,
            "member_type": org.member_type,
            "status": org.status,
            "billing_category": "STD" if org.country == "United States" else "INTL",
            "join_date": org.join_date,
            "paid_through": self.paid_through("CORP", org.status),
            "chapter": org.chapter,
            "mark_for_erasure": False,
            "created_on": org.created_on,
            "updated_on": self.later(org.created_on),
        }

    def new_person(self, imis_id: str) -> tuple[_Contact, Row]:
        rng, fake = self.rng, self.fake
        gender = rng.choices(("F", "M", "X", None), (48, 46, 2, 4))[0]
        if gender == "F":
            first = str(fake.first_name_female())
        elif gender == "M":
            first = str(fake.first_name_male())
        else:
            first = str(fake.first_name_nonbinary())
        first, last = first[:20], str(fake.last_name())[:30]
        member_type = self.pick(PERSON_MEMBER_TYPES)
        status = rng.choices(("A", "I", "D"), (88, 10, 2))[0]
        age = {"STU": rng.randint(19, 30), "RET": rng.randint(62, 88)}.get(
            member_type, rng.randint(24, 75)
        )
        birth = self.today - timedelta(days=age * 365 + rng.randint(0, 364))
        if member_type == "NM":
            join = None
        elif member_type == "STU":
            join = self.days_ago(0, 4 * 365)
        else:
            join = self.days_ago(0, max(1, min(age - 22, 30)) * 365)
        created = self.moment(join or self.days_ago(0, 8 * 365))

        org = rng.choice(self.orgs) if self.orgs and self.chance(0.35) else None
        if org is not None:
            country, state = org.country, org.state
        else:
            country, state = self.place()
        chapter = None
        if member_type != "NM" and state is not None and self.chance(0.7):
            chapter = CHAPTER_OF_STATE.get(state)

        email = None
        if self.chance(0.95):
            domain = (
                org.domain
                if org is not None and org.domain and self.chance(0.6)
                else str(fake.free_email_domain())
            )
            f, la = _ascii(first), _ascii(last)
            local = rng.choice(
                (f"{f}.{la}", f"{f[:1]}{la}", f"{f}_{la}", f"{f}{la}{rng.randint(1, 99)}")
            )
            email = self.unique_email(local, domain)

        prefix = None
        if self.chance(0.08):
            prefix = "Prof" if self.chance(0.2) else "Dr"
        elif self.chance(0.65):
            prefix = {"M": "Mr", "F": rng.choice(("Ms", "Ms", "Mrs"))}.get(gender or "")
        suffix = None
        if self.chance(0.04):
            if prefix == "Dr":
                suffix = "PhD"
            elif gender == "M":
                suffix = rng.choice(("Jr", "Sr", "II", "III"))
        middle = None
        if self.chance(0.35):
            other = str(fake.first_name())
            middle = f"{other[0]}." if self.chance(0.5) else other[:20]

        person = _Contact(
            imis_id=imis_id,
            is_org=False,
            name=f"{first} {last}",
            first=first,
            last=last,
            email=email,
            member_type=member_type,
            status=status,
            chapter=chapter,
            org_id=org.imis_id if org is not None else None,
            join_date=join,
            created_on=created,
            country=country,
            state=state,
            home_phone=self.phone() if self.chance(0.6) else None,
            work_phone=self.phone() if self.chance(0.8 if org else 0.2) else None,
            title=rng.choice(TITLES) if self.chance(0.75 if org else 0.3) else None,
        )
        billing = None
        if member_type == "LIFE":
            billing = "COMP"
        elif member_type != "NM":
            billing = (
                "INTL" if country != "United States" else ("AUTO" if self.chance(0.25) else "STD")
            )
        row: Row = {
            "imis_id": imis_id,
            "contact_key": self.contact_key(),
            "is_organization": False,
            "prefix": prefix,
            "first_name": first,
            "middle_name": middle,
            "last_name": last,
            "suffix": suffix,
            "informal_name": NICKNAMES.get(first, first)[:20],
            "organization_name": org.name if org is not None else None,
            "organization_id": person.org_id,
            "title": person.title,
            "email": email,
            "home_phone": person.home_phone,
            "work_phone": person.work_phone,
            "mobile_phone": self.phone() if self.chance(0.7) else None,
            "member_type": member_type,
            "status": status,
            "billing_category": billing,
            "birth_date": birth if self.chance(0.85) else None,
            "gender": gender,
            "join_date": join,
            "paid_through": self.paid_through(member_type, status),
            "chapter": chapter,
            "designation": rng.choice(DESIGNATIONS) if self.chance(0.1) else None,
            "mark_for_erasure": False,
            "created_on": created,
            "updated_on": self.later(created),
        }
        return person, row

    # ---- addresses -----------------------------------------------------------------------------

    def street(self, contact: _Contact, *, new_state: bool = False) -> Row:
        """Address lines, city, region, postal code and country in the contact's country."""
        country = contact.country
        if country == "United States":
            fake = self.fake
            state = contact.state or "NY"
            if new_state:
                state = self.rng.choices(self.states, self.state_weights)[0]
            postal = str(fake.zipcode_in_state(state))
            if self.chance(0.15):
                postal += f"-{self.rng.randint(0, 9999):04d}"
            region: str | None = state
        else:
            fake = self.foreign[country]
            postal = str(fake.postcode())
            region = None
            if country == "Canada":
                region = str(fake.province_abbr())
            elif country == "Australia":
                region = str(fake.state_abbr())
            elif country == "United Kingdom":
                region = str(fake.county())
        return {
            "address1": str(fake.street_address())[:100],
            "address2": str(self.fake.secondary_address()) if self.chance(0.1) else None,
            "city": str(fake.city())[:60],
            "state_province": region[:40] if region else None,
            "postal_code": postal,
            "country": country,
        }

    def make_addresses(self) -> None:
        stage = self.stage("Addresses", len(self.contacts))
        bulk = _Bulk(self.conn, addresses)
        for org in self.orgs:  # first: employees' work addresses are their organization's
            org.address = self.street(org)
        for contact in self.contacts:
            lines = contact.address or self.street(contact)
            extra: str | None = None
            if self.chance(0.3):
                if contact.is_org:
                    extra = "Billing"
                elif contact.org_id is not None:
                    extra = "Work"
                else:
                    extra = self.rng.choice(("Home", "Work"))
            bad = self.chance(0.02)
            default = {
                "imis_id": contact.imis_id,
                "address_purpose": "Address",
                **lines,
                "phone": contact.work_phone if contact.is_org else contact.home_phone,
                "bad_address": self.rng.choice(("RTS", "NFA", "UNDELIV", "VACANT"))
                if bad
                else None,
                "notes": f"Mail returned {self.days_ago(5, 400).isoformat()}" if bad else None,
                "is_preferred_mailing": True,
                "is_preferred_billing": extra != "Billing",
                "is_preferred_shipping": True,
            }
            bulk.add(default)
            if extra is not None:
                bulk.add(self.extra_address(contact, extra, lines))
            stage.advance()
        bulk.flush()
        stage.finish()
        self.summary.addresses = bulk.count

    def extra_address(self, contact: _Contact, purpose: str, home: Row) -> Row:
        if purpose == "Billing":
            lines = {**home, "address1": f"PO Box {self.rng.randint(100, 99999)}", "address2": None}
        elif purpose == "Work" and contact.org_id is not None:
            lines = dict(self.orgs_by_id[contact.org_id].address or self.street(contact))
        else:
            lines = self.street(contact)
        return {
            "imis_id": contact.imis_id,
            "address_purpose": purpose,
            **lines,
            "email": contact.email if purpose == "Work" else None,
            "phone": contact.work_phone if purpose in ("Work", "Billing") else contact.home_phone,
            "is_preferred_mailing": False,
            "is_preferred_billing": purpose == "Billing",
            "is_preferred_shipping": False,
        }

    # ---- activities ----------------------------------------------------------------------------

    def make_activities(self) -> None:
        stage = self.stage("Activities", len(self.persons))
        bulk = _Bulk(self.conn, activities, counters.SEQN, "seqn")
        for person in self.persons:
            count = self.rng.choices((0, 1, 2, 3, 4, 5), (22, 25, 20, 15, 10, 8))[0]
            for _ in range(count):
                bulk.add(self.activity(person))
            stage.advance()
        bulk.flush()
        stage.finish()
        self.summary.activities = bulk.count

    def activity(self, person: _Contact) -> Row:
        rng = self.rng
        kind = rng.choices([c for c, _, _ in ACTIVITY_TYPES], (18, 22, 6, 8, 10, 14, 8, 8, 6))[0]
        day = self.days_ago(0, 3 * 365)
        row: Row = {
            "imis_id": person.imis_id,
            "activity_type": kind,
            "transaction_date": day,
            "effective_date": day,
            "member_type": person.member_type,
            "organization_id": person.org_id,
            "source": rng.choice(("Web", "Phone", "Email", "Staff")),
        }
        if kind == "MEETING":
            if person.chapter is not None:
                code, where = f"MTG-{person.chapter}", f"the {CHAPTERS[person.chapter][0]} meeting"
            else:
                code, where = "MTG-TOWNHALL", "a virtual member town hall"
            row.update(
                product_code=code,
                description=f"Attended {where}",
                amount=_money(rng.choice((0, 0, 15, 25))),
            )
        elif kind == "WEBINAR":
            topic = rng.choice(WEBINAR_TOPICS)
            row.update(
                product_code="WEBINAR",
                description=f"Webinar: {topic}",
                amount=_money(rng.choice((0, 0, 25, 49, 79))),
                units=Decimal("1.0"),
            )
        elif kind == "CERT":
            code, name = rng.choice(CERTIFICATIONS)
            row.update(
                product_code=code,
                description=f"Earned {name}",
                thru_date=day.replace(year=day.year + 3, day=min(day.day, 28)),
                amount=_money(rng.choice((250, 350))),
            )
        elif kind == "COMMITTEE":
            _, name = rng.choice(COMMITTEES)
            row.update(product_code="COMMITTEE", description=f"{name} meeting")
        elif kind == "NOTE":
            row.update(
                category="NOTE",
                description=str(self.fake.sentence(nb_words=6))[:255],
                note=str(self.fake.paragraph(nb_sentences=2)),
            )
        elif kind == "CE_CREDIT":
            topic = rng.choice(WEBINAR_TOPICS)
            row.update(
                product_code="CE",
                description=f"CE credit: {topic}",
                units=Decimal(rng.choice(("1.0", "1.5", "2.0", "3.0", "6.0"))),
            )
        elif kind == "VOLUNTEER":
            row.update(
                product_code="VOLUNTEER",
                description=f"Volunteered: {rng.choice(VOLUNTEER_TASKS)}",
                units=Decimal(rng.randint(2, 40)),
            )
        elif kind == "PUBLICATION":
            code, name, price = rng.choice(PUBLICATIONS)
            row.update(product_code=code, description=f"Purchased: {name}", amount=_money(price))
        else:
            row.update(product_code="SURVEY", description=f"Completed the {day.year} member survey")
        return row

    # ---- panels --------------------------------------------------------------------------------

    def make_panel_rows(self) -> None:
        stage = self.stage("Panel rows", len(self.persons))
        tables = panel_tables(self.conn)
        profile = (
            _Bulk(self.conn, tables[PROFILE_PANEL][1]) if PROFILE_PANEL in self.panels else None
        )
        volunteer = (
            _Bulk(
                self.conn,
                tables[VOLUNTEER_PANEL][1],
                counters.panel_counter(VOLUNTEER_PANEL),
                "ordinal",
            )
            if VOLUNTEER_PANEL in self.panels
            else None
        )
        interests = [c for c, _, _ in INTERESTS]
        skills = [c for c, _, _ in VOLUNTEER_SKILLS]
        rng = self.rng
        for person in self.persons:
            member = person.member_type != "NM"
            if profile is not None and self.chance(0.45 if member else 0.1):
                profile.add(
                    {
                        "imis_id": person.imis_id,
                        snake("Specialty"): rng.choice(SPECIALTIES),
                        snake("YearsInPractice"): rng.randint(0, 40),
                        snake("Newsletter"): self.chance(0.4),
                        snake("Interests"): ",".join(rng.sample(interests, rng.randint(1, 3))),
                        snake("CertifiedOn"): self.days_ago(30, 15 * 365)
                        if self.chance(0.4)
                        else None,
                    }
                )
            if volunteer is not None and member and self.chance(0.12):
                for role in rng.sample(VOLUNTEER_ROLES, rng.randint(1, 3)):
                    volunteer.add(
                        {
                            "imis_id": person.imis_id,
                            snake("Role"): role,
                            snake("Hours"): Decimal(rng.randint(2, 160)) / 2,
                            snake("Skills"): ",".join(rng.sample(skills, rng.randint(1, 3))),
                            snake("StartDate"): self.days_ago(0, 6 * 365),
                        }
                    )
            stage.advance()
        for name, bulk in ((PROFILE_PANEL, profile), (VOLUNTEER_PANEL, volunteer)):
            if bulk is not None:
                bulk.flush()
                self.summary.panel_rows[name] = bulk.count
        stage.finish()

    # ---- groups --------------------------------------------------------------------------------

    def make_groups(self) -> None:
        group_rows = [
            {"group_name": code, "description": name, "group_type": "Committee"}
            for code, name in COMMITTEES
        ] + [
            {"group_name": f"CHAPTER_{code}", "description": name, "group_type": "Chapter"}
            for code, (name, _) in CHAPTERS.items()
        ]
        self.summary.groups = _insert_new(self.conn, groups, ("group_name",), group_rows)
        role_rows = [
            {"group_name": g["group_name"], "role_name": role}
            for g in group_rows
            for role in (COMMITTEE_ROLES if g["group_type"] == "Committee" else CHAPTER_ROLES)
        ]
        _insert_new(self.conn, group_roles, ("group_name", "role_name"), role_rows)

        stage = self.stage("Groups", len(self.persons))
        bulk = _Bulk(self.conn, group_members)
        rng = self.rng
        leaders: dict[str, list[str]] = {}  # group -> roles still to hand out
        room = dict(COMMITTEE_SIZES)
        for code, _ in COMMITTEES:
            leaders[code] = list(COMMITTEE_ROLES[1:])
        for code in CHAPTERS:
            leaders[f"CHAPTER_{code}"] = list(CHAPTER_ROLES[1:])
        for person in self.persons:
            eligible = person.member_type in MEMBER_TYPES_ACTIVE and person.status == "A"
            joined = person.join_date or self.days_ago(0, 5 * 365)
            if person.chapter is not None and self.chance(0.8):
                group = f"CHAPTER_{person.chapter}"
                bulk.add(self.membership(person, group, leaders, joined, eligible))
            open_seats = {c: n for c, n in room.items() if n > 0}
            if eligible and open_seats and self.chance(0.05):
                group = rng.choices(list(open_seats), list(open_seats.values()))[0]
                room[group] -= 1
                bulk.add(self.membership(person, group, leaders, joined, True))
            stage.advance()
        bulk.flush()
        stage.finish()
        self.summary.group_members = bulk.count

    def membership(
        self, person: _Contact, group: str, leaders: dict[str, list[str]], joined: date, lead: bool
    ) -> Row:
        role = "Member"
        if lead and leaders[group] and self.chance(0.3):
            role = leaders[group].pop(0)
        begin = self.days_ago(0, max(0, (self.today - joined).days))
        active = role != "Member" or self.chance(0.9)
        return {
            "imis_id": person.imis_id,
            "group_name": group,
            "role_name": role,
            "join_date": joined if group.startswith("CHAPTER_") else begin,
            "role_begin_date": begin,
            "role_end_date": None
            if active
            else self.days_ago(0, max(0, (self.today - begin).days)),
            "is_active": active,
        }

    # ---- relationships -------------------------------------------------------------------------

    def make_relationships(self) -> None:
        rng = self.rng
        people = self.persons
        pairs: list[tuple[str, _Contact, _Contact]] = []
        seen: set[frozenset[str]] = set()

        def pair(kind: str, a: _Contact, b: _Contact) -> None:
            key = frozenset((a.imis_id, b.imis_id))
            if a.imis_id != b.imis_id and key not in seen:
                seen.add(key)
                pairs.append((kind, a, b))

        if len(people) >= 2:
            for kind, share in RELATED_SHARES.items():
                for _ in range(int(len(people) * share) or (1 if kind == "SPOUSE" else 0)):
                    a, b = rng.sample(people, 2)
                    pair(kind, a, b)
        employees = [p for p in people if p.org_id is not None]
        stage = self.stage("Relationships", len(pairs) + len(employees))
        bulk = _Bulk(self.conn, relationships)
        for kind, a, b in pairs:
            self.relate(bulk, kind, a.imis_id, b.imis_id, None)
            stage.advance()
        for person in employees:
            assert person.org_id is not None
            self.relate(bulk, "EMPLOYEE", person.imis_id, person.org_id, person.title)
            stage.advance()
        bulk.flush()
        stage.finish()
        self.summary.relationships = bulk.count

    def relate(self, bulk: _Bulk, kind: str, source: str, target: str, title: str | None) -> None:
        begin = self.days_ago(30, 20 * 365)
        reciprocal = RECIPROCAL.get(kind)
        bulk.add(
            {
                "imis_id": source,
                "relationship_type": kind,
                "target_imis_id": target,
                "reciprocal_type": reciprocal,
                "begin_date": begin,
                "title": title,
            }
        )
        if reciprocal is not None:
            bulk.add(
                {
                    "imis_id": target,
                    "relationship_type": reciprocal,
                    "target_imis_id": source,
                    "reciprocal_type": kind,
                    "begin_date": begin,
                    "title": title,
                }
            )

    # ---- communication preferences -------------------------------------------------------------

    def make_preferences(self) -> None:
        self.summary.communication_preferences = _insert_new(
            self.conn,
            communication_preferences,
            ("code",),
            [{"code": c, "name": n, "description": d} for c, n, d, _ in PREFERENCES],
        )
        stage = self.stage("Communication preferences", len(self.persons))
        bulk = _Bulk(self.conn, communication_preference_values)
        for person in self.persons:
            if self.chance(0.85):
                for code, _, _, share in PREFERENCES:
                    bulk.add(
                        {"imis_id": person.imis_id, "code": code, "opted_in": self.chance(share)}
                    )
            stage.advance()
        bulk.flush()
        stage.finish()
        self.summary.preference_values = bulk.count

    # ---- events --------------------------------------------------------------------------------

    def event_start(self, month: int, day: int) -> date:
        """The template's usual date, in a year that puts it within a year of today."""
        year = self.today.year
        years = [
            y
            for y in (year - 1, year, year + 1)
            if abs((date(y, month, day) - self.today).days) <= 365
        ]
        return date(self.rng.choice(years), month, day)

    def make_events(self) -> None:
        rng = self.rng
        chosen = rng.sample(EVENT_TEMPLATES, rng.randint(3, 6))
        starts = [self.event_start(*t[2]) for t in chosen]
        # At least one past and one coming event.
        if all(start <= self.today for start in starts):
            latest = starts.index(max(starts))
            starts[latest] = starts[latest].replace(year=starts[latest].year + 1)
        if all(start > self.today for start in starts):
            earliest = starts.index(min(starts))
            starts[earliest] = starts[earliest].replace(year=starts[earliest].year - 1)
        event_rows: list[Row] = []
        function_rows: list[Row] = []
        options: dict[str, list[Row]] = {}
        items: dict[str, list[Row]] = {}
        active = [p for p in self.persons if p.status == "A"]
        for start, (stem, name, _, days, venue, opts, progs) in sorted(
            zip(starts, chosen, strict=True)
        ):
            end = start + timedelta(days=days - 1)
            code = f"{stem}{start.year % 100:02d}"
            event_rows.append(
                {
                    "event_code": code,
                    "event_name": f"{start.year} {name}"[:60],
                    "status": "C" if end < self.today else "A",
                    "start_date": start,
                    "end_date": end,
                    "description": f"The {start.year} {name}, {venue.split(', ', 1)[1]}.",
                    "event_contact_id": rng.choice(active).imis_id if active else None,
                    "location": venue,
                }
            )
            n_opts = len(opts) if len(opts) <= 2 else rng.randint(2, len(opts))
            for fcode, fname, price in opts[:n_opts]:
                row = {
                    "event_code": code,
                    "function_code": fcode,
                    "function_name": fname,
                    "is_registration_option": True,
                    "price": _money(price) if price is not None else None,
                    "capacity": None,
                    "begin_date": start,
                }
                function_rows.append(row)
                options.setdefault(code, []).append(row)
            for fcode, fname, price in rng.sample(progs, min(len(progs), rng.randint(2, 4))):
                row = {
                    "event_code": code,
                    "function_code": fcode,
                    "function_name": fname,
                    "is_registration_option": False,
                    "price": _money(price) if price is not None else None,
                    "capacity": None,
                    "begin_date": start + timedelta(days=rng.randrange(days)),
                }
                function_rows.append(row)
                items.setdefault(code, []).append(row)
        # One option of one event is limited: later registrations go on its wait list.
        small = [o for opts in options.values() for o in opts if o["function_code"] in SMALL]
        capped = rng.choice(small or [opts[-1] for opts in options.values()])
        capped["capacity"] = rng.choice((20, 25, 30))
        self.summary.events = _insert_new(self.conn, events, ("event_code",), event_rows)
        self.summary.event_functions = _insert_new(
            self.conn, event_functions, ("event_code", "function_code"), function_rows
        )

        stage = self.stage("Event registrations", len(self.persons))
        bulk = _Bulk(self.conn, event_registrations, counters.REGISTRATION, "registration_id")
        taken: dict[tuple[str, str], int] = {}
        for person in self.persons:
            if person.status == "A":
                for event in event_rows:
                    ahead = (event["start_date"] - self.today).days
                    share = 0.12 if ahead <= 0 else (0.06 if ahead <= 120 else 0.015)
                    if self.chance(share):
                        self.register(bulk, person, event, options, items, taken)
            stage.advance()
        bulk.flush()
        stage.finish()
        self.summary.registrations = bulk.count

    def register(
        self,
        bulk: _Bulk,
        person: _Contact,
        event: Row,
        options: dict[str, list[Row]],
        items: dict[str, list[Row]],
        taken: dict[tuple[str, str], int],
    ) -> None:
        code = event["event_code"]
        offered = options[code]
        by_code = {o["function_code"]: o for o in offered}
        wanted = "NONMEMBER" if person.member_type == "NM" else "MEMBER"
        if person.member_type == "STU" and "STUDENT" in by_code:
            wanted = "STUDENT"
        if wanted in by_code:
            option = by_code[wanted]
        else:
            option = self.rng.choices(offered, [6] + [1] * (len(offered) - 1))[0]
        key = (code, option["function_code"])
        taken[key] = taken.get(key, 0) + 1
        waitlist = option["capacity"] is not None and taken[key] > option["capacity"]
        start: date = event["start_date"]
        day = min(self.today, start - timedelta(days=self.rng.randint(1, 120)))
        bill_to = person.org_id if person.org_id and self.chance(0.5) else person.imis_id
        chosen = [option]
        if not waitlist:
            chosen += [i for i in items.get(code, []) if self.chance(0.4)]
        for function in chosen:
            bulk.add(
                {
                    "registrant_id": person.imis_id,
                    "event_code": code,
                    "function_code": function["function_code"],
                    "price": function["price"],
                    "registered_by_id": person.imis_id,
                    "bill_to_id": bill_to,
                    "transaction_date": day,
                    "waitlist": waitlist,
                    "status": "Waitlisted" if waitlist else "Registered",
                }
            )

    # ---- gifts ---------------------------------------------------------------------------------

    def make_gifts(self) -> None:
        self.summary.gift_items = _insert_new(
            self.conn,
            gift_items,
            ("gift_item_id",),
            [{"gift_item_id": c, "name": n, "description": d} for c, n, d in GIFT_ITEMS],
        )
        self.summary.payment_methods = _insert_new(
            self.conn,
            payment_methods,
            ("payment_method_id",),
            [{"payment_method_id": c, "name": n, "payment_type": t} for c, n, t in PAYMENT_METHODS],
        )
        usable = [c for c, _, t in PAYMENT_METHODS if t != "CREDIT_CARD"]
        rng = self.rng
        stage = self.stage("Gifts", len(self.contacts))
        bulk = _Bulk(self.conn, gifts, counters.GIFT, "gift_id")
        for contact in self.contacts:
            if contact.status != "D" and self.chance(0.12):
                for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):
                    bulk.add(self.gift(contact, usable))
            stage.advance()
        bulk.flush()
        stage.finish()
        self.summary.gifts = bulk.count

    def gift(self, contact: _Contact, methods: list[str]) -> Row:
        rng = self.rng
        day = self.days_ago(0, 3 * 365)
        if contact.is_org:
            amount = rng.choice((500, 1000, 2500, 5000, 10000))
        else:
            amount = rng.choices(
                (25, 50, 100, 150, 250, 500, 1000, 2500), (20, 25, 22, 8, 12, 7, 4, 2)
            )[0]
        method = rng.choices(methods, (3, 5, 2))[0] if len(methods) == 3 else rng.choice(methods)
        season = "YE" if day.month >= 11 else ("SPRING" if day.month <= 6 else "FALL")
        row: Row = {
            "donor_id": contact.imis_id,
            "amount": _money(amount),
            "gift_item_id": rng.choices([c for c, _, _ in GIFT_ITEMS], (60, 20, 12, 8))[0],
            "payment_method_id": method,
            "gift_date": day,
            "transaction_date": day,
            "check_number": str(rng.randint(1001, 9999)) if method == "CHECK" else None,
            "source_code": f"{season}{day.year % 100:02d}",
            "do_not_receipt": False,
            "list_as": "Anonymous" if self.chance(0.05) else None,
        }
        if not contact.is_org and self.chance(0.06):
            kind = rng.choice(("HONOR", "MEMORY"))
            tribute = str(self.fake.name())[:100]
            row.update(
                tribute_type=kind,
                tribute_name=tribute,
                tribute_message=(
                    f"In honor of {tribute}"
                    if kind == "HONOR"
                    else f"In loving memory of {tribute}"
                ),
            )
        return row

    # ---- users ---------------------------------------------------------------------------------

    def make_users(self) -> None:
        rng = self.rng
        candidates = [p for p in self.persons if p.email and p.status == "A"]
        wanted = min(MAX_USERS, round(len(candidates) * 0.1))
        chosen = sorted(rng.sample(candidates, wanted), key=lambda p: int(p.imis_id))
        locked_n = round(wanted * 0.05)
        if wanted >= 10:
            locked_n = max(locked_n, 2)
        elif wanted >= 2:
            locked_n = max(locked_n, 1)
        locked = {p.imis_id for p in rng.sample(chosen, locked_n)}
        stage = self.stage("Users", len(chosen))
        bulk = _Bulk(self.conn, users)
        keys: set[str] = set()
        for person in chosen:
            username = self.username(person, keys)
            created = self.later(person.created_on)
            is_locked = person.imis_id in locked
            bulk.add(
                {
                    "imis_id": person.imis_id,
                    "username": username,
                    "username_key": username_key(username),
                    "password_hash": fast_hash_password(DEMO_PASSWORD),
                    "is_locked_out": is_locked,
                    "failed_password_attempt_count": 5
                    if is_locked
                    else rng.choice((0, 0, 0, 1, 2)),
                    "last_lockout_date": self.later(created) if is_locked else None,
                    "last_login_date": self.later(created) if self.chance(0.7) else None,
                    "last_password_changed_date": created,
                    "is_disabled": False,
                    "created_on": created,
                }
            )
            stage.advance()
        bulk.flush()
        stage.finish()
        self.summary.users = bulk.count
        self.summary.locked_users = len(locked)

    def username(self, person: _Contact, keys: set[str]) -> str:
        """jsmith, jsmith42 or the e-mail address; unique without regard to case."""
        if person.email and self.chance(0.3):
            base = person.email
        else:
            base = (_ascii(person.first)[:1] + _ascii(person.last))[:50] or "member"
            if self.chance(0.5):
                base += str(self.rng.randint(1, 99))
        name, n = base[:60], 1
        while username_key(name) in keys:
            n += 1
            name = f"{base[:55]}{n}"
        keys.add(username_key(name))
        return name
