"""What every command shares: the global options, the settings they make, and the target."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from idms.config import Settings

if TYPE_CHECKING:  # imported when used: --help and version stay quick
    from sqlalchemy import Engine

    from idms.targets.base import FullTarget
    from idms.targets.embedded.target import EmbeddedTarget
    from idms.workspace import Workspace


@dataclass
class CliState:
    """The global options as given on the command line (None when not given).

    Settings are loaded on first use, so ``idms version`` works even with a bad ``IDMS_*``
    variable; ``Settings.load`` reads the environment itself.
    """

    workspace: Path | None = None
    target: str | None = None
    platform: str | None = None
    _settings: Settings | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = Settings.load(
                workspace=self.workspace, target=self.target, platform=self.platform
            )
        return self._settings

    def command_prefix(self) -> str:
        """``idms`` with the global options given explicitly, for examples to copy."""
        parts = ["idms"]
        if self.workspace is not None:
            parts += ["--workspace", quote_arg(str(self.workspace))]
        if self.target is not None:
            parts += ["--target", quote_arg(self.target)]
        if self.platform is not None:
            parts += ["--platform", self.platform]
        return " ".join(parts)


def quote_arg(text: str) -> str:
    """``text`` as one shell argument in a hint (quoted when it holds spaces)."""
    return f'"{text}"' if any(c.isspace() for c in text) else text


def get_state(ctx: typer.Context) -> CliState:
    """The state the app callback stored (a default one if a command runs on its own)."""
    obj = ctx.find_root().obj
    if not isinstance(obj, CliState):
        obj = CliState()
        ctx.find_root().obj = obj
    return obj


def get_settings(ctx: typer.Context) -> Settings:
    return get_state(ctx).settings


@contextmanager
def open_workspace(settings: Settings) -> Iterator[Workspace]:
    """The workspace facade the settings name (created if new), closed afterwards."""
    from idms.workspace import Workspace

    workspace = Workspace.open(settings)
    try:
        yield workspace
    finally:
        workspace.close()


@contextmanager
def suite_engine(settings: Settings) -> Iterator[Engine]:
    """The suite database the settings name (created and migrated if new), closed afterwards."""
    from idms.state.store import open_suite

    engine = open_suite(settings.suite_url)
    try:
        yield engine
    finally:
        engine.dispose()


@contextmanager
def embedded_target(settings: Settings) -> Iterator[EmbeddedTarget]:
    """The embedded store the settings name (created and migrated if new), closed afterwards."""
    from idms.targets.embedded.target import EmbeddedTarget

    target = EmbeddedTarget.from_settings(settings)
    try:
        yield target
    finally:
        target.close()


@contextmanager
def open_target(settings: Settings) -> Iterator[FullTarget]:
    """The target the settings name (the embedded store, or an iMIS over REST), closed after.

    Commands that only read, match and write records use this one; commands that need the
    embedded store itself (``panel create``, ``demo``) use :func:`embedded_target`, which
    refuses a REST target with a ConfigError.
    """
    from idms.targets.factory import open_target as open_any

    target = open_any(settings)
    try:
        yield target
    finally:
        target.close()
