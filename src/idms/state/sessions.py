"""The web UI's sessions: a signed-in browser holds a random token in its ``idms_session``
cookie; the suite database holds only the token's SHA-256, the user, and the session's
form token (CSRF), so reading the database gives no one a session.

A session ends after :data:`IDLE` without a request (the idle timeout, moved forward at most
once a minute so that browsing is not a write per page), after :data:`LONGEST` whatever
happens, at sign-out, and when its user's password or role changes or the user is removed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, insert, or_, select, update

from idms.errors import NotFound
from idms.state.models import User, WebSession, utcnow
from idms.state.store import translate_errors
from idms.state.users import Role

IDLE = timedelta(minutes=60)
LONGEST = timedelta(hours=12)
TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class SessionInfo:
    """A live session: who, with which role, and the token its forms must carry."""

    user_id: str
    user_name: str
    role: Role
    csrf_token: str
    created_at: datetime
    expires_at: datetime

    def csrf_ok(self, given: str | None) -> bool:
        """Whether ``given`` is this session's form token (compared in constant time)."""
        return bool(given) and hmac.compare_digest(self.csrf_token, str(given))


def hash_session_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class SessionStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def start(self, user_id: str) -> tuple[str, SessionInfo]:
        """A new session for ``user_id``: the cookie's token (shown only now) and the session."""
        token = secrets.token_urlsafe(32)
        now = utcnow()
        values = {
            "token_hash": hash_session_token(token),
            "user_id": user_id,
            "csrf_token": secrets.token_urlsafe(32),
            "created_at": now,
            "last_seen_at": now,
            "expires_at": now + IDLE,
            "ends_at": now + LONGEST,
        }
        with translate_errors("Cannot start the session"), self.engine.begin() as conn:
            # the ended and the idle ones go as new ones come: the table holds live sessions
            conn.execute(
                delete(WebSession).where(or_(WebSession.ends_at < now, WebSession.expires_at < now))
            )
            conn.execute(insert(WebSession).values(**values))
        found = self.find(token)
        if found is None:  # the user was removed in between
            raise NotFound("The user no longer exists.")
        return token, found

    def find(self, token: str | None) -> SessionInfo | None:
        """The live session ``token`` opens, or None (unknown, ended, idle too long, or its
        user disabled); its idle timeout moves forward."""
        if not token:
            return None
        digest = hash_session_token(token)
        now = utcnow()
        with self.engine.connect() as conn:
            row = conn.execute(
                select(WebSession, User.name, User.role, User.disabled)
                .join(User, User.id == WebSession.user_id)
                .where(WebSession.token_hash == digest)
            ).first()
        if row is None or not hmac.compare_digest(row.token_hash, digest):
            return None
        if row.disabled or now >= row.expires_at or now >= row.ends_at:
            return None
        expires = row.expires_at
        if now - row.last_seen_at >= TOUCH_EVERY:
            expires = min(now + IDLE, row.ends_at)
            with translate_errors("Cannot record the session's use"), self.engine.begin() as c:
                c.execute(
                    update(WebSession)
                    .where(WebSession.token_hash == digest)
                    .values(last_seen_at=now, expires_at=expires)
                )
        return SessionInfo(
            row.user_id, row.name, Role(row.role), row.csrf_token, row.created_at, expires
        )

    def end(self, token: str | None) -> None:
        """Sign out: the session is gone (nothing happens for an unknown token)."""
        if not token:
            return
        with translate_errors("Cannot end the session"), self.engine.begin() as conn:
            conn.execute(
                delete(WebSession).where(WebSession.token_hash == hash_session_token(token))
            )

    def end_all(self, user_id: str) -> int:
        with translate_errors("Cannot end the sessions"), self.engine.begin() as conn:
            done = conn.execute(delete(WebSession).where(WebSession.user_id == user_id))
        return done.rowcount or 0
