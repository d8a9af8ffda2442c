"""Fixtures for the credentials tests: a fresh world (store, people, suite databases) per test."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from .support import World, new_world


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with ExitStack() as stack:
        yield new_world(tmp_path, stack)
