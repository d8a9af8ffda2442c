"""The web UI's password hashing: argon2id through pwdlib, with its recommended parameters.

Only the hash is stored; it carries its own parameters, so hashes made before a change of
parameters still verify (and :func:`needs_rehash` says when to replace one at the next sign-in).
The embedded iMIS store hashes its members' passwords the same way
(``idms.targets.embedded.passwords``), but it sits above this layer and keeps iMIS's own rules.
"""

from __future__ import annotations

from functools import cache

from pwdlib import PasswordHash
from pwdlib.exceptions import UnknownHashError
from pwdlib.hashers.argon2 import Argon2Hasher

_HASHER = PasswordHash((Argon2Hasher(),))
MIN_LENGTH = 10


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    try:
        return _HASHER.verify(password, password_hash)
    except UnknownHashError:  # a damaged hash is a refusal, never a crash of the sign-in page
        return False


def needs_rehash(password_hash: str) -> bool:
    return _HASHER.hashers[0].check_needs_rehash(password_hash)


@cache
def _decoy() -> str:
    return _HASHER.hash("a password no one has")


def spend_a_verification(password: str) -> None:
    """Verify ``password`` against a decoy hash: a sign-in with an unknown name takes as long
    as one with a wrong password, so the time of the answer does not tell which it was."""
    verify_password(password, _decoy())


def password_problem(password: str) -> str | None:
    """Why ``password`` cannot be a user's password, or None."""
    if len(password) < MIN_LENGTH:
        return f"The password is too short: it needs at least {MIN_LENGTH} characters."
    if password.strip() != password:
        return "The password starts or ends with a space: remove it, or put it inside."
    if any(ord(c) < 32 or ord(c) == 127 for c in password):
        return "The password holds a control character (e.g. a tab or a line break)."
    return None
