"""User credentials for about 10 % of the persons with an e-mail address."""

from __future__ import annotations

from idms.demo.base import Bulk, Contact, Demo, plain_ascii
from idms.targets.embedded.passwords import fast_hash_password, username_key
from idms.targets.embedded.schema import users

DEMO_PASSWORD = "Demo-Password-1"
MAX_USERS = 300


def make_users(demo: Demo) -> None:
    rng = demo.rng
    candidates = [p for p in demo.persons if p.email and p.status == "A"]
    wanted = min(MAX_USERS, round(len(candidates) * 0.1))
    chosen = sorted(rng.sample(candidates, wanted), key=lambda p: int(p.imis_id))
    locked_n = round(wanted * 0.05)
    if wanted >= 10:
        locked_n = max(locked_n, 2)
    elif wanted >= 2:
        locked_n = max(locked_n, 1)
    locked = {p.imis_id for p in rng.sample(chosen, locked_n)}
    stage = demo.stage("Users", len(chosen))
    bulk = Bulk(demo.conn, users)
    keys: set[str] = set()
    for person in chosen:
        username = _username(demo, person, keys)
        created = demo.later(person.created_on)
        is_locked = person.imis_id in locked
        bulk.add(
            {
                "imis_id": person.imis_id,
                "username": username,
                "username_key": username_key(username),
                "password_hash": fast_hash_password(DEMO_PASSWORD),
                "is_locked_out": is_locked,
                "failed_password_attempt_count": 5 if is_locked else rng.choice((0, 0, 0, 1, 2)),
                "last_lockout_date": demo.later(created) if is_locked else None,
                "last_login_date": demo.later(created) if demo.chance(0.7) else None,
                "last_password_changed_date": created,
                "is_disabled": False,
                "created_on": created,
            }
        )
        stage.advance()
    bulk.flush()
    stage.finish()
    demo.summary.users = bulk.count
    demo.summary.locked_users = len(locked)


def _username(demo: Demo, person: Contact, keys: set[str]) -> str:
    """jsmith, jsmith42 or the e-mail address; unique without regard to case."""
    if person.email and demo.chance(0.3):
        base = person.email
    else:
        base = (plain_ascii(person.first)[:1] + plain_ascii(person.last))[:50] or "member"
        if demo.chance(0.5):
            base += str(demo.rng.randint(1, 99))
    name, n = base[:60], 1
    while username_key(name) in keys:
        n += 1
        name = f"{base[:55]}{n}"
    keys.add(username_key(name))
    return name
