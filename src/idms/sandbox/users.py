"""Users and credentials: ``User`` (read), ``UserSecurity`` (write, ``_execute``), §6.

``GET /api/User[?UserName=]`` and ``/api/User/{UserId}`` answer the UserData contract with idms's
additions (``IsLockedOut``, ``FailedPasswordAttemptCount`` ...). ``POST /api/UserSecurity``
creates credentials for an existing contact (``UserId``) or with a new one
(``FirstName``/``LastName``/``Email``), through the store's UserCredentials rules. ``_execute``
offers FindByName, UnlockUser, UpdatePassword, ValidateUser and GetUserRoles, with either
parameter encoding. iMIS 2017's ``UserData`` business object is served as a generic entity.

Managing logins follows iMIS's rule: only a system administrator (the ``SysAdmin`` role, which
MANAGER holds) creates, deletes or unlocks a login, sets another user's password, or changes
iMIS 2017's ``UserData``; anyone else is answered 403. A user changing their own password gives
the current one too (``UpdatePassword(userName, currentPassword, newPassword)``), system
administrators included: a wrong one is a 403 and counts as a failed login, as at ``/token``.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update

from idms.sandbox.auth import (
    LOCKED,
    MANAGER,
    REGISTERED_USER,
    REMOTE_SERVICE,
    SYSADMIN,
    forbidden,
)
from idms.sandbox.context import Sandbox, caller
from idms.sandbox.http import Reply, created, invalid, not_found, not_implemented, ok
from idms.sandbox.paging import ListQuery, Properties
from idms.targets.base import Change, ChangeKind, Record
from idms.targets.embedded.passwords import LoginOutcome, hash_password, password_problem
from idms.targets.embedded.schema import users
from idms.targets.imis import wire
from idms.targets.imis.entities import EntitySpec, spec_for

CREDENTIALS = "UserCredentials"
USER_DATA = wire.contract("UserData")
ROLE = "Asi.Soa.Membership.DataContracts.User.RoleData, Asi.Contracts"
ONLY_UNLOCK = "iMIS 2017 can only unlock user accounts."
# UserSecurityData key -> UserCredentials field.
SECURITY_FIELDS = {
    "UserName": "Username",
    "Password": "Password",
    "UserId": "ImisId",
    "Id": "ImisId",
    "FirstName": "FirstName",
    "LastName": "LastName",
    "Email": "Email",
}
SYSADMIN_KEY = "8E5C7C1D-170B-4294-B646-2E60D2091DF8"
ROLE_DESCRIPTIONS = {
    SYSADMIN: "System administrator",
    REGISTERED_USER: "Registered user",
    REMOTE_SERVICE: "Remote service (REST API) access",
}
USER_DATA_BO = "UserData"  # iMIS 2017's business object over the logins
ONLY_SYSADMIN = "Only a system administrator (SysAdmin) can {action} another user's login."
CURRENT_NEEDED = (
    "To change your own password, give your current one as well: "
    "UpdatePassword(userName, currentPassword, newPassword)."
)
CURRENT_WRONG = "The current password is incorrect."


def require_sysadmin(action: str) -> None:
    """Refuse (403) the request unless its user is a system administrator."""
    session = caller()
    if session is None or not session.is_sysadmin:
        raise forbidden(ONLY_SYSADMIN.format(action=action))


def role(name: str, description: str, key: str | None = None) -> dict[str, Any]:
    digest = hashlib.md5(name.encode(), usedforsecurity=False).hexdigest()
    return {
        "$type": ROLE,
        "RoleKey": key or str(uuid.UUID(digest)).upper(),
        "RoleName": name,
        "Description": description,
    }


class Users:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sb = sandbox

    def _spec(self) -> EntitySpec:
        return spec_for(self.sb.source(CREDENTIALS))

    def user_data(self, record: Record) -> dict[str, Any]:
        """A credentials record as the UserData contract (wire names, dates as ISO text)."""
        spec = self._spec()
        source = self.sb.source(CREDENTIALS)
        obj: dict[str, Any] = {"$type": USER_DATA}
        for fdef in source.fields:
            if fdef.write_only or fdef.secret or fdef.name not in record:
                continue
            obj[spec.wire_name(fdef.name)] = record[fdef.name]
        obj["Party"] = None
        obj["Roles"] = None
        return obj

    def _by_name(self, username: str) -> Record | None:
        found = self.sb.target.match(CREDENTIALS, ["Username"], [{"Username": username}])[0]
        return found[0] if found else None

    # ---- User -----------------------------------------------------------------------------------

    def listing(self, query: ListQuery) -> Reply:
        source = self.sb.source(CREDENTIALS)
        records, total = self.sb.page(source, query, Properties(source, self._spec()))
        items = [self.user_data(r) for r in records]
        return ok(
            wire.paged_result(items, USER_DATA, offset=query.offset, limit=query.limit, total=total)
        )

    def get(self, ident: str) -> Reply:
        return ok(self.user_data(self.sb.get(self.sb.source(CREDENTIALS), ident, "user")))

    # ---- UserSecurity ---------------------------------------------------------------------------

    def create(self, body: dict[str, Any]) -> Reply:
        require_sysadmin("create")
        values: dict[str, Any] = {}
        for key, name in SECURITY_FIELDS.items():
            value = wire.unbox(wire.find(body, key))
            if value not in (None, "") and name not in values:
                values[name] = str(value)
        record = self.sb.write(CREDENTIALS, Change(ChangeKind.INSERT, values))
        assert record is not None
        return created(self.user_data(record))

    def delete(self, ident: str) -> Reply:
        require_sysadmin("delete")
        identity = self.sb.identity(self.sb.source(CREDENTIALS), ident) or {"ImisId": ident}
        self.sb.write(CREDENTIALS, Change(ChangeKind.DELETE, identity=identity))
        return ok(None)

    def execute(self, body: dict[str, Any]) -> Reply:
        _, operation, parameters = wire.parse_execute(body)
        op = operation.casefold()
        handlers = {
            "findbyname": (1, self._find_by_name),
            "unlockuser": (1, self._unlock),
            "updatepassword": (2, self._update_password),
            "validateuser": (2, self._validate),
            "getuserroles": (1, self._roles),
        }
        if op not in handlers:
            raise not_implemented()
        count, handler = handlers[op]
        if len(parameters) < count or (op != "updatepassword" and len(parameters) != count):
            raise invalid("ArgumentFault: Incorrect number of parameters", "parameter_count")
        args = ["" if p is None else str(p) for p in parameters]
        return ok(wire.execute_response(handler(args)))

    def _find_by_name(self, args: list[str]) -> Any:
        if self.sb.accounts.is_manager(args[0]):
            manager = self.sb.accounts.manager
            changed = manager.password_changed
            return {
                "$type": USER_DATA,
                "UserId": None,
                "UserName": MANAGER,
                "IsDisabled": False,
                "IsLockedOut": manager.locked,
                "LastPasswordChangedDate": changed.isoformat() if changed else None,
            }
        record = self._by_name(args[0])
        return self.user_data(record) if record is not None else None

    def _user(self, username: str) -> Record:
        record = self._by_name(username)
        if record is None:
            raise not_found(f"No user is called '{username}'.")
        return record

    def _unlock(self, args: list[str]) -> Any:
        require_sysadmin("unlock")
        if self.sb.accounts.is_manager(args[0]):
            self.sb.accounts.unlock_manager()
            return True
        record = self._user(args[0])
        identity = {"ImisId": record["ImisId"]}
        if self.sb.is_2017:
            # 2017 allows no User Credentials action; its unlock is the UserData object's.
            self.sb.write("UserData", Change(ChangeKind.UPDATE, {"IsLockedOut": False}, identity))
        else:
            change = Change(ChangeKind.UPDATE, {"UnlockUserAccount": True}, identity)
            self.sb.write(CREDENTIALS, change)
        return True

    def _update_password(self, args: list[str]) -> Any:
        """UpdatePassword(userName, [oldPassword,] newPassword): the new password is the last."""
        if self.sb.is_2017:
            raise invalid(ONLY_UNLOCK, "action_not_allowed")
        username, new_password = args[0], args[-1]
        self._may_set_password(username, args[1] if len(args) > 2 else None)
        problem = password_problem(new_password, self.sb.target.policy.password_min_length)
        if problem:
            raise invalid(problem, "weak_password", "Password")
        if self.sb.accounts.is_manager(username):
            self.sb.accounts.set_manager_password(new_password)
            return True
        record = self._user(username)
        now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
        stmt = (
            update(users)
            .where(users.c.imis_id == record["ImisId"])
            .values(password_hash=hash_password(new_password), last_password_changed_date=now)
        )
        # Credentials are never updated through a job (the store refuses it); iMIS's own
        # UpdatePassword operation is the one way to change a password, so it writes directly.
        with self.sb.write_lock, self.sb.target.engine.begin() as conn:
            conn.execute(stmt)
        return True

    def _may_set_password(self, username: str, current: str | None) -> None:
        """Refuse (403) a password change the caller may not make: someone else's without
        being a system administrator, their own without the right current password (a wrong
        one counts as a failed login). A current password given for another user is checked
        too."""
        session = caller()
        own = session is not None and session.is_user(username)
        if not own and (session is None or not session.is_sysadmin):
            raise forbidden(ONLY_SYSADMIN.format(action="set the password of"))
        if current is None:
            if own:
                raise forbidden(CURRENT_NEEDED)
            return
        outcome, _, _ = self.sb.accounts.check(username, current)
        if outcome is LoginOutcome.LOCKED_OUT:
            raise forbidden(LOCKED)
        if outcome is not LoginOutcome.OK:
            raise forbidden(CURRENT_WRONG)

    def _validate(self, args: list[str]) -> Any:
        outcome, _, _ = self.sb.accounts.check(args[0], args[1])
        return outcome is LoginOutcome.OK

    def _roles(self, args: list[str]) -> Any:
        if self.sb.is_2017:
            raise not_implemented()
        if not self.sb.accounts.is_manager(args[0]):
            self._user(args[0])
        roles = [
            role(
                name, ROLE_DESCRIPTIONS.get(name, name), SYSADMIN_KEY if name == SYSADMIN else None
            )
            for name in sorted(self.sb.accounts.roles_of(args[0]))
        ]
        return wire.collection(wire.list_type(ROLE), roles)
