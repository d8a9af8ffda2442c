"""The web UI's user accounts: made, listed, changed, removed, and signed in with.

A name is unique without regard to case ('Ann' and 'ann' are one account) and keeps the case it
was given. A role is one of :class:`Role`; a password is kept only as its argon2 hash
(``passwords.py``). :meth:`UserStore.authenticate` checks a name and password under the
sign-in throttle (``throttle.py``) and answers every refusal with the same words, whether the
name exists, the password is wrong, or the account is disabled. Changing a password, a role
or removing a user ends that user's web sessions. The last active administrator can be neither
removed, demoted nor disabled: someone must be able to manage the others.
"""

from __future__ import annotations

import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Engine, Row, delete, func, insert, select, update
from sqlalchemy.orm import Session

from idms.db import writer
from idms.errors import Conflict, InvalidInputError, NotFound, suggest
from idms.state import throttle
from idms.state.models import User, WebSession, utcnow
from idms.state.passwords import (
    hash_password,
    needs_rehash,
    password_problem,
    spend_a_verification,
    verify_password,
)
from idms.state.store import translate_errors

NAME_MAX = 100
REFUSED = "Sign-in refused: the name or the password is wrong."


class Role(StrEnum):
    """What a user may do, each including the ones below it: viewers see, editors also run
    jobs, admins also manage users and settings."""

    VIEWER = "viewer"
    EDITOR = "editor"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank

    @classmethod
    def parse(cls, text: str) -> Role:
        try:
            return cls(text.strip().lower())
        except ValueError:
            names = ", ".join(r.value for r in cls)
            raise InvalidInputError(f"There is no role '{text}': choose {names}.") from None


@dataclass(frozen=True)
class UserInfo:
    """What is known of a user (never the password or its hash)."""

    id: str
    name: str
    role: Role
    disabled: bool
    created_at: datetime
    last_sign_in_at: datetime | None


