"""The embedded iMIS store's tables (SQLAlchemy Core), shaped like iMIS's own data.

Column names are the snake_case of the canonical field names (``ImisId`` -> ``imis_id``), so a
source's fields find their columns by name. The Alembic migrations in ``migrations/`` create these
tables; panel tables (``ud_<name>``) are created at run time by ``idms panel create``, as iMIS's
Panel Designer does, from ``panel_table``.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeEngine

from idms.sources.panels import PanelDefinition
from idms.targets.embedded.adapters.folding import folded, id_keys
from idms.values.types import FieldType

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


@lru_cache(maxsize=4096)
def snake(name: str) -> str:
    """``ImisId`` -> ``imis_id``; ``Address1`` -> ``address1``; ``IsPreferredMailing`` -> ..."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def Money() -> Numeric[Any]:
    return Numeric(15, 2)


def Quantity() -> Numeric[Any]:
    return Numeric(15, 4)


def imis_id_column(*args: object, name: str = "imis_id", **kw: object) -> Column:  # type: ignore[type-arg]
    return Column(name, String(10), *args, **kw)  # type: ignore[arg-type]


# Counters: "Last contact ID", SEQN, ordinals... one row each, bumped a batch at a time.
counters = Table(
    "counters",
    metadata,
    Column("name", String(60), primary_key=True),
    Column("value", Integer, nullable=False),
)

store_settings = Table(
    "store_settings",
    metadata,
    Column("name", String(60), primary_key=True),
    Column("value", String(255), nullable=False),
)

contacts = Table(
    "contacts",
    metadata,
    imis_id_column(primary_key=True),
    Column("contact_key", String(36), nullable=False, unique=True),
    Column("is_organization", Boolean, nullable=False, default=False),
    Column("prefix", String(60)),
    Column("first_name", String(20)),
    Column("middle_name", String(20)),
    Column("last_name", String(30)),
    Column("suffix", String(60)),
    Column("informal_name", String(20)),
    Column("organization_name", String(80)),
    Column("organization_id", String(10)),
    Column("title", String(80)),
    Column("email", String(100)),
    Column("home_phone", String(25)),
    Column("work_phone", String(25)),
    Column("mobile_phone", String(25)),
    Column("fax", String(25)),
    Column("member_type", String(60)),
    Column("status", String(60)),
    Column("billing_category", String(60)),
    Column("birth_date", Date),
    Column("gender", String(60)),
    Column("join_date", Date),
    Column("paid_through", Date),
    Column("chapter", String(60)),
    Column("designation", String(20)),
    Column("major_key", String(20)),
    Column("mark_for_erasure", Boolean, nullable=False, default=False),
    Column("created_on", DateTime, nullable=False),
    Column("updated_on", DateTime, nullable=False),
)
# Matching on e-mail and last name ignores case as every text comparison does (idms_fold).
Index("ix_contacts_email_ci", folded(contacts.c.email))
Index("ix_contacts_last_name_ci", folded(contacts.c.last_name))
Index("ix_contacts_organization_id", contacts.c.organization_id)
# Contacts read in iMIS ID number order (length, then text: see adapters/folding.id_keys).
Index("ix_contacts_imis_id_order", *id_keys(contacts.c.imis_id))

addresses = Table(
    "addresses",
    metadata,
    Column("address_id", Integer, primary_key=True, autoincrement=True),
    imis_id_column(ForeignKey("contacts.imis_id"), nullable=False),
    Column("address_purpose", String(60), nullable=False),
    Column("address1", String(100)),
    Column("address2", String(100)),
    Column("address3", String(100)),
    Column("city", String(60)),
    Column("state_province", String(40)),
    Column("postal_code", String(20)),
    Column("country", String(60)),
    Column("email", String(100)),
    Column("phone", String(25)),
    Column("fax", String(25)),
    Column("notes", String(255)),
    Column("bad_address", String(60)),
    Column("is_preferred_mailing", Boolean, nullable=False, default=False),
    Column("is_preferred_billing", Boolean, nullable=False, default=False),
    Column("is_preferred_shipping", Boolean, nullable=False, default=False),
    UniqueConstraint("imis_id", "address_purpose"),
)

