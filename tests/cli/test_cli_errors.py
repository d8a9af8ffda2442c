"""How errors become messages and exit codes."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from typer.testing import Result

from idms.config import Settings
from idms.errors import TerminalTargetError
from idms.sources.model import SourceDef
from idms.targets import factory

Invoke = Callable[..., Result]


def test_an_idms_error_exits_with_its_code_without_traceback(
    cli: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreachable(settings: Settings) -> list[SourceDef]:
        raise TerminalTargetError("The embedded store failed: disk on fire")

    monkeypatch.setattr(factory, "target_sources", unreachable)
    result = cli("sources")
    assert result.exit_code == 3
    assert result.stderr.strip() == "The embedded store failed: disk on fire"
    assert "Traceback" not in result.output


def test_an_unexpected_error_exits_3_with_one_line(
    cli: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(settings: Settings) -> list[SourceDef]:
        raise RuntimeError("boom\nmore detail")

    monkeypatch.setattr(factory, "target_sources", broken)
    result = cli("sources")
    assert result.exit_code == 3
    assert len(result.stderr.strip().splitlines()) == 1
    assert "RuntimeError: boom" in result.stderr
    assert "Traceback" not in result.output


def test_bad_target_is_a_usage_error(cli: Invoke) -> None:
    result = cli("--target", "ftp://nowhere", "sources")
    assert result.exit_code == 2
    assert "Unknown target 'ftp://nowhere'" in result.stderr


def test_bad_platform_flag_is_a_usage_error(cli: Invoke) -> None:
    result = cli("--platform", "2010", "sources")
    assert result.exit_code == 2
