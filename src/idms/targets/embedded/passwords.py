"""Password hashing (argon2 through pwdlib) and the login rules: failed attempts lock an account.

Only hashes are stored. ``fast_hasher`` uses lighter argon2 parameters for generated demo data;
verification reads the parameters from each hash, so both kinds verify alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import Connection, select, update

from idms.sources.checks import password_problem, username_key
from idms.targets.embedded.schema import users

_STANDARD = PasswordHash((Argon2Hasher(),))
_FAST = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=8192, parallelism=1),))


def hash_password(password: str) -> str:
    return _STANDARD.hash(password)


def fast_hash_password(password: str) -> str:
    """A cheaper argon2 hash, for bulk demo data only."""
    return _FAST.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    if not password_hash:
        return False
    return _STANDARD.verify(password, password_hash)


class LoginOutcome(StrEnum):
    OK = "ok"
    UNKNOWN_USER = "unknown_user"
    WRONG_PASSWORD = "wrong_password"
    LOCKED_OUT = "locked_out"
    NO_PASSWORD = "no_password"
    DISABLED = "disabled"


@dataclass(frozen=True)
class LoginResult:
    outcome: LoginOutcome
    imis_id: str | None = None
    username: str | None = None
    failed_attempts: int = 0

    @property
    def ok(self) -> bool:
        return self.outcome is LoginOutcome.OK


def attempt_login(
    conn: Connection, username: str, password: str, *, lockout_threshold: int
) -> LoginResult:
    """Check a username and password as iMIS does, recording the attempt.

    A wrong password counts a failed attempt; reaching ``lockout_threshold`` locks the account
    (IsLockedOut, LastLockoutDate). A locked account is refused even with the right password.
    A good login resets the count. The caller commits.
    """
    row = (
        conn.execute(select(users).where(users.c.username_key == username_key(username)))
        .mappings()
        .first()
    )
    if row is None:
        return LoginResult(LoginOutcome.UNKNOWN_USER)
    who = {"imis_id": row["imis_id"], "username": row["username"]}
    if row["is_locked_out"]:
        return LoginResult(LoginOutcome.LOCKED_OUT, **who)
    if row["is_disabled"]:
        return LoginResult(LoginOutcome.DISABLED, **who)
    now = datetime.now(UTC).replace(tzinfo=None)
    if not row["password_hash"]:
        return LoginResult(LoginOutcome.NO_PASSWORD, **who)
    if verify_password(password, row["password_hash"]):
        conn.execute(
            update(users)
            .where(users.c.imis_id == row["imis_id"])
            .values(failed_password_attempt_count=0, last_login_date=now)
        )
        return LoginResult(LoginOutcome.OK, **who)
    failed = int(row["failed_password_attempt_count"]) + 1
    locked = failed >= lockout_threshold
    conn.execute(
        update(users)
        .where(users.c.imis_id == row["imis_id"])
        .values(
            failed_password_attempt_count=failed,
            is_locked_out=locked,
            last_lockout_date=now if locked else row["last_lockout_date"],
        )
    )
    outcome = LoginOutcome.LOCKED_OUT if locked else LoginOutcome.WRONG_PASSWORD
    return LoginResult(outcome, failed_attempts=failed, **who)


def unlock_values() -> dict[str, object]:
    """The column values that unlock an account (lock cleared, failed-attempt count reset)."""
    return {"is_locked_out": False, "failed_password_attempt_count": 0}


__all__ = [
    "LoginOutcome",
    "LoginResult",
    "attempt_login",
    "fast_hash_password",
    "hash_password",
    "password_problem",
    "unlock_values",
    "username_key",
    "verify_password",
]
