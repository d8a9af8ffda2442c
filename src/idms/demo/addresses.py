"""Addresses: an ``Address``-purpose one for every contact, a Work, Home or Billing one for some."""

from __future__ import annotations

from idms.demo.base import Bulk, Contact, Demo, Row
from idms.targets.embedded.schema import addresses


def _street(demo: Demo, contact: Contact, *, new_state: bool = False) -> Row:
    """Address lines, city, region, postal code and country in the contact's country."""
    country = contact.country
    if country == "United States":
        fake = demo.fake
        state = contact.state or "NY"
        if new_state:
            state = demo.rng.choices(demo.states, demo.state_weights)[0]
        postal = str(fake.zipcode_in_state(state))
        if demo.chance(0.15):
            postal += f"-{demo.rng.randint(0, 9999):04d}"
        region: str | None = state
    else:
        fake = demo.foreign[country]
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
        "address2": str(demo.fake.secondary_address()) if demo.chance(0.1) else None,
        "city": str(fake.city())[:60],
        "state_province": region[:40] if region else None,
        "postal_code": postal,
        "country": country,
    }


def make_addresses(demo: Demo) -> None:
    stage = demo.stage("Addresses", len(demo.contacts))
    bulk = Bulk(demo.conn, addresses)
    for org in demo.orgs:  # first: employees' work addresses are their organization's
        org.address = _street(demo, org)
    for contact in demo.contacts:
        lines = contact.address or _street(demo, contact)
        extra: str | None = None
        if demo.chance(0.3):
            if contact.is_org:
                extra = "Billing"
            elif contact.org_id is not None:
                extra = "Work"
            else:
                extra = demo.rng.choice(("Home", "Work"))
        bad = demo.chance(0.02)
        default = {
            "imis_id": contact.imis_id,
            "address_purpose": "Address",
            **lines,
            "phone": contact.work_phone if contact.is_org else contact.home_phone,
            "bad_address": demo.rng.choice(("RTS", "NFA", "UNDELIV", "VACANT")) if bad else None,
            "notes": f"Mail returned {demo.days_ago(5, 400).isoformat()}" if bad else None,
            "is_preferred_mailing": True,
            "is_preferred_billing": extra != "Billing",
            "is_preferred_shipping": True,
        }
        bulk.add(default)
        if extra is not None:
            bulk.add(_extra_address(demo, contact, extra, lines))
        stage.advance()
    bulk.flush()
    stage.finish()
    demo.summary.addresses = bulk.count


def _extra_address(demo: Demo, contact: Contact, purpose: str, home: Row) -> Row:
    if purpose == "Billing":
        lines = {**home, "address1": f"PO Box {demo.rng.randint(100, 99999)}", "address2": None}
    elif purpose == "Work" and contact.org_id is not None:
        lines = dict(demo.orgs_by_id[contact.org_id].address or _street(demo, contact))
    else:
        lines = _street(demo, contact)
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
