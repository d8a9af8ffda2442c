"""open_target: the embedded store or a REST target, with the iMIS account from where it is."""

from __future__ import annotations

from pathlib import Path

import pytest

from idms.config import Settings
from idms.errors import ConfigError
from idms.secrets import open_secrets
from idms.targets.embedded.target import EmbeddedTarget
from idms.targets.factory import open_target
from idms.targets.imis.target import RestTarget


def settings(tmp_path: Path, target: str, platform: str = "ems") -> Settings:
    return Settings.load(workspace=tmp_path / "ws", target=target, platform=platform, environ={})


def test_embedded_targets(tmp_path: Path) -> None:
    for name in ("embedded", f"sqlite:///{tmp_path / 'other.db'}"):
        with open_target(settings(tmp_path, name), environ={}) as target:
            assert isinstance(target, EmbeddedTarget)
            assert target.platform == "ems"


def test_rest_target_with_the_account_from_variables(tmp_path: Path) -> None:
    env = {"IDMS_IMIS_USERNAME": "MANAGER", "IDMS_IMIS_PASSWORD": "Var-Secret-1"}
    target = open_target(
        settings(tmp_path, "imis+https://imis.example.org/Asi.Scheduler_iMIS/", "2017"),
        environ=env,
    )
    assert isinstance(target, RestTarget)
    assert target.platform == "2017"
    assert target.client.base_url == "https://imis.example.org/Asi.Scheduler_iMIS"
    assert target.client.username == "MANAGER"
    assert "Var-Secret-1" not in repr(target) + repr(target.client)
    target.close()
    assert not (tmp_path / "ws").exists()  # nothing looked up, nothing created


def test_rest_target_with_the_account_from_the_secrets(tmp_path: Path) -> None:
    where = settings(tmp_path, "imis+http://127.0.0.1:8081/")
    with open_secrets(where) as secrets:
        secrets.set("imis.username", "STAFF")
        secrets.set("imis.password", "Stored-Secret-1")
    target = open_target(where, environ={"IDMS_IMIS_USERNAME": "OVERRIDE"})
    assert isinstance(target, RestTarget)
    assert target.client.username == "OVERRIDE"  # a variable wins over a stored secret
    target.close()
    target = open_target(where, environ={})
    assert isinstance(target, RestTarget)
    assert target.client.username == "STAFF"
    target.close()


def test_rest_target_without_an_account_says_how_to_give_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        open_target(settings(tmp_path, "imis+https://imis.example.org/"), environ={})
    message = str(info.value)
    assert "IDMS_IMIS_USERNAME" in message
    assert "IDMS_IMIS_PASSWORD" in message
    assert "idms secrets set imis.password" in message
    with pytest.raises(ConfigError, match="no password"):
        open_target(
            settings(tmp_path, "imis+https://imis.example.org/"),
            environ={"IDMS_IMIS_USERNAME": "MANAGER"},
        )
