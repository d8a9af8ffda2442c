"""Tests that need a service (PostgreSQL, Redis, RabbitMQ) and find none: skipped, with the reason,
on a developer's machine; failed under CI (``CI=true``), where the services are started for the
tests and a skip would hide that those tests never ran."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def need_service(name: str, reason: str) -> NoReturn:
    """Stop this test: ``name`` (e.g. "PostgreSQL") cannot be reached, because ``reason``."""
    message = f"{name} is not available: {reason}"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} (CI=true: the tests that need {name} must run)", pytrace=False)
    pytest.skip(message)
