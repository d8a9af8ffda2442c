"""Logins and bearer tokens: ``POST /token`` (OWIN password grant) and the ``/api`` check.

Store users log in through ``EmbeddedTarget.attempt_login``, so failed attempts count and lock the
account at the store's threshold. ``MANAGER``, the background SysAdmin account, lives in memory
with the same rules. Tokens are opaque random strings kept in memory with their expiry and the
roles of the user they were given to (as an iMIS token carries them): ``SysAdmin`` for MANAGER
and the store users named as system administrators (``sysadmins``), ``RegisteredUser`` for the
others. Who may manage whose login is decided in ``users.py`` from those roles.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

from idms.sandbox.http import ApiError
from idms.targets.embedded.passwords import LoginOutcome
from idms.targets.embedded.target import EmbeddedTarget
from idms.targets.imis import wire

MANAGER = "MANAGER"
SYSADMIN = "SysAdmin"
REMOTE_SERVICE = "RemoteService"
MANAGER_ROLES = frozenset({SYSADMIN, REMOTE_SERVICE})
REGISTERED_USER = "RegisteredUser"
INCORRECT = "The user name or password is incorrect."
LOCKED = "The user account is locked out."
DISABLED = "The user account is disabled."


@dataclass(frozen=True)
class Session:
    username: str
    imis_id: str | None
    expires: float  # time.time() when the token stops working
    roles: frozenset[str] = frozenset({REGISTERED_USER})

    @property
    def is_sysadmin(self) -> bool:
        return SYSADMIN in self.roles

    def is_user(self, username: str) -> bool:
        """Whether ``username`` (without case, as logins are) is this session's own."""
        return username.strip().casefold() == self.username.strip().casefold()


@dataclass
class Manager:
    """The in-memory MANAGER account: its password and its lock."""

    password: str
    failed: int = 0
    locked: bool = False
    last_lockout: datetime | None = None
    # When the password was last set (naive UTC): what iMIS 2017's 90-day rotation counts from.
    password_changed: datetime | None = None


class Accounts:
    """Who may have a token, and the tokens handed out."""

    def __init__(
        self,
        target: EmbeddedTarget,
        manager_password: str,
        *,
        token_lifetime: int,
        write_lock: threading.Lock,
        sysadmins: Iterable[str] = (),
        manager_roles: Iterable[str] = MANAGER_ROLES,
        manager_password_changed: datetime | None = None,
    ) -> None:
        self.target = target
        changed = manager_password_changed or datetime.now(UTC).replace(tzinfo=None, microsecond=0)
        self.manager = Manager(manager_password, password_changed=changed)
        self.manager_roles = frozenset(manager_roles)
        self.sysadmins = frozenset(name.strip().casefold() for name in sysadmins)
        self.token_lifetime = token_lifetime
        self._tokens: dict[str, Session] = {}
        self._lock = threading.Lock()
        self._write_lock = write_lock

    # ---- the password check -------------------------------------------------------------------

    @staticmethod
    def is_manager(username: str) -> bool:
        return username.strip().casefold() == MANAGER.casefold()

    def roles_of(self, username: str) -> frozenset[str]:
        """The roles of a login: MANAGER's (SysAdmin and RemoteService unless the sandbox was
        told otherwise), SysAdmin and RemoteService for the named system administrators (a
        background account's pair)."""
        if self.is_manager(username):
            return self.manager_roles
        if username.strip().casefold() in self.sysadmins:
            return frozenset({SYSADMIN, REMOTE_SERVICE, REGISTERED_USER})
        return frozenset({REGISTERED_USER})

    def check(self, username: str, password: str) -> tuple[LoginOutcome, str | None, str]:
        """(outcome, iMIS ID, username as stored) of one login attempt, which is counted."""
        if self.is_manager(username):
            return self._check_manager(password), None, MANAGER
        with self._write_lock:
            result = self.target.attempt_login(username, password)
        return result.outcome, result.imis_id, result.username or username

    def _check_manager(self, password: str) -> LoginOutcome:
        with self._lock:
            manager = self.manager
            if manager.locked:
                return LoginOutcome.LOCKED_OUT
            if secrets.compare_digest(password.encode(), manager.password.encode()):
                manager.failed = 0
                return LoginOutcome.OK
            manager.failed += 1
            if manager.failed >= self.target.policy.lockout_threshold:
                manager.locked = True
                manager.last_lockout = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
                return LoginOutcome.LOCKED_OUT
            return LoginOutcome.WRONG_PASSWORD

    def unlock_manager(self) -> None:
        with self._lock:
            self.manager.locked = False
            self.manager.failed = 0

    def set_manager_password(self, password: str) -> None:
        with self._lock:
            self.manager.password = password
            self.manager.password_changed = datetime.now(UTC).replace(tzinfo=None, microsecond=0)

    # ---- /token ---------------------------------------------------------------------------------

    def token(self, form: Mapping[str, str]) -> dict[str, Any]:
        """The OWIN answer to a password grant, or an ApiError 400 (``invalid_grant`` ...)."""
        fields = {k.strip().casefold(): v for k, v in form.items()}
        grant = fields.get("grant_type", "").strip()
        if grant.casefold() != "password":
            raise ApiError(400, {"error": "unsupported_grant_type"})
        username = fields.get("username", "")
        password = fields.get("password", "")
        if not username.strip():
            raise ApiError(400, {"error": "invalid_grant", "error_description": INCORRECT})
        outcome, imis_id, stored_name = self.check(username, password)
        if outcome is LoginOutcome.LOCKED_OUT:
            raise ApiError(400, {"error": "invalid_grant", "error_description": LOCKED})
        if outcome is LoginOutcome.DISABLED:
            raise ApiError(400, {"error": "invalid_grant", "error_description": DISABLED})
        if outcome is not LoginOutcome.OK:
            raise ApiError(400, {"error": "invalid_grant", "error_description": INCORRECT})
        return self.issue(stored_name, imis_id)

    def issue(self, username: str, imis_id: str | None) -> dict[str, Any]:
        token = secrets.token_urlsafe(32)
        issued = datetime.now(UTC).replace(microsecond=0)
        expires = issued + timedelta(seconds=self.token_lifetime)
        with self._lock:
            self._purge()
            self._tokens[token] = Session(
                username, imis_id, time.time() + self.token_lifetime, self.roles_of(username)
            )
        return {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": self.token_lifetime,
            "userName": username,
            ".issued": format_datetime(issued, usegmt=True),
            ".expires": format_datetime(expires, usegmt=True),
        }

    def _purge(self) -> None:
        now = time.time()
        for token in [t for t, s in self._tokens.items() if s.expires <= now]:
            del self._tokens[token]

    # ---- the bearer check ----------------------------------------------------------------------

    def session(self, authorization: str | None) -> Session | None:
        """The session an ``Authorization`` header names, or None (missing, unknown, expired)."""
        if not authorization:
            return None
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.casefold() != "bearer" or not token.strip():
            return None
        with self._lock:
            session = self._tokens.get(token.strip())
            if session is None:
                return None
            if session.expires <= time.time():
                del self._tokens[token.strip()]
                return None
            return session


def denied() -> ApiError:
    """The 401 iMIS answers to an ``/api`` call without a valid bearer token."""
    return ApiError(401, wire.http_error(), {"WWW-Authenticate": "Bearer"})


def forbidden(message: str) -> ApiError:
    """The 403 for a signed-in user who may not do this: an HttpError, as iMIS's others."""
    return ApiError(403, wire.http_error(message))