activities = Table(
    "activities",
    metadata,
    Column("seqn", Integer, primary_key=True, autoincrement=False),
    imis_id_column(ForeignKey("contacts.imis_id"), nullable=False, index=True),
    Column("activity_type", String(60), nullable=False),
    Column("product_code", String(31)),
    Column("transaction_date", Date),
    Column("effective_date", Date),
    Column("thru_date", Date),
    Column("description", String(255)),
    Column("amount", Money()),
    Column("units", Quantity()),
    Column("category", String(15)),
    Column("note", Text),
    Column("source", String(40)),
    Column("campaign_code", String(40)),
    Column("action_codes", String(255)),
    Column("batch_number", String(15)),
    Column("originating_trans_num", Integer),
    Column("member_type", String(60)),
    Column("organization_id", String(10)),
)
Index("ix_activities_type_date", activities.c.activity_type, activities.c.transaction_date)

users = Table(
    "users",
    metadata,
    imis_id_column(ForeignKey("contacts.imis_id"), primary_key=True),
    Column("username", String(60), nullable=False),
    # Usernames are unique without regard to case: the folded form carries the constraint.
    Column("username_key", String(60), nullable=False, unique=True),
    Column("password_hash", String(255)),
    Column("is_locked_out", Boolean, nullable=False, default=False),
    Column("failed_password_attempt_count", Integer, nullable=False, default=0),
    Column("last_lockout_date", DateTime),
    Column("last_login_date", DateTime),
    Column("last_password_changed_date", DateTime),
    Column("is_disabled", Boolean, nullable=False, default=False),
    Column("effective_date", Date),
    Column("expiration_date", Date),
    Column("created_on", DateTime, nullable=False),
)

groups = Table(
    "groups",
    metadata,
    Column("group_name", String(60), primary_key=True),
    Column("description", String(255)),
    Column("group_type", String(60)),
)

group_roles = Table(
    "group_roles",
    metadata,
    Column("group_name", String(60), ForeignKey("groups.group_name"), primary_key=True),
    Column("role_name", String(60), primary_key=True),
)

group_members = Table(
    "group_members",
    metadata,
    Column("member_id", Integer, primary_key=True, autoincrement=True),
    imis_id_column(ForeignKey("contacts.imis_id"), nullable=False),
    Column("group_name", String(60), ForeignKey("groups.group_name"), nullable=False),
    Column("role_name", String(60), nullable=False),
    Column("join_date", Date),
    Column("role_begin_date", Date),
    Column("role_end_date", Date),
    Column("is_active", Boolean, nullable=False, default=True),
    UniqueConstraint("imis_id", "group_name", "role_name"),
)

relationships = Table(
    "relationships",
    metadata,
    Column("relationship_id", Integer, primary_key=True, autoincrement=True),
    imis_id_column(ForeignKey("contacts.imis_id"), nullable=False),
    Column("relationship_type", String(60), nullable=False),
    Column("target_imis_id", String(10), ForeignKey("contacts.imis_id"), nullable=False),
    Column("reciprocal_type", String(60)),
    Column("begin_date", Date),
    Column("end_date", Date),
    Column("title", String(80)),
    UniqueConstraint("imis_id", "relationship_type", "target_imis_id"),
)

