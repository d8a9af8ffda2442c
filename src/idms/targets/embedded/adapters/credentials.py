"""User credentials (EMS rules) and iMIS 2017's UserData business object.

Credentials are created for an existing contact (which must have an e-mail and no credentials) or
together with a new contact; they are never updated except to unlock; deleting them keeps the
contact. Usernames are unique without regard to case; passwords are stored as argon2 hashes only.
Without a Username, the contact's e-mail becomes the username, as iMIS's "create logins for
contacts with e-mail addresses" option does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, select

from idms.sources import checks
from idms.sources.model import SourceDef
from idms.sources.rules import RowRefused, insert_values, update_values
from idms.targets.base import Change, ChangeKind, Record
from idms.targets.embedded.adapters.base import (
    MATCH_CHUNK,
    ApplyContext,
    SourceAdapter,
    StorePolicy,
    fold_text,
)
from idms.targets.embedded.adapters.contact import allocate_contact_ids
from idms.targets.embedded.adapters.execution import Write
from idms.targets.embedded.passwords import (
    hash_password,
    password_problem,
    unlock_values,
    username_key,
)
from idms.targets.embedded.schema import contacts, users

USERNAMES = "usernames"
HAS_CREDENTIALS = "has_credentials"
CONTACT_COLUMNS = {"FirstName": "first_name", "LastName": "last_name", "Email": "email"}


def taken_usernames(conn: Any, names: Sequence[str]) -> set[str]:
    keys = sorted({username_key(n) for n in names})
    taken: set[str] = set()
    for start in range(0, len(keys), MATCH_CHUNK):
        chunk = keys[start : start + MATCH_CHUNK]
        taken.update(
            k
            for (k,) in conn.execute(
                select(users.c.username_key).where(users.c.username_key.in_(chunk))
            )
        )
    return taken


class CredentialsAdapter(SourceAdapter):
    def __init__(self, source: SourceDef, policy: StorePolicy) -> None:
        super().__init__(source, users, policy)
        self._new_ids: list[str] = []

    def read_columns(self) -> dict[str, ColumnElement[Any]]:
        cols = super().read_columns()
        for name, column in CONTACT_COLUMNS.items():
            cols[name] = contacts.c[column]
        return cols

    def build_select(self) -> Select[Any]:
        return (
            super()
            .build_select()
            .select_from(users.join(contacts, contacts.c.imis_id == users.c.imis_id))
        )

    def prepare_batch(self, ctx: ApplyContext, changes: Sequence[Change]) -> None:
        inserts = [c for c in changes if c.kind is ChangeKind.INSERT]
        names = [str(c.values["Username"]) for c in inserts if c.values.get("Username")]
        names += [
            str(ctx.contacts[fold_text(c.values["ImisId"])]["Email"])
            for c in inserts
            if not c.values.get("Username")
            and c.values.get("ImisId")
            and fold_text(c.values["ImisId"]) in ctx.contacts
            and ctx.contacts[fold_text(c.values["ImisId"])]["Email"]
        ]
        ctx.claims.setdefault(USERNAMES, set()).update(taken_usernames(ctx.conn, names))
        existing = [str(c.values["ImisId"]) for c in inserts if c.values.get("ImisId")]
        having = self.fetch(ctx.conn, [(fold_text(i),) for i in existing])
        ctx.claims.setdefault(HAS_CREDENTIALS, set()).update(k[0] for k in having)
        new_contacts = sum(1 for c in inserts if not c.values.get("ImisId"))
        self._new_ids = allocate_contact_ids(ctx, new_contacts, set())
        self._new_ids.reverse()

    def plan_insert(self, ctx: ApplyContext, change: Change) -> Record:
        values = insert_values(self.source, self.policy.platform, change.values)
        imis_id = values.get("ImisId")
        if imis_id:
            record = self._for_existing(ctx, str(imis_id).strip(), values)
        else:
            record = self._for_new_contact(ctx, values)
        username = str(record["Username"])
        key = username_key(username)
        if key in ctx.claims.setdefault(USERNAMES, set()):
            raise checks.username_taken(username)
        password = values.get("Password")
        record["_password_hash"] = None
        if password is not None:
            problem = password_problem(str(password), self.policy.password_min_length)
            if problem:
                raise RowRefused("weak_password", problem, "Password")
            record["_password_hash"] = hash_password(str(password))
        # Every check passed: only now are the username and the contact taken for the batch, so
        # that a refused row leaves them free for a later row (as one call per row over REST).
        ctx.claim(USERNAMES, key)
        if not record["_new_contact"]:
            ctx.claim(HAS_CREDENTIALS, fold_text(record["ImisId"]))
        record.update(
            IsLockedOut=False,
            FailedPasswordAttemptCount=0,
            LastLockoutDate=None,
            LastLoginDate=None,
            IsDisabled=False,
            CreatedOn=ctx.now,
        )
        return record

    def _for_existing(self, ctx: ApplyContext, imis_id: str, values: Mapping[str, Any]) -> Record:
        contact = checks.credentials_contact(self.source, imis_id, values, ctx)
        if fold_text(imis_id) in ctx.claims.setdefault(HAS_CREDENTIALS, set()):
            raise checks.credentials_exist(contact)
        record: Record = dict.fromkeys(self.columns)
        record.update(
            ImisId=contact["ImisId"],
            FirstName=contact["FirstName"],
            LastName=contact["LastName"],
            Email=contact["Email"],
            Username=values.get("Username") or contact["Email"],
        )
        record["_new_contact"] = None
        return record

    def _for_new_contact(self, ctx: ApplyContext, values: Mapping[str, Any]) -> Record:
        checks.credentials_new_contact(self.source, values)
        record: Record = dict.fromkeys(self.columns)
        record.update(
            ImisId=self._new_ids.pop(),
            FirstName=values["FirstName"],
            LastName=values["LastName"],
            Email=values["Email"],
            Username=values["Username"],
        )
        record["_new_contact"] = True
        return record

    def plan_update(self, ctx: ApplyContext, before: Record, change: Change) -> Record:
        # What an update may do (only unlock) is the source's rule (idms.sources.rules).
        values = update_values(self.source, self.policy.platform, before, change.values)
        return checks.unlocked(self.source, before, values)

    def writes_insert(self, ctx: ApplyContext, after: Record) -> list[Write]:
        writes = []
        if after.pop("_new_contact", None):
            row = {
                "imis_id": after["ImisId"],
                "contact_key": ctx.new_guid(),
                "is_organization": False,
                "first_name": after["FirstName"],
                "last_name": after["LastName"],
                "email": after["Email"],
                "member_type": "NM",
                "status": "A",
                "mark_for_erasure": False,
                "created_on": ctx.now,
                "updated_on": ctx.now,
            }
            writes.append(Write(0, ("insert", "contacts", "credentials"), contacts.insert(), row))
        password_hash = after.pop("_password_hash", None)
        row = {
            "imis_id": after["ImisId"],
            "username": after["Username"],
            "username_key": username_key(str(after["Username"])),
            "password_hash": password_hash,
            "is_locked_out": False,
            "failed_password_attempt_count": 0,
            "last_password_changed_date": ctx.now if password_hash else None,
            "is_disabled": False,
            "created_on": ctx.now,
        }
        writes.append(Write(1, ("insert", "users"), users.insert(), row))
        return writes

    def writes_update(self, ctx: ApplyContext, before: Record, after: Record) -> list[Write]:
        if before.get("IsLockedOut") == after.get("IsLockedOut") and before.get(
            "FailedPasswordAttemptCount"
        ) == after.get("FailedPasswordAttemptCount"):
            return []
        stmt = users.update().where(users.c.imis_id == before["ImisId"]).values(**unlock_values())
        return [Write(0, ("unlock", before["ImisId"]), stmt, {})]

    def writes_delete(self, ctx: ApplyContext, before: Record) -> list[Write]:
        return [self.delete_write(users, before, phase=0)]


class UserDataAdapter(SourceAdapter):
    """iMIS 2017's UserData: Is Locked Out = false unlocks; locking is refused."""

    def __init__(self, source: SourceDef, policy: StorePolicy) -> None:
        super().__init__(source, users, policy)

    def read_columns(self) -> dict[str, ColumnElement[Any]]:
        cols = super().read_columns()
        cols["Email"] = contacts.c.email
        full = (
            func.coalesce(contacts.c.first_name, "") + " " + func.coalesce(contacts.c.last_name, "")
        )
        # A person's organization_name is their employer's: only an organization is named by it.
        name = case((contacts.c.is_organization, contacts.c.organization_name), else_=full)
        cols["FullName"] = func.trim(func.coalesce(name, full))
        return cols

    def build_select(self) -> Select[Any]:
        return (
            super()
            .build_select()
            .select_from(users.join(contacts, contacts.c.imis_id == users.c.imis_id))
        )

    def plan_update(self, ctx: ApplyContext, before: Record, change: Change) -> Record:
        # Is Locked Out = Yes (locking) is refused by the source's rule (idms.sources.rules).
        values = update_values(self.source, self.policy.platform, before, change.values)
        return checks.unlocked(self.source, before, values)

    def writes_update(self, ctx: ApplyContext, before: Record, after: Record) -> list[Write]:
        if before == after:
            return []
        stmt = users.update().where(users.c.imis_id == before["ImisId"]).values(**unlock_values())
        return [Write(0, ("unlock", before["ImisId"]), stmt, {})]
