"""A test that cannot reach its service is skipped on a developer's machine, failed under CI."""

from __future__ import annotations

import pytest

from services import need_service


def test_without_ci_a_missing_service_skips_with_the_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="Redis is not available: nothing at :6379"):
        need_service("Redis", "nothing at :6379")


@pytest.mark.parametrize("value", ["", "false", "1"])
def test_only_ci_true_counts_as_ci(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.skip.Exception):
        need_service("Redis", "nothing at :6379")


def test_under_ci_a_missing_service_fails_the_test(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="PostgreSQL is not available: refused") as info:
        need_service("PostgreSQL", "refused")
    assert "CI=true" in str(info.value)