class SignInRefused(InvalidInputError):
    """A sign-in refused; ``retry_after`` seconds when throttled (0 otherwise)."""

    def __init__(self, message: str, *, retry_after: int = 0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def fold(name: str) -> str:
    """The form that carries a name's uniqueness: NFKC, case-folded, spaces trimmed."""
    return unicodedata.normalize("NFKC", name).strip().casefold()


def check_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise InvalidInputError("Give the user a name.")
    if len(name) > NAME_MAX:
        raise InvalidInputError(f"A user's name has at most {NAME_MAX} characters.")
    if any(unicodedata.category(c).startswith("C") for c in name):
        raise InvalidInputError("A user's name cannot hold control characters.")
    return name


def check_password(password: str) -> str:
    problem = password_problem(password)
    if problem is not None:
        raise InvalidInputError(problem)
    return password


def wait_words(seconds: int) -> str:
    if seconds < 90:
        return f"{max(seconds, 1)} seconds"
    return f"{-(-seconds // 60)} minutes"


class UserStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # ---- accounts ---------------------------------------------------------------------------

    def add(self, name: str, role: Role | str, password: str) -> UserInfo:
        name = check_name(name)
        role = Role.parse(role) if isinstance(role, str) else role
        digest = hash_password(check_password(password))
        now = utcnow()
        user_id = secrets.token_hex(8)
        with translate_errors("Cannot save the user"), writer(self.engine).begin() as conn:
            held = conn.execute(select(User.name).where(User.name_key == fold(name))).first()
            if held is not None:
                raise Conflict(f"A user named '{held[0]}' exists already: choose another name.")
            conn.execute(
                insert(User).values(
                    id=user_id,
                    name=name,
                    name_key=fold(name),
                    role=role.value,
                    password_hash=digest,
                    disabled=False,
                    created_at=now,
                    password_changed_at=now,
                )
            )
        return UserInfo(user_id, name, role, False, now, None)

    def list(self) -> list[UserInfo]:
        with Session(self.engine) as session:
            return [_info(u) for u in session.scalars(select(User).order_by(User.name_key))]

    def any(self) -> bool:
        """Whether any account exists (none: the sign-in page says how to make the first)."""
        with self.engine.connect() as conn:
            return conn.execute(select(User.id).limit(1)).first() is not None

    def get(self, name: str) -> UserInfo:
        with self.engine.connect() as conn:
            return _info(self._find(conn, name))

    def by_id(self, user_id: str) -> UserInfo | None:
        with Session(self.engine) as session:
            user = session.get(User, user_id)
            return _info(user) if user is not None else None

    def remove(self, name: str) -> UserInfo:
        with translate_errors("Cannot remove the user"), writer(self.engine).begin() as conn:
            user = self._find(conn, name)
            self._keep_an_admin(conn, user, "remove")
            conn.execute(delete(WebSession).where(WebSession.user_id == user.id))
            conn.execute(delete(User).where(User.id == user.id))
        return _info(user)

    def set_password(self, name: str, password: str) -> UserInfo:
        """A new password; the user's web sessions end (a browser left signed in elsewhere
        must sign in again)."""
        digest = hash_password(check_password(password))
        return self._change(name, "Cannot change the password", password_hash=digest)

    def set_role(self, name: str, role: Role | str) -> UserInfo:
        role = Role.parse(role) if isinstance(role, str) else role
        return self._change(name, "Cannot change the role", role=role.value)

    def set_disabled(self, name: str, disabled: bool) -> UserInfo:
        return self._change(name, "Cannot change the account", disabled=disabled)

    def _change(self, name: str, action: str, **values: object) -> UserInfo:
        with translate_errors(action), writer(self.engine).begin() as conn:
            user = self._find(conn, name)
            if values.get("role", Role.ADMIN) != Role.ADMIN or values.get("disabled"):
                self._keep_an_admin(conn, user, "demote" if "role" in values else "disable")
            if "password_hash" in values:
                values["password_changed_at"] = utcnow()
            conn.execute(update(User).where(User.id == user.id).values(**values))
            conn.execute(delete(WebSession).where(WebSession.user_id == user.id))
            changed = conn.execute(select(User).where(User.id == user.id)).one()
        return _info(changed)

    # ---- signing in -------------------------------------------------------------------------

    def authenticate(self, name: str, password: str, *, address: str | None = None) -> UserInfo:
        """The active user ``name`` whose password is ``password``; otherwise
        :class:`SignInRefused`, with the same message whatever was wrong."""
        keys = [throttle.name_key(fold(name))]
        if address:
            keys.append(throttle.address_key(address))
        with translate_errors("Cannot check the sign-in"), self.engine.connect() as conn:
            wait = throttle.wait_left(conn, keys)
            user = conn.execute(select(User).where(User.name_key == fold(name))).first()
        if wait:
            raise SignInRefused(
                "Too many failed sign-ins for this name or from this address: try again in "
                f"{wait_words(wait)}.",
                retry_after=wait,
            )
        if user is None:
            spend_a_verification(password)
            ok = False
        else:
            ok = verify_password(password, user.password_hash) and not user.disabled
        if not ok or user is None:
            with translate_errors("Cannot record the sign-in"), writer(self.engine).begin() as c:
                throttle.record_failure(c, keys)
            raise SignInRefused(REFUSED)
        with translate_errors("Cannot record the sign-in"), self.engine.begin() as conn:
            throttle.clear(conn, keys[0])
            values: dict[str, object] = {"last_sign_in_at": utcnow()}
            if needs_rehash(user.password_hash):
                values["password_hash"] = hash_password(password)
            conn.execute(update(User).where(User.id == user.id).values(**values))
            throttle.forget_old(conn)
        return _info(user)

    # ---- helpers ----------------------------------------------------------------------------

    def _find(self, conn: Connection, name: str) -> Row[Any]:
        row = conn.execute(select(User).where(User.name_key == fold(name))).first()
        if row is None:
            names = list(conn.execute(select(User.name)).scalars())
            close = suggest(name, names)
            hint = f" Did you mean '{close}'?" if close else ""
            raise NotFound(f"No user '{name}'.{hint}", hint="'idms user list' shows them.")
        return row

    @staticmethod
    def _keep_an_admin(conn: Connection, user: Row[Any], what: str) -> None:
        if user.role != Role.ADMIN or user.disabled:
            return
        others = conn.execute(
            select(func.count())
            .select_from(User)
            .where(User.role == Role.ADMIN.value, User.id != user.id, User.disabled.is_(False))
        ).scalar_one()
        if not others:
            raise Conflict(
                f"Cannot {what} '{user.name}': it is the only active administrator. "
                "Make another user an administrator first."
            )


def _info(u: User | Row[Any]) -> UserInfo:
    return UserInfo(u.id, u.name, Role(u.role), bool(u.disabled), u.created_at, u.last_sign_in_at)