communication_preferences = Table(
    "communication_preferences",
    metadata,
    Column("code", String(60), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("description", String(255)),
)

communication_preference_values = Table(
    "communication_preference_values",
    metadata,
    imis_id_column(ForeignKey("contacts.imis_id"), primary_key=True),
    Column("code", String(60), ForeignKey("communication_preferences.code"), primary_key=True),
    Column("opted_in", Boolean, nullable=False),
)

events = Table(
    "events",
    metadata,
    Column("event_code", String(60), primary_key=True),
    Column("event_name", String(60), nullable=False),
    Column("status", String(60), nullable=False),
    Column("start_date", Date),
    Column("end_date", Date),
    Column("description", String(255)),
    Column("event_contact_id", String(10)),
    Column("location", String(100)),
)

event_functions = Table(
    "event_functions",
    metadata,
    Column("event_code", String(60), ForeignKey("events.event_code"), primary_key=True),
    Column("function_code", String(60), primary_key=True),
    Column("function_name", String(60), nullable=False),
    Column("is_registration_option", Boolean, nullable=False, default=False),
    Column("price", Money()),
    Column("capacity", Integer),
    Column("begin_date", Date),
)

event_registrations = Table(
    "event_registrations",
    metadata,
    Column("registration_id", Integer, primary_key=True, autoincrement=False),
    Column("registrant_id", String(10), ForeignKey("contacts.imis_id"), nullable=False),
    Column("event_code", String(60), nullable=False),
    Column("function_code", String(60), nullable=False),
    Column("price", Money()),
    Column("registered_by_id", String(10)),
    Column("bill_to_id", String(10)),
    Column("transaction_date", Date),
    Column("waitlist", Boolean, nullable=False, default=False),
    Column("status", String(60), nullable=False),
    ForeignKeyConstraint(
        ["event_code", "function_code"],
        ["event_functions.event_code", "event_functions.function_code"],
    ),
)
Index(
    "ix_event_registrations_event_registrant",
    event_registrations.c.event_code,
    event_registrations.c.registrant_id,
)

gift_items = Table(
    "gift_items",
    metadata,
    Column("gift_item_id", String(60), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("description", String(255)),
)

payment_methods = Table(
    "payment_methods",
    metadata,
    Column("payment_method_id", String(60), primary_key=True),
    Column("name", String(100), nullable=False),
    # CASH, CHECK or CREDIT_CARD: credit-card methods cannot be used for imported gifts.
    Column("payment_type", String(20), nullable=False),
)

gifts = Table(
    "gifts",
    metadata,
    Column("gift_id", Integer, primary_key=True, autoincrement=False),
    Column("donor_id", String(10), ForeignKey("contacts.imis_id"), nullable=False, index=True),
    Column("amount", Money(), nullable=False),
    Column("gift_item_id", String(60), ForeignKey("gift_items.gift_item_id"), nullable=False),
    Column(
        "payment_method_id",
        String(60),
        ForeignKey("payment_methods.payment_method_id"),
        nullable=False,
    ),
    Column("gift_date", Date),
    Column("transaction_date", Date),
    Column("check_number", String(40)),
    Column("source_code", String(40)),
    Column("tribute_name", String(100)),
    Column("tribute_name_id", String(10)),
    Column("tribute_type", String(60)),
    Column("tribute_message", String(255)),
    Column("soft_credit_id", String(10)),
    Column("soft_credit_amount", Money()),
    Column("soft_credit_percentage", Numeric(7, 4)),
    Column("do_not_receipt", Boolean),
    Column("list_as", String(100)),
    Column("moves_manager_id", String(10)),
    Column("notify_contact_id", String(10)),
)

lookup_codes = Table(
    "lookup_codes",
    metadata,
    Column("table_name", String(60), primary_key=True),
    Column("code", String(60), primary_key=True),
    Column("description", String(255)),
    Column("expansion", String(255)),
)

panel_definitions = Table(
    "panel_definitions",
    metadata,
    Column("name", String(50), primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("definition", Text, nullable=False),  # the validated definition, as JSON
    Column("created_on", DateTime, nullable=False),
)

# The results of a job's batch, written in the batch's own transaction (ApplyOptions.batch_key):
# after a crash, a resumed run learns from it exactly what the batch wrote. Deleted once the run
# has recorded the batch's row results.
applied_batches = Table(
    "idms_applied_batches",
    metadata,
    Column("batch_key", String(64), primary_key=True),
    Column("results", Text, nullable=False),  # JSON: one ApplyResult per change, in order
    Column("created_on", DateTime, nullable=False),
)


def column_type(ftype: FieldType, length: int | None = None) -> TypeEngine:  # type: ignore[type-arg]
    """The column type a field of this type is stored in."""
    if ftype is FieldType.INTEGER:
        return Integer()
    if ftype is FieldType.DECIMAL:
        return Quantity()
    if ftype is FieldType.BOOLEAN:
        return Boolean()
    if ftype is FieldType.DATE:
        return Date()
    if ftype is FieldType.DATETIME:
        return DateTime()
    if ftype is FieldType.MULTISELECT:
        return String(length or 1000)
    return String(length or 255)


def panel_table(panel: PanelDefinition, meta: MetaData) -> Table:
    """The table behind a panel, on ``meta`` (a fresh MetaData per store keeps panels apart)."""
    keys: list[Column] = []  # type: ignore[type-arg]
    if panel.kind == "single":
        keys.append(imis_id_column(ForeignKey(contacts.c.imis_id), primary_key=True))
    else:
        keys.append(Column("ordinal", Integer, primary_key=True, autoincrement=False))
        if panel.kind == "multi":
            keys.append(imis_id_column(ForeignKey(contacts.c.imis_id), nullable=False, index=True))
    own = [
        Column(snake(f.name), column_type(f.type, f.length if f.type is FieldType.STRING else None))
        for f in panel.fields
    ]
    return Table(panel.table_name, meta, *keys, *own)
