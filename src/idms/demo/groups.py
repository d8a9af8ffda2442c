"""Groups (committees, chapters) with roles and members; relationships; contact preferences."""

from __future__ import annotations

from datetime import date

from idms.demo.base import Bulk, Contact, Demo, Row, insert_new
from idms.demo.reference import (
    CHAPTER_ROLES,
    CHAPTERS,
    COMMITTEE_ROLES,
    COMMITTEE_SIZES,
    COMMITTEES,
    MEMBER_TYPES_ACTIVE,
    PREFERENCES,
    RECIPROCAL,
    RELATED_SHARES,
)
from idms.targets.embedded.schema import (
    communication_preference_values,
    communication_preferences,
    group_members,
    group_roles,
    groups,
    relationships,
)


def make_groups(demo: Demo) -> None:
    group_rows = [
        {"group_name": code, "description": name, "group_type": "Committee"}
        for code, name in COMMITTEES
    ] + [
        {"group_name": f"CHAPTER_{code}", "description": name, "group_type": "Chapter"}
        for code, (name, _) in CHAPTERS.items()
    ]
    demo.summary.groups = insert_new(demo.conn, groups, ("group_name",), group_rows)
    role_rows = [
        {"group_name": g["group_name"], "role_name": role}
        for g in group_rows
        for role in (COMMITTEE_ROLES if g["group_type"] == "Committee" else CHAPTER_ROLES)
    ]
    insert_new(demo.conn, group_roles, ("group_name", "role_name"), role_rows)

    stage = demo.stage("Groups", len(demo.persons))
    bulk = Bulk(demo.conn, group_members)
    rng = demo.rng
    leaders: dict[str, list[str]] = {}  # group -> roles still to hand out
    room = dict(COMMITTEE_SIZES)
    for code, _ in COMMITTEES:
        leaders[code] = list(COMMITTEE_ROLES[1:])
    for code in CHAPTERS:
        leaders[f"CHAPTER_{code}"] = list(CHAPTER_ROLES[1:])
    for person in demo.persons:
        eligible = person.member_type in MEMBER_TYPES_ACTIVE and person.status == "A"
        joined = person.join_date or demo.days_ago(0, 5 * 365)
        if person.chapter is not None and demo.chance(0.8):
            group = f"CHAPTER_{person.chapter}"
            bulk.add(_membership(demo, person, group, leaders, joined, eligible))
        open_seats = {c: n for c, n in room.items() if n > 0}
        if eligible and open_seats and demo.chance(0.05):
            group = rng.choices(list(open_seats), list(open_seats.values()))[0]
            room[group] -= 1
            bulk.add(_membership(demo, person, group, leaders, joined, True))
        stage.advance()
    bulk.flush()
    stage.finish()
    demo.summary.group_members = bulk.count


def _membership(
    demo: Demo, person: Contact, group: str, leaders: dict[str, list[str]], joined: date, lead: bool
) -> Row:
    role = "Member"
    if lead and leaders[group] and demo.chance(0.3):
        role = leaders[group].pop(0)
    begin = demo.days_ago(0, max(0, (demo.today - joined).days))
    active = role != "Member" or demo.chance(0.9)
    return {
        "imis_id": person.imis_id,
        "group_name": group,
        "role_name": role,
        "join_date": joined if group.startswith("CHAPTER_") else begin,
        "role_begin_date": begin,
        "role_end_date": None if active else demo.days_ago(0, max(0, (demo.today - begin).days)),
        "is_active": active,
    }


def make_relationships(demo: Demo) -> None:
    rng = demo.rng
    people = demo.persons
    pairs: list[tuple[str, Contact, Contact]] = []
    seen: set[frozenset[str]] = set()

    def pair(kind: str, a: Contact, b: Contact) -> None:
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
    stage = demo.stage("Relationships", len(pairs) + len(employees))
    bulk = Bulk(demo.conn, relationships)
    for kind, a, b in pairs:
        _relate(demo, bulk, kind, a.imis_id, b.imis_id, None)
        stage.advance()
    for person in employees:
        assert person.org_id is not None
        _relate(demo, bulk, "EMPLOYEE", person.imis_id, person.org_id, person.title)
        stage.advance()
    bulk.flush()
    stage.finish()
    demo.summary.relationships = bulk.count


def _relate(demo: Demo, bulk: Bulk, kind: str, source: str, target: str, title: str | None) -> None:
    begin = demo.days_ago(30, 20 * 365)
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


def make_preferences(demo: Demo) -> None:
    demo.summary.communication_preferences = insert_new(
        demo.conn,
        communication_preferences,
        ("code",),
        [{"code": c, "name": n, "description": d} for c, n, d, _ in PREFERENCES],
    )
    stage = demo.stage("Communication preferences", len(demo.persons))
    bulk = Bulk(demo.conn, communication_preference_values)
    for person in demo.persons:
        if demo.chance(0.85):
            for code, _, _, share in PREFERENCES:
                bulk.add({"imis_id": person.imis_id, "code": code, "opted_in": demo.chance(share)})
        stage.advance()
    bulk.flush()
    stage.finish()
    demo.summary.preference_values = bulk.count
