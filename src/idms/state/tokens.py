"""API tokens: made, listed, revoked and checked; only each token's SHA-256 is stored.

A token is ``idms_`` followed by 32 random bytes (URL-safe base64), shown once when it is made.
A request's token is hashed and looked up by its hash, then the stored hash is compared with
:func:`hmac.compare_digest`: the time a check takes says nothing about any stored token, and
the database never holds a token anyone could replay.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.orm import Session

from idms.db import writer
from idms.errors import InvalidInputError, NotFound, suggest
from idms.state.models import NAME_LENGTH, ApiToken, utcnow
from idms.state.store import translate_errors

PREFIX = "idms_"
# last_used_at is written at most this often per token: a busy client must not turn every
# request into a write to the suite database.
TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class TokenInfo:
    """What is known of a token (never the token itself)."""

    id: str
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return PREFIX + secrets.token_urlsafe(32)


class TokenStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, name: str) -> tuple[TokenInfo, str]:
        """A new token called ``name``: its record and the token (to show once).

        A name held by an active token is refused; a revoked token's name is taken over.
        """
        name = name.strip()
        if not name:
            raise InvalidInputError("Give the token a name, e.g. 'idms token create zapier'.")
        if len(name) > NAME_LENGTH:
            raise InvalidInputError(f"A token's name has at most {NAME_LENGTH} characters.")
        token = new_token()
        now = utcnow()
        token_id = secrets.token_hex(8)
        with translate_errors("Cannot save the token"), writer(self.engine).begin() as conn:
            held = conn.execute(select(ApiToken.revoked_at).where(ApiToken.name == name)).first()
            if held is not None and held[0] is None:
                raise InvalidInputError(
                    f"A token named '{name}' exists already: revoke it first "
                    f"('idms token revoke {name}') or choose another name."
                )
            conn.execute(delete(ApiToken).where(ApiToken.name == name))
            conn.execute(
                insert(ApiToken).values(
                    id=token_id, name=name, token_hash=hash_token(token), created_at=now
                )
            )
        return TokenInfo(token_id, name, now, None, None), token

    def list(self) -> list[TokenInfo]:
        with Session(self.engine) as session:
            return [_info(t) for t in session.scalars(select(ApiToken).order_by(ApiToken.name))]

    def any_active(self) -> bool:
        with self.engine.connect() as conn:
            found = conn.execute(
                select(ApiToken.id).where(ApiToken.revoked_at.is_(None)).limit(1)
            ).first()
        return found is not None

    def revoke(self, name: str) -> bool:
        """Revoke the token called ``name``; False when it was revoked already."""
        with translate_errors("Cannot revoke the token"), writer(self.engine).begin() as conn:
            row = conn.execute(select(ApiToken.revoked_at).where(ApiToken.name == name)).first()
            if row is None:
                names = list(conn.execute(select(ApiToken.name)).scalars())
                close = suggest(name, names)
                hint = f" Did you mean '{close}'?" if close else ""
                raise NotFound(f"No token '{name}'.{hint}", hint="'idms token list' shows them.")
            if row[0] is not None:
                return False
            conn.execute(update(ApiToken).where(ApiToken.name == name).values(revoked_at=utcnow()))
        return True

    def verify(self, token: str) -> TokenInfo | None:
        """The active token ``token`` is, or None; its last use is recorded."""
        if not token.startswith(PREFIX):
            return None
        digest = hash_token(token)
        with Session(self.engine) as session:
            row = session.scalars(select(ApiToken).where(ApiToken.token_hash == digest)).first()
            found = _info(row) if row is not None else None
            stored = row.token_hash if row is not None else ""
        if found is None or not hmac.compare_digest(stored, digest) or not found.active:
            return None
        now = utcnow()
        if found.last_used_at is None or now - found.last_used_at >= TOUCH_EVERY:
            with translate_errors("Cannot record the token's use"), self.engine.begin() as conn:
                conn.execute(
                    update(ApiToken).where(ApiToken.id == found.id).values(last_used_at=now)
                )
        return found


def _info(t: ApiToken) -> TokenInfo:
    return TokenInfo(t.id, t.name, t.created_at, t.last_used_at, t.revoked_at)
