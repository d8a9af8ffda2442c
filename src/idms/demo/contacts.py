"""Contacts: organizations (about 10 %, member type CORP) and persons, some employed by one."""

from __future__ import annotations

import re
from datetime import timedelta

from idms.demo.base import Bulk, Contact, Demo, Row, plain_ascii
from idms.demo.reference import (
    CHAPTER_OF_STATE,
    DESIGNATIONS,
    FOREIGN,
    NICKNAMES,
    ORG_SUFFIXES,
    PERSON_MEMBER_TYPES,
    TITLES,
)
from idms.targets.embedded import counters
from idms.targets.embedded.schema import contacts


def _place(demo: Demo) -> tuple[str, str | None]:
    """A country and (in the United States) a state for a new contact."""
    roll = demo.rng.random()
    for country, (_, share) in FOREIGN.items():
        if roll < share:
            return country, None
        roll -= share
    return "United States", demo.rng.choices(demo.states, demo.state_weights)[0]


def make_contacts(demo: Demo) -> None:
    n = demo.n
    stage = demo.stage("Contacts", n)
    n_orgs = n // 10 if n >= 10 else min(1, n // 2)
    ids = [str(i) for i in counters.allocate(demo.conn, counters.CONTACT_ID, n)]
    org_positions = set(demo.rng.sample(range(n), n_orgs))
    demo.orgs = [_new_org(demo, ids[p]) for p in sorted(org_positions)]
    demo.orgs_by_id = {o.imis_id: o for o in demo.orgs}
    bulk = Bulk(demo.conn, contacts)
    for position, imis_id in enumerate(ids):
        if position in org_positions:
            org = demo.orgs_by_id[imis_id]
            demo.contacts.append(org)
            bulk.add(_org_row(demo, org))
        else:
            person, row = _new_person(demo, imis_id)
            demo.contacts.append(person)
            demo.persons.append(person)
            bulk.add(row)
        stage.advance()
    bulk.flush()
    stage.finish()
    demo.summary.contacts = bulk.count
    demo.summary.organizations = len(demo.orgs)
    demo.summary.persons = len(demo.persons)


def _org_name(demo: Demo) -> str:
    fake = demo.fake
    if demo.chance(0.5):
        return str(fake.company())[:80]
    return f"{fake.last_name()} {demo.rng.choice(ORG_SUFFIXES)}"[:80]


def _new_org(demo: Demo, imis_id: str) -> Contact:
    name = _org_name(demo)
    words = [plain_ascii(w) for w in re.split(r"[\s,&-]+", name)]
    stem = "".join(w for w in words[:2] if w not in ("", "and", "llc", "inc", "plc"))[:30]
    tld = demo.rng.choice((".com", ".org", ".net"))
    domain, n = f"{stem or 'org'}{tld}", 1
    while domain in demo.domains:
        n += 1
        domain = f"{stem or 'org'}{n}{tld}"
    demo.domains.add(domain)
    country, state = _place(demo)
    status = "A" if demo.chance(0.95) else "I"
    join = demo.days_ago(30, 25 * 365)
    org = Contact(
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
        created_on=demo.moment(join),
        country=country,
        state=state,
        work_phone=demo.phone(),
        domain=domain,
    )
    local = demo.rng.choice(("info", "contact", "office", "admin"))
    org.email = demo.unique_email(local, domain)
    return org


def _org_row(demo: Demo, org: Contact) -> Row:
    return {
        "imis_id": org.imis_id,
        "contact_key": demo.contact_key(),
        "is_organization": True,
        "organization_name": org.name,
        "email": org.email,
        "work_phone": org.work_phone,
        "fax": demo.phone() if demo.chance(0.4) else None,
        "member_type": org.member_type,
        "status": org.status,
        "billing_category": "STD" if org.country == "United States" else "INTL",
        "join_date": org.join_date,
        "paid_through": demo.paid_through("CORP", org.status),
        "chapter": org.chapter,
        "mark_for_erasure": False,
        "created_on": org.created_on,
        "updated_on": demo.later(org.created_on),
    }


