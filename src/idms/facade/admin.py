"""The administration part of the facade: the target connection as the settings give it (and a
test of it), the secrets by name, and the API tokens. What the web UI's settings page shows and
changes; the command line reaches the same stores (``idms secrets``, ``idms token``)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from idms.config import target_kind
from idms.errors import ConfigError, IdmsError, InvalidInputError, suggest
from idms.facade.base import WorkspaceBase

if TYPE_CHECKING:
    from idms.secrets import SecretStore
    from idms.state.tokens import TokenInfo

# How long "Test connection" waits for the target before saying it did not answer.
TEST_SECONDS = 20.0


@dataclass(frozen=True)
class Connection:
    """The target as the settings name it; never its password."""

    kind: str  # embedded, database, rest
    address: str  # the base URL, or where the store is (a database URL's password masked)
    platform: str  # EMS or 2017
    user_name: str | None  # the REST account, when there is one
    query_endpoint: str


@dataclass(frozen=True)
class ConnectionTest:
    ok: bool
    message: str
    seconds: float


class AdminFacade(WorkspaceBase):
    """Settings, secrets and API tokens (a part of :class:`idms.workspace.Workspace`)."""

    # ---- the target connection ------------------------------------------------------------

    def connection(self) -> Connection:
        from idms.state.store import display_url

        target = self.settings.target
        kind = target_kind(target)
        user: str | None = None
        address = target
        if kind == "rest":
            from idms.targets.imis.client import imis_base_url

            address = imis_base_url(target)
            user = self._rest_user()
        elif kind == "database":
            address = display_url(target)
        else:
            address = str(self.settings.workspace)
        return Connection(
            kind, address, self.settings.platform.value, user, self.settings.imis_query_endpoint
        )

    def _rest_user(self) -> str | None:
        from idms.targets.factory import rest_account

        try:
            return rest_account(self.settings)[0]
        except ConfigError:
            return None

    def test_connection(self, *, seconds: float = TEST_SECONDS) -> ConnectionTest:
        """Open the target and read its sources, waiting at most ``seconds``: whether that
        worked, in words (an error's own message; a target that does not answer in time is
        reported as such, while the attempt finishes on its own)."""
        outcome: list[ConnectionTest] = []
        started = time.monotonic()

        def attempt() -> None:
            try:
                with self.target() as target:
                    count = len(target.sources())
                plural = "s" if count != 1 else ""
                message = f"Connected: the target answered with {count} source{plural}."
                outcome.append(ConnectionTest(True, message, time.monotonic() - started))
            except IdmsError as error:
                outcome.append(ConnectionTest(False, str(error), time.monotonic() - started))
            except Exception as error:  # a network error, in words
                message = f"The connection failed: {error or type(error).__name__}."
                outcome.append(ConnectionTest(False, message, time.monotonic() - started))

        worker = threading.Thread(target=attempt, name="idms-test-connection", daemon=True)
        worker.start()
        worker.join(seconds)
        if outcome:
            return outcome[0]
        return ConnectionTest(
            False, f"The target did not answer within {seconds:g} seconds.", seconds
        )

    # ---- secrets, by name -----------------------------------------------------------------

    @property
    def secret_store(self) -> SecretStore:
        from idms.secrets import SecretStore

        return SecretStore(self.suite, self.box)

    def secrets_set(self) -> list[tuple[str, datetime]]:
        """The secrets' names and when each was last set (never a value)."""
        return self.secret_store.set_times()

    def set_secret(self, name: str, value: str) -> None:
        if not value:
            raise InvalidInputError(f"No value given for secret '{name}': nothing stored.")
        self.secret_store.set(name.strip(), value)

    def delete_secret(self, name: str) -> None:
        store = self.secret_store
        if not store.delete(name):
            close = suggest(name, store.names())
            hint = f" Did you mean '{close}'?" if close else ""
            raise InvalidInputError(f"No secret named '{name}'.{hint}")

    # ---- API tokens -----------------------------------------------------------------------

    def api_tokens(self) -> list[TokenInfo]:
        return self.tokens.list()

    def create_token(self, name: str) -> tuple[TokenInfo, str]:
        """A new API token: its record, and the token itself, which is shown once (only its
        hash is kept)."""
        return self.tokens.create(name)

    def revoke_token(self, name: str) -> bool:
        """Revoke the token ``name`` (NotFound if there is none); False if it was already."""
        return self.tokens.revoke(name)
