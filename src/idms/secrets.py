"""Secrets encrypted at rest: named values (passwords, API keys) kept in the suite database.

Values are encrypted with Fernet (AES-128-CBC + HMAC-SHA256) before they reach the database,
so the database alone reveals nothing. The keys come from ``IDMS_SECRET_KEY`` (one or more keys
separated by commas; the first encrypts, all decrypt, which is how a key is rotated) or else from
the workspace's key file, created with mode 0600 on first use. Neither keys nor values are ever
logged, put in an error message, or shown by ``repr``.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, cast

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import CursorResult, Engine, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from idms.config import Settings
from idms.errors import SecretError, suggest
from idms.private import private_folder
from idms.state.models import NAME_LENGTH, Secret, utcnow
from idms.state.store import display_url, open_suite, translate_errors

KEY_SEPARATORS = re.compile(r"[,\s]+")


def new_key() -> str:
    """A fresh random Fernet key, as text (what ``IDMS_SECRET_KEY`` and the key file hold)."""
    return Fernet.generate_key().decode("ascii")


def load_keys(settings: Settings) -> list[bytes]:
    """The Fernet keys to use, primary first.

    From ``settings.secret_key`` if set (keys separated by commas); otherwise from
    ``settings.key_file`` (keys separated by commas or new lines), which is created with one new
    key, mode 0600, if it does not exist yet. Raises :class:`SecretError` naming the source
    (never the key) if a key is malformed or the file cannot be read or written.
    """
    if settings.secret_key is not None:
        return _parse_keys(settings.secret_key, "IDMS_SECRET_KEY")
    path = settings.key_file
    if not path.exists():
        _create_key_file(path)
    try:
        content = path.read_text(encoding="ascii")
    except UnicodeDecodeError:
        raise SecretError(f"The key file {path} does not hold Fernet keys.") from None
    except OSError as exc:
        raise SecretError(f"Cannot read the key file {path}: {exc.strerror}.") from None
    return _parse_keys(content, f"The key file {path}")


def _parse_keys(raw: str, source: str) -> list[bytes]:
    keys = [k for k in KEY_SEPARATORS.split(raw.strip()) if k]
    if not keys:
        raise SecretError(f"{source} holds no key.")
    parsed: list[bytes] = []
    for number, key in enumerate(keys, start=1):
        try:
            encoded = key.encode("ascii")
            Fernet(encoded)
        except (ValueError, TypeError):  # UnicodeEncodeError and binascii.Error are ValueErrors
            which = f"key {number} of {len(keys)}" if len(keys) > 1 else "the key"
            raise SecretError(
                f"{source}: {which} is not a valid Fernet key "
                "(32 bytes, URL-safe base64-encoded, 44 characters)."
            ) from None
        parsed.append(encoded)
    return parsed


def _create_key_file(path: Path) -> None:
    try:
        private_folder(path.parent, tighten_existing=False)
        # mkstemp creates the file with mode 0600 from the start, so the key is never readable
        # by others, not even for an instant.
        fd, tmp = tempfile.mkstemp(prefix=".secret-", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(new_key() + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o600)
            try:
                # link, not replace: if another process created the file meanwhile, its key
                # wins and ours is dropped, instead of silently orphaning what it encrypted.
                os.link(tmp, path)
            except FileExistsError:
                pass
            except OSError:
                # Some file systems have no hard links; a rename is still atomic.
                if not path.exists():
                    os.replace(tmp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
    except OSError as exc:
        raise SecretError(f"Cannot create the key file {path}: {exc.strerror}.") from None


class SecretBox:
    """Encrypts and decrypts text with a list of Fernet keys: the first encrypts, any decrypts."""

    __slots__ = ("_fernet", "_key_count")

    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise SecretError("No secret key given.")
        try:
            self._fernet = MultiFernet([Fernet(key) for key in keys])
        except (ValueError, TypeError):
            raise SecretError("A secret key is not a valid Fernet key.") from None
        self._key_count = len(keys)

    def __repr__(self) -> str:
        return f"SecretBox(keys={self._key_count})"

    def encrypt(self, plaintext: str) -> str:
        """A Fernet token for ``plaintext``, under the primary key (new each call)."""
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str, *, name: str | None = None) -> str:
        """The text inside ``token``; :class:`SecretError` if no key opens it or it was altered.

        ``name`` only labels the error message.
        """
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise SecretError(_cannot_decrypt(name)) from None

    def encrypt_bytes(self, data: bytes) -> str:
        """A Fernet token for ``data`` (bytes that need not be text), under the primary key."""
        return self._fernet.encrypt(data).decode("ascii")

    def decrypt_bytes(self, token: str, *, name: str | None = None) -> bytes:
        """The bytes inside ``token``; :class:`SecretError` as :meth:`decrypt`."""
        try:
            return self._fernet.decrypt(token.encode("ascii"))
        except (InvalidToken, UnicodeError):
            raise SecretError(_cannot_decrypt(name)) from None

    def rotate(self, token: str, *, name: str | None = None) -> str:
        """``token`` re-encrypted under the primary key, so older keys can be retired."""
        try:
            return self._fernet.rotate(token.encode("ascii")).decode("ascii")
        except (InvalidToken, UnicodeError):
            raise SecretError(_cannot_decrypt(name)) from None


def _cannot_decrypt(name: str | None) -> str:
    what = f"secret '{name}'" if name is not None else "secret"
    return f"Cannot decrypt {what}: wrong key or tampered data."


class SecretStore:
    """Named secrets in the suite database, encrypted by a :class:`SecretBox`.

    Database failures raise :class:`~idms.errors.StateError`, key problems
    :class:`~idms.errors.SecretError`. Closing it disposes the engine only if it owns it
    (as :func:`open_secrets` arranges).
    """

    __slots__ = ("_box", "_owns_engine", "engine")

    def __init__(self, engine: Engine, box: SecretBox, *, owns_engine: bool = False) -> None:
        self.engine = engine
        self._box = box
        self._owns_engine = owns_engine

    def __repr__(self) -> str:
        return f"SecretStore({display_url(self.engine.url)}, {self._box!r})"

    def __enter__(self) -> SecretStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the database connections, if this store opened them."""
        if self._owns_engine:
            self.engine.dispose()

    @contextmanager
    def _transaction(self, *, write: bool = False) -> Iterator[Session]:
        with Session(self.engine) as session, session.begin():
            if write:
                # Writers read first; on SQLite, BEGIN IMMEDIATE (see idms.db) takes the write
                # lock up front so two writers wait for each other instead of failing.
                session.connection(execution_options={"sqlite_immediate": True})
            yield session

    def set(self, name: str, value: str) -> None:
        """Store ``value`` under ``name``, encrypted, replacing any previous value."""
        _check_name(name)
        ciphertext = self._box.encrypt(value)
        now = utcnow()
        with translate_errors(f"Cannot store secret '{name}'"):
            for attempt in (1, 2):
                try:
                    with self._transaction(write=True) as session:
                        row = session.get(Secret, name, with_for_update=True)
                        if row is None:
                            row = Secret(name=name, created_at=now)
                            session.add(row)
                        row.ciphertext = ciphertext
                        row.updated_at = now
                    return
                except IntegrityError:
                    # Another writer created the same name between our read and our insert;
                    # the second attempt finds its row and updates it.
                    if attempt == 2:
                        raise

    def get(self, name: str) -> str:
        """The value stored under ``name``; :class:`SecretError` if there is none."""
        with translate_errors(f"Cannot read secret '{name}'"), self._transaction() as session:
            ciphertext = session.scalar(select(Secret.ciphertext).where(Secret.name == name))
        if ciphertext is None:
            message = f"No secret named '{name}'."
            close = suggest(name, self.names())
            raise SecretError(f"{message} Did you mean '{close}'?" if close else message)
        return self._box.decrypt(ciphertext, name=name)

    def delete(self, name: str) -> bool:
        """Forget the secret ``name``; whether there was one."""
        with (
            translate_errors(f"Cannot delete secret '{name}'"),
            self._transaction(write=True) as session,
        ):
            result = session.execute(delete(Secret).where(Secret.name == name))
            return cast("CursorResult[Any]", result).rowcount > 0

    def names(self) -> list[str]:
        """The names of all stored secrets, sorted."""
        with translate_errors("Cannot list secrets"), self._transaction() as session:
            return list(session.scalars(select(Secret.name).order_by(Secret.name)))

    def set_times(self) -> list[tuple[str, datetime]]:
        """Each stored secret's name and when its value was last set, by name (no values)."""
        with translate_errors("Cannot list secrets"), self._transaction() as session:
            rows = session.execute(select(Secret.name, Secret.updated_at).order_by(Secret.name))
            return [(str(name), when) for name, when in rows]

    def rotate_all(self) -> int:
        """Re-encrypt every secret under the primary key, all or nothing; how many there were.

        Run it after putting a new key first, then older keys can be dropped. If any secret
        cannot be decrypted, nothing is changed.
        """
        with (
            translate_errors("Cannot re-encrypt secrets"),
            self._transaction(write=True) as session,
        ):
            rows = session.scalars(select(Secret).order_by(Secret.name).with_for_update())
            count = 0
            for row in rows:
                row.ciphertext = self._box.rotate(row.ciphertext, name=row.name)
                count += 1
            return count


def _check_name(name: str) -> None:
    if not name or name != name.strip():
        raise SecretError(f"Invalid secret name '{name}': it must be non-empty, no outer spaces.")
    if len(name) > NAME_LENGTH:
        raise SecretError(f"Invalid secret name: longer than {NAME_LENGTH} characters.")


def open_secrets(settings: Settings) -> SecretStore:
    """The secret store of ``settings``' suite database, with its keys; close it when done.

    The keys are loaded first, so a bad key fails before the database is touched.
    """
    box = SecretBox(load_keys(settings))
    return SecretStore(open_suite(settings.suite_url), box, owns_engine=True)