def _new_person(demo: Demo, imis_id: str) -> tuple[Contact, Row]:
    rng, fake = demo.rng, demo.fake
    gender = rng.choices(("F", "M", "X", None), (48, 46, 2, 4))[0]
    if gender == "F":
        first = str(fake.first_name_female())
    elif gender == "M":
        first = str(fake.first_name_male())
    else:
        first = str(fake.first_name_nonbinary())
    first, last = first[:20], str(fake.last_name())[:30]
    member_type = demo.pick(PERSON_MEMBER_TYPES)
    status = rng.choices(("A", "I", "D"), (88, 10, 2))[0]
    age = {"STU": rng.randint(19, 30), "RET": rng.randint(62, 88)}.get(
        member_type, rng.randint(24, 75)
    )
    birth = demo.today - timedelta(days=age * 365 + rng.randint(0, 364))
    if member_type == "NM":
        join = None
    elif member_type == "STU":
        join = demo.days_ago(0, 4 * 365)
    else:
        join = demo.days_ago(0, max(1, min(age - 22, 30)) * 365)
    created = demo.moment(join or demo.days_ago(0, 8 * 365))

    org = rng.choice(demo.orgs) if demo.orgs and demo.chance(0.35) else None
    if org is not None:
        country, state = org.country, org.state
    else:
        country, state = _place(demo)
    chapter = None
    if member_type != "NM" and state is not None and demo.chance(0.7):
        chapter = CHAPTER_OF_STATE.get(state)

    email = None
    if demo.chance(0.95):
        domain = (
            org.domain
            if org is not None and org.domain and demo.chance(0.6)
            else str(fake.free_email_domain())
        )
        f, la = plain_ascii(first), plain_ascii(last)
        local = rng.choice(
            (f"{f}.{la}", f"{f[:1]}{la}", f"{f}_{la}", f"{f}{la}{rng.randint(1, 99)}")
        )
        email = demo.unique_email(local, domain)

    prefix = None
    if demo.chance(0.08):
        prefix = "Prof" if demo.chance(0.2) else "Dr"
    elif demo.chance(0.65):
        prefix = {"M": "Mr", "F": rng.choice(("Ms", "Ms", "Mrs"))}.get(gender or "")
    suffix = None
    if demo.chance(0.04):
        if prefix == "Dr":
            suffix = "PhD"
        elif gender == "M":
            suffix = rng.choice(("Jr", "Sr", "II", "III"))
    middle = None
    if demo.chance(0.35):
        other = str(fake.first_name())
        middle = f"{other[0]}." if demo.chance(0.5) else other[:20]

    person = Contact(
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
        home_phone=demo.phone() if demo.chance(0.6) else None,
        work_phone=demo.phone() if demo.chance(0.8 if org else 0.2) else None,
        title=rng.choice(TITLES) if demo.chance(0.75 if org else 0.3) else None,
    )
    billing = None
    if member_type == "LIFE":
        billing = "COMP"
    elif member_type != "NM":
        billing = "INTL" if country != "United States" else ("AUTO" if demo.chance(0.25) else "STD")
    row: Row = {
        "imis_id": imis_id,
        "contact_key": demo.contact_key(),
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
        "mobile_phone": demo.phone() if demo.chance(0.7) else None,
        "member_type": member_type,
        "status": status,
        "billing_category": billing,
        "birth_date": birth if demo.chance(0.85) else None,
        "gender": gender,
        "join_date": join,
        "paid_through": demo.paid_through(member_type, status),
        "chapter": chapter,
        "designation": rng.choice(DESIGNATIONS) if demo.chance(0.1) else None,
        "mark_for_erasure": False,
        "created_on": created,
        "updated_on": demo.later(created),
    }
    return person, row
