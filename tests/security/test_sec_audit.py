"""The dependency audit of ``make security`` (tools/audit.py): a known vulnerability in a pinned
version fails the build; an advisory database that cannot be reached, or that answers for no
package, is a warning, never fatal and never reported as clean."""

from __future__ import annotations

import importlib.util
import socket
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_audit() -> ModuleType:
    spec = importlib.util.spec_from_file_location("idms_tools_audit", ROOT / "tools" / "audit.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


audit = load_audit()
PINS = Path("constraints.txt")


def report(*packages: dict[str, Any]) -> dict[str, Any]:
    """A report as ``pip-audit --format json`` writes it."""
    return {"dependencies": list(packages), "fixes": []}


VULNERABLE = {
    "name": "jinja2",
    "version": "3.1.2",
    "vulns": [
        {
            "id": "GHSA-h5c8-rqwp-cp95",
            "fix_versions": ["3.1.3"],
            "aliases": ["CVE-2024-22195"],
            "description": "xmlattr filter allows keys with spaces",
        }
    ],
}
CLEAN = {"name": "pyyaml", "version": "6.0.4", "vulns": []}
UNANSWERED = {
    "name": "alembic",
    "skip_reason": "Dependency not found on PyPI and could not be audited: alembic (1.20.1)",
}


def test_a_known_vulnerability_fails_naming_the_package_the_advisory_and_the_fix() -> None:
    verdict = audit.judge(PINS, report(CLEAN, VULNERABLE), 1, "")
    assert verdict.code == 1
    text = "\n".join(verdict.lines)
    assert "jinja2 3.1.2: GHSA-h5c8-rqwp-cp95 (fixed in 3.1.3)" in text
    assert "Move each pin in constraints.txt to a fixed version" in text


def test_an_advisory_excused_with_its_reason_no_longer_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(audit.IGNORED, "CVE-2024-22195", "idms never renders xmlattr")
    verdict = audit.judge(PINS, report(CLEAN, VULNERABLE), 1, "")
    assert verdict.code == 0
    assert verdict.lines == ["pip-audit: no known vulnerability in 2 pinned packages."]


def test_a_database_that_answers_for_no_package_is_a_warning_not_a_clean_bill() -> None:
    verdict = audit.judge(PINS, report(UNANSWERED, UNANSWERED), 0, "No known vulnerabilities")
    assert verdict.code == 0
    assert len(verdict.lines) == 1
    assert verdict.lines[0].startswith("WARNING: the advisory database answered for none of the 2")
    assert "not checked" in verdict.lines[0]


def test_packages_left_unchecked_are_named_beside_the_verdict_on_the_others() -> None:
    verdict = audit.judge(PINS, report(CLEAN, UNANSWERED), 0, "")
    assert verdict.code == 0
    assert verdict.lines == [
        "WARNING: not checked for known vulnerabilities (no answer): alembic.",
        "pip-audit: no known vulnerability in 1 pinned packages.",
    ]


def test_pip_audit_failing_for_another_reason_is_an_error() -> None:
    verdict = audit.judge(PINS, None, 1, "ERROR:pip_audit._cli:invalid requirements input: x")
    assert verdict.code == 2
    assert "invalid requirements input" in verdict.lines[0]


def test_an_unreachable_database_is_reported_and_the_build_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real pip-audit, every request sent to a proxy on a loopback port nothing listens on."""
    with socket.socket() as probe:  # a port that was free a moment ago: nothing answers there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{port}")
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    pins = tmp_path / "constraints.txt"
    pins.write_text("pyyaml==6.0.4\n", encoding="utf-8")
    verdict = audit.audit(pins)
    assert verdict.code == 0, verdict.lines
    assert len(verdict.lines) == 1
    assert verdict.lines[0].startswith("WARNING:"), verdict.lines
    assert "not checked" in verdict.lines[0] or "none of the 1" in verdict.lines[0]
