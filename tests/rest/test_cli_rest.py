"""The real ``idms`` CLI against the sandbox: ``--target imis+http://127.0.0.1:PORT/``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from contract.suite import PROFILE_PANEL
from idms.targets.base import Change, ChangeKind
from idms.targets.embedded.target import EmbeddedTarget

from .conftest import MANAGER, MANAGER_PASSWORD, Serve

IDMS = Path(sys.executable).parent / "idms"
pytestmark = pytest.mark.skipif(not IDMS.exists(), reason=f"{IDMS} is not installed")


def idms(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(IDMS), *args], env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("IDMS_")}
    clean.pop("COLUMNS", None)
    return {**clean, "IDMS_WORKSPACE": str(tmp_path / "ws")}


def test_records_and_sources_through_the_cli(
    new_store: Callable[[str], EmbeddedTarget], serve: Serve, env: dict[str, str], tmp_path: Path
) -> None:
    store = new_store("imis")
    store.apply(
        "Contact",
        [
            Change(ChangeKind.INSERT, {"FirstName": f"P{i}", "LastName": "Cli"}, ref=i)
            for i in range(5)
        ],
    )
    served = serve(store)
    target = f"imis+{served.url}/"
    account = {**env, "IDMS_IMIS_USERNAME": MANAGER, "IDMS_IMIS_PASSWORD": MANAGER_PASSWORD}

    records = idms(account, "--target", target, "records", "Contact", "--limit", "3", "--json")
    assert records.returncode == 0, records.stderr
    shown = json.loads(records.stdout)
    assert [r["FirstName"] for r in shown] == ["P0", "P1", "P2"]
    assert MANAGER_PASSWORD not in records.stdout + records.stderr

    sources = idms(account, "--target", target, "sources", "--json")
    assert sources.returncode == 0, sources.stderr
    names = {s["name"] for s in json.loads(sources.stdout)}
    assert {"Contact", "Activity", "Gift"} <= names
    assert "UserData" not in names  # iMIS 2017 only

    no_account = idms(env, "--target", target, "records", "Contact", "--json")
    assert no_account.returncode == 2
    assert "IDMS_IMIS_USERNAME" in no_account.stderr
    assert "Traceback" not in no_account.stderr

    wrong = idms({**account, "IDMS_IMIS_PASSWORD": "Wrong-Pass-1"}, "--target", target,
                 "records", "Contact")  # fmt: skip
    assert wrong.returncode == 3
    assert "refused the login" in wrong.stderr
    assert "Wrong-Pass-1" not in wrong.stderr

    definition = tmp_path / "profile.yml"
    definition.write_text(PROFILE_PANEL, encoding="utf-8")
    panel = idms(account, "--target", target, "panel", "create", str(definition))
    assert panel.returncode == 2
    assert "remote iMIS" in panel.stderr
