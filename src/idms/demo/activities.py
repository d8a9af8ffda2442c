"""Activities (about two per person over three years) and the rows of the two demo panels."""

from __future__ import annotations

from decimal import Decimal

from idms.demo.base import Bulk, Contact, Demo, Row, money
from idms.demo.reference import (
    ACTIVITY_TYPES,
    CERTIFICATIONS,
    CHAPTERS,
    COMMITTEES,
    INTERESTS,
    PUBLICATIONS,
    SPECIALTIES,
    VOLUNTEER_ROLES,
    VOLUNTEER_SKILLS,
    VOLUNTEER_TASKS,
    WEBINAR_TOPICS,
)
from idms.targets.embedded import counters
from idms.targets.embedded.admin import panel_tables
from idms.targets.embedded.schema import activities, snake

PROFILE_PANEL = "MemberProfile"
VOLUNTEER_PANEL = "Volunteering"


def make_activities(demo: Demo) -> None:
    stage = demo.stage("Activities", len(demo.persons))
    bulk = Bulk(demo.conn, activities, counters.SEQN, "seqn")
    for person in demo.persons:
        count = demo.rng.choices((0, 1, 2, 3, 4, 5), (22, 25, 20, 15, 10, 8))[0]
        for _ in range(count):
            bulk.add(_activity(demo, person))
        stage.advance()
    bulk.flush()
    stage.finish()
    demo.summary.activities = bulk.count


def _activity(demo: Demo, person: Contact) -> Row:
    rng = demo.rng
    kind = rng.choices([c for c, _, _ in ACTIVITY_TYPES], (18, 22, 6, 8, 10, 14, 8, 8, 6))[0]
    day = demo.days_ago(0, 3 * 365)
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
            amount=money(rng.choice((0, 0, 15, 25))),
        )
    elif kind == "WEBINAR":
        topic = rng.choice(WEBINAR_TOPICS)
        row.update(
            product_code="WEBINAR",
            description=f"Webinar: {topic}",
            amount=money(rng.choice((0, 0, 25, 49, 79))),
            units=Decimal("1.0"),
        )
    elif kind == "CERT":
        code, name = rng.choice(CERTIFICATIONS)
        row.update(
            product_code=code,
            description=f"Earned {name}",
            thru_date=day.replace(year=day.year + 3, day=min(day.day, 28)),
            amount=money(rng.choice((250, 350))),
        )
    elif kind == "COMMITTEE":
        _, name = rng.choice(COMMITTEES)
        row.update(product_code="COMMITTEE", description=f"{name} meeting")
    elif kind == "NOTE":
        row.update(
            category="NOTE",
            description=str(demo.fake.sentence(nb_words=6))[:255],
            note=str(demo.fake.paragraph(nb_sentences=2)),
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
        row.update(product_code=code, description=f"Purchased: {name}", amount=money(price))
    else:
        row.update(product_code="SURVEY", description=f"Completed the {day.year} member survey")
    return row


def make_panel_rows(demo: Demo) -> None:
    stage = demo.stage("Panel rows", len(demo.persons))
    tables = panel_tables(demo.conn)
    profile = Bulk(demo.conn, tables[PROFILE_PANEL][1]) if PROFILE_PANEL in demo.panels else None
    volunteer = (
        Bulk(
            demo.conn,
            tables[VOLUNTEER_PANEL][1],
            counters.panel_counter(VOLUNTEER_PANEL),
            "ordinal",
        )
        if VOLUNTEER_PANEL in demo.panels
        else None
    )
    interests = [c for c, _, _ in INTERESTS]
    skills = [c for c, _, _ in VOLUNTEER_SKILLS]
    rng = demo.rng
    for person in demo.persons:
        member = person.member_type != "NM"
        if profile is not None and demo.chance(0.45 if member else 0.1):
            profile.add(
                {
                    "imis_id": person.imis_id,
                    snake("Specialty"): rng.choice(SPECIALTIES),
                    snake("YearsInPractice"): rng.randint(0, 40),
                    snake("Newsletter"): demo.chance(0.4),
                    snake("Interests"): ",".join(rng.sample(interests, rng.randint(1, 3))),
                    snake("CertifiedOn"): demo.days_ago(30, 15 * 365) if demo.chance(0.4) else None,
                }
            )
        if volunteer is not None and member and demo.chance(0.12):
            for role in rng.sample(VOLUNTEER_ROLES, rng.randint(1, 3)):
                volunteer.add(
                    {
                        "imis_id": person.imis_id,
                        snake("Role"): role,
                        snake("Hours"): Decimal(rng.randint(2, 160)) / 2,
                        snake("Skills"): ",".join(rng.sample(skills, rng.randint(1, 3))),
                        snake("StartDate"): demo.days_ago(0, 6 * 365),
                    }
                )
        stage.advance()
    for name, bulk in ((PROFILE_PANEL, profile), (VOLUNTEER_PANEL, volunteer)):
        if bulk is not None:
            bulk.flush()
            demo.summary.panel_rows[name] = bulk.count
    stage.finish()
