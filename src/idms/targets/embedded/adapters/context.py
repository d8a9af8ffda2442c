"""What one batch's rules may consult: the store's settings, the connection, batch claims."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection

from idms.targets.base import ApplyOptions, Record
from idms.targets.embedded.keys import GuidPool
from idms.targets.embedded.lookups import LookupCache


@dataclass
class StorePolicy:
    """The store's own settings that rules need (from Settings)."""

    platform: str = "ems"
    lockout_threshold: int = 5
    password_min_length: int = 6
    default_address_purpose: str = "Address"


@dataclass
class ApplyContext:
    """Everything one batch's rules may consult."""

    conn: Connection
    options: ApplyOptions
    policy: StorePolicy
    lookups: LookupCache
    now: datetime
    today: date
    claims: dict[str, set[Any]] = field(default_factory=dict)
    # Contacts referenced by the batch, by folded iMIS ID: ImisId, IsOrganization, Email,
    # FirstName, LastName.
    contacts: dict[str, Record] = field(default_factory=dict)
    # Records this transaction's match read for the batch, by folded identity (a run's batch,
    # matched and applied in one exclusive scope: ``carried.py``): before-images planning
    # need not read again. Empty otherwise.
    matched: Mapping[tuple[Any, ...], Record] = field(default_factory=dict)
    # New GUIDs (ContactKey) for the batch's records, drawn from one random buffer at a time.
    new_guid: Callable[[], str] = field(default_factory=GuidPool)

    # ---- idms.sources.checks.StoreLookups: what the shared checks ask of the store ----------

    def canonical_code(self, table: str, value: str) -> str | None:
        return self.lookups.canonical(table, value)

    def contact(self, imis_id: str) -> Record | None:
        """A contact the batch references (read by ``load_contacts`` before planning)."""
        return self.contacts.get(imis_id.strip().lower())

    def claim(self, name: str, value: Any) -> bool:
        """Reserve ``value`` in namespace ``name`` for this batch; False if already reserved."""
        taken = self.claims.setdefault(name, set())
        if value in taken:
            return False
        taken.add(value)
        return True

    def release(self, name: str, value: Any) -> None:
        self.claims.get(name, set()).discard(value)
