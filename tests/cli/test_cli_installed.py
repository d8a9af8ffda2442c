"""The installed ``idms`` console script, run end to end as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

IDMS = Path(sys.executable).parent / "idms"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("IDMS_")}
    clean.pop("COLUMNS", None)
    return {**clean, "IDMS_WORKSPACE": str(tmp_path / "ws")}


def idms(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(IDMS), *args], env=env, input=stdin, capture_output=True, text=True, timeout=120
    )


pytestmark = pytest.mark.skipif(not IDMS.exists(), reason=f"{IDMS} is not installed")


def test_installed_script_init_sources_records(env: dict[str, str], tmp_path: Path) -> None:
    init = idms(env, "init")
    assert init.returncode == 0, init.stderr
    assert (tmp_path / "ws" / "imis.db").exists()

    sources = idms(env, "sources", "--json")
    assert sources.returncode == 0, sources.stderr
    assert len(json.loads(sources.stdout)) >= 12

    records = idms(env, "records", "Contact", "--json")
    assert records.returncode == 0, records.stderr
    assert records.stdout == "[]\n"

    version = idms(env, "--version")
    assert version.returncode == 0
    assert version.stdout.startswith("idms ")


def test_installed_script_errors_and_secrets(env: dict[str, str]) -> None:
    unknown = idms(env, "sources", "Contcat")
    assert unknown.returncode == 2
    assert "Did you mean 'Contact'" in unknown.stderr
    assert "Traceback" not in unknown.stderr
    assert unknown.stdout == ""

    bad_field = idms(env, "records", "Contact", "--where", "LastNmae=Smith")
    assert bad_field.returncode == 2
    assert "Did you mean 'LastName'" in bad_field.stderr

    stored = idms(env, "secrets", "set", "api-key", stdin="s3cr3t-value\n")
    assert stored.returncode == 0, stored.stderr
    listed = idms(env, "secrets", "list")
    assert listed.stdout.splitlines() == ["api-key"]
    for run in (stored, listed):
        assert "s3cr3t-value" not in run.stdout + run.stderr
    deleted = idms(env, "secrets", "delete", "api-key")
    assert deleted.returncode == 0, deleted.stderr
    assert idms(env, "secrets", "list", "--json").stdout.strip() == "[]"


def test_installed_script_demo(env: dict[str, str]) -> None:
    demo = idms(env, "demo", "--contacts", "50", "--seed", "3")
    assert demo.returncode == 0, demo.stderr
    assert "Contacts" in demo.stdout
    gifts = idms(env, "records", "Gift", "--order", "-GiftDate", "--limit", "5", "--json")
    assert gifts.returncode == 0, gifts.stderr
    assert all(isinstance(g["Amount"], str) for g in json.loads(gifts.stdout))
