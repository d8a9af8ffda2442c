"""What every handler of the sandbox shares: the store, the platform, the accounts, the writes.

Every write goes through ``EmbeddedTarget.apply`` so the store's rules hold; a refused change
becomes a 400 ValidationResults (the store's sentence, code and field), a change to a record that
does not exist a 404. Writes are serialised here as well as in the store, so the per-batch state
of the store's adapters is never shared between two requests.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from idms.sandbox.auth import MANAGER_ROLES, Accounts, Session
from idms.sandbox.http import ApiError, invalid, not_found, refused, wrong_arity
from idms.sandbox.paging import ListQuery, Properties, read_page
from idms.sources.model import SourceDef
from idms.targets.base import ApplyOptions, ApplyResult, Change, ChangeKind, Record, RowError
from idms.targets.embedded.target import EmbeddedTarget
from idms.targets.imis import wire
from idms.targets.imis.entities import EntitySpec, parse_identity_path, spec_for

# The options of the request being handled (a ContextVar: each request runs in its own thread).
_OPTIONS: ContextVar[ApplyOptions | None] = ContextVar("sandbox_apply_options", default=None)
# Who is making the request being handled: the session its bearer token names.
_CALLER: ContextVar[Session | None] = ContextVar("sandbox_caller", default=None)


@contextmanager
def apply_options(options: ApplyOptions) -> Iterator[None]:
    """Apply the writes made inside the block with ``options`` (``SkipValidation=true``)."""
    token = _OPTIONS.set(options)
    try:
        yield
    finally:
        _OPTIONS.reset(token)


@contextmanager
def acting_as(session: Session | None) -> Iterator[None]:
    """Handle the calls made inside the block for ``session``'s user (:func:`caller`)."""
    token = _CALLER.set(session)
    try:
        yield
    finally:
        _CALLER.reset(token)


def caller() -> Session | None:
    """The session of the request being handled (None outside a request)."""
    return _CALLER.get()


class Sandbox:
    """The embedded store served as iMIS ``platform`` (``ems`` or ``2017``)."""

    def __init__(
        self,
        target: EmbeddedTarget,
        *,
        platform: str,
        manager_password: str,
        token_lifetime: int,
        sysadmins: Iterable[str] = (),
        manager_roles: Iterable[str] = MANAGER_ROLES,
        manager_password_changed: datetime | None = None,
    ) -> None:
        self.target = target
        self.platform = platform
        self.write_lock = threading.Lock()
        self.accounts = Accounts(
            target,
            manager_password,
            token_lifetime=token_lifetime,
            write_lock=self.write_lock,
            sysadmins=sysadmins,
            manager_roles=manager_roles,
            manager_password_changed=manager_password_changed,
        )

    @property
    def is_2017(self) -> bool:
        return self.platform == "2017"

    # ---- entities -----------------------------------------------------------------------------

    def entity(self, name: str) -> tuple[SourceDef, EntitySpec] | None:
        """The source served as entity ``name`` (without case), with its REST shape."""
        wanted = name.casefold()
        for source in self.target.sources():
            spec = spec_for(source)
            if spec.entity.casefold() == wanted:
                return source, spec
        return None

    def source(self, name: str) -> SourceDef:
        return self.target.describe(name)

    # ---- reads ----------------------------------------------------------------------------------

    def find(self, source: str, identity: Mapping[str, Any]) -> Record | None:
        """The record with this identity (text compared without case), or None."""
        sdef = self.source(source)
        found = self.target.match(sdef.name, list(sdef.identity), [dict(identity)])[0]
        return found[0] if found else None

    def identity(self, source: SourceDef, text: str) -> dict[str, Any] | None:
        """The identity a URL segment names; 400 on wrong arity, None when it cannot exist."""
        parts = text[1:].split("|") if text.startswith("~") else [text]
        if len(parts) != len(source.identity):
            raise wrong_arity()
        return parse_identity_path(source, text)

    def get(self, source: SourceDef, text: str, what: str) -> Record:
        """The record a URL identity names, or 404."""
        identity = self.identity(source, text)
        record = self.find(source.name, identity) if identity is not None else None
        if record is None:
            raise not_found(f"No {what} was found with the identity '{text}'.")
        return record

    def page(
        self,
        source: SourceDef,
        query: ListQuery,
        props: Properties,
        *,
        extra: Iterable[Any] = (),
    ) -> tuple[list[Record], int]:
        filters = [*props.filters(query), *extra]
        return read_page(
            self.target,
            source.name,
            filters,
            props.order(query),
            offset=query.offset,
            limit=query.limit,
        )

    # ---- writes ---------------------------------------------------------------------------------

    def apply(self, source: str, changes: list[Change]) -> list[ApplyResult]:
        with self.write_lock:
            return self.target.apply(source, changes, _OPTIONS.get() or ApplyOptions())

    def write(self, source: str, change: Change) -> Record | None:
        """Apply one change; the record as stored now (None after a delete), or 400/404."""
        result = self.apply(source, [change])[0]
        if not result.ok:
            raise failure(result)
        if change.kind is ChangeKind.DELETE or result.after is None:
            return None
        sdef = self.source(source)
        identity = {k: result.after.get(k) for k in sdef.identity}
        return self.find(source, identity) or result.after

    @contextmanager
    def together(self) -> Iterator[Callable[..., Record | None]]:
        """Several writes as one: the block gets ``write(source, change, members=None)`` (the
        record as written, or 400/404 raised naming the request member of the refused field,
        ``members``: field -> member), and a refusal undoes every write of the block."""
        options = _OPTIONS.get() or ApplyOptions()
        with self.write_lock, self.target.together(options) as apply:

            def write(
                source: str, change: Change, members: Mapping[str, str] | None = None
            ) -> Record | None:
                result = apply(source, [change])[0]
                if not result.ok:
                    raise failure(result, members)
                return result.after

            yield write


def failure(result: ApplyResult, members: Mapping[str, str] | None = None) -> ApiError:
    """The answer to a refused change: 404 when the record is not there, else 400 (its message
    naming the request member that set the field, when ``members`` knows it; the property
    stays the field, as the REST target reads it)."""
    error = result.error
    if error is None:
        return invalid("The change was not written.", "not_written")
    if error.code == "not_found":
        return ApiError(404, wire.http_error(error.message))
    member = (members or {}).get(error.field or "")
    if member:
        error = RowError(error.code, f"{error.message} ({member})", error.field)
    return refused([error])


def changed(values: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, Any]:
    """The values that differ from the stored record.

    A PUT carries the whole object; writing back what is already stored must not re-check it
    (a stored default need not be a code of today's lookup table), so only the differences are
    applied, which stores the same object.
    """
    return {k: v for k, v in values.items() if k not in current or current[k] != v}


def writable(source: SourceDef, values: Mapping[str, Any]) -> dict[str, Any]:
    """The values a request may write: known fields only, read-only ones dropped.

    A GET-modify-PUT sends the whole object back, system fields included (SEQN, Ordinal,
    CreatedOn ...); those are not the caller's to write and are left out rather than refused.
    """
    out: dict[str, Any] = {}
    for name, value in values.items():
        fdef = source.find_field(name)
        if fdef is None or fdef.read_only:
            continue
        out[fdef.name] = value
    return out
