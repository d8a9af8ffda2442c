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

from importlib import resources

from sqlalchemy import Connection, Engine, func, select

from idms.demo.activities import make_activities, make_panel_rows
from idms.demo.addresses import make_addresses
from idms.demo.base import Demo, Progress, Stage
from idms.demo.contacts import make_contacts
from idms.demo.events import make_events
from idms.demo.gifts import make_gifts
from idms.demo.groups import make_groups, make_preferences, make_relationships
from idms.demo.lookups import make_lookups
from idms.demo.summary import DemoSummary
from idms.demo.users import DEMO_PASSWORD, MAX_USERS, make_users
from idms.errors import InvalidInputError
from idms.sources.panels import PanelDefinition, parse_panel
from idms.targets.embedded.admin import create_panel, load_panels
from idms.targets.embedded.schema import contacts

__all__ = ["DEMO_PASSWORD", "MAX_USERS", "DemoSummary", "fill_demo"]

PANEL_FILES = ("memberprofile.yml", "volunteering.yml")


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
        _run(Demo(conn, contacts, seed, progress, summary, usable))
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
    stage = Stage(progress, "Panels", len(PANEL_FILES))
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


def _run(demo: Demo) -> None:
    make_lookups(demo)
    make_contacts(demo)
    make_addresses(demo)
    make_activities(demo)
    make_panel_rows(demo)
    make_groups(demo)
    make_relationships(demo)
    make_preferences(demo)
    make_events(demo)
    make_gifts(demo)
    make_users(demo)
