"""Seeding an embedded store with the contract's reference data, directly (not through a target).

Used by the embedded contract tests and by the REST tests, whose sandbox serves an embedded store.
"""

from __future__ import annotations

from sqlalchemy import insert

from idms.targets.embedded import schema
from idms.targets.embedded.target import EmbeddedTarget

from .suite import PANELS, REFERENCE


def seed_store(store: EmbeddedTarget) -> None:
    """The contract's reference data that is not written through the target itself."""
    ref = REFERENCE
    with store.engine.begin() as conn:
        conn.execute(
            insert(schema.groups),
            [
                {"group_name": name, "description": description, "group_type": "COMMITTEE"}
                for name, (description, _) in ref.groups.items()
            ],
        )
        conn.execute(
            insert(schema.group_roles),
            [
                {"group_name": name, "role_name": role}
                for name, (_, roles) in ref.groups.items()
                for role in roles
            ],
        )
        conn.execute(
            insert(schema.events),
            [
                {"event_code": code, "event_name": name, "status": status}
                for code, (name, status) in ref.events.items()
            ],
        )
        conn.execute(
            insert(schema.event_functions),
            [
                {
                    "event_code": f.event_code,
                    "function_code": f.function_code,
                    "function_name": f.function_name,
                    "is_registration_option": f.is_registration_option,
                    "price": f.price,
                    "capacity": f.capacity,
                }
                for f in ref.functions
            ],
        )
        conn.execute(
            insert(schema.gift_items),
            [{"gift_item_id": code, "name": name} for code, name in ref.gift_items.items()],
        )
        conn.execute(
            insert(schema.payment_methods),
            [
                {"payment_method_id": code, "name": name, "payment_type": kind}
                for code, (name, kind) in ref.payment_methods.items()
            ],
        )
        conn.execute(
            insert(schema.communication_preferences),
            [
                {"code": code, "name": name, "description": description}
                for code, (name, description) in ref.communication_preferences.items()
            ],
        )
    store.refresh()


def seed_panels(store: EmbeddedTarget) -> None:
    for definition in PANELS:
        store.create_panel(definition)
