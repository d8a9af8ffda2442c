"""What ``fill_demo`` created, counted per kind."""

from __future__ import annotations

from dataclasses import dataclass, field


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
