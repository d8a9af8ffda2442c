"""Secrets encrypted at rest: keys, the key file, the store, rotation and tampering."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from idms.config import Settings
from idms.errors import SecretError
from idms.secrets import SecretBox, SecretStore, load_keys, new_key, open_secrets
from idms.state.models import Secret


def settings_for(workspace: Path, database_url: str, secret_key: str | None = None) -> Settings:
    environ = {"IDMS_SUITE_DATABASE": database_url}
    if secret_key is not None:
        environ["IDMS_SECRET_KEY"] = secret_key
    return Settings.load(workspace=workspace, environ=environ)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    # Not created: load_keys must create it.
    return tmp_path / "ws"


@pytest.fixture
def store(workspace: Path, database_url: str) -> Iterator[SecretStore]:
    with open_secrets(settings_for(workspace, database_url)) as opened:
        yield opened


def raw_ciphertext(store: SecretStore, name: str) -> str:
    with store.engine.connect() as conn:
        value = conn.execute(
            text("SELECT ciphertext FROM secrets WHERE name = :n"), {"n": name}
        ).scalar_one()
    assert isinstance(value, str)
    return value


def test_secrets_round_trip(store: SecretStore) -> None:
    store.set("imis.password", "s3cret-Ünïcode ☃")
    store.set("api.token", "abc")
    assert store.get("imis.password") == "s3cret-Ünïcode ☃"
    store.set("imis.password", "changed")
    assert store.get("imis.password") == "changed"
    assert store.names() == ["api.token", "imis.password"]
    assert store.delete("api.token") is True
    assert store.delete("api.token") is False
    assert store.names() == ["imis.password"]


def test_the_database_holds_only_ciphertext(store: SecretStore) -> None:
    store.set("imis.password", "correct horse battery staple")
    stored = raw_ciphertext(store, "imis.password")
    assert "correct horse" not in stored
    assert stored.startswith("gAAAAA")  # a Fernet token


def test_setting_again_keeps_created_at_and_moves_updated_at(store: SecretStore) -> None:
    store.set("a", "1")
    with store.engine.connect() as conn:
        before = conn.execute(text("SELECT created_at FROM secrets")).scalar_one()
    store.set("a", "2")
    with Session(store.engine) as session:
        row = session.get_one(Secret, "a")
        assert row.created_at.tzinfo == UTC
        assert row.updated_at >= row.created_at
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT created_at FROM secrets")).scalar_one() == before


def test_a_missing_secret_is_named(store: SecretStore) -> None:
    store.set("imis.password", "x")
    with pytest.raises(SecretError, match=r"No secret named 'imis.pasword'\. Did you mean"):
        store.get("imis.pasword")
    with pytest.raises(SecretError, match="No secret named 'nothing-like-it'"):
        store.get("nothing-like-it")


@pytest.mark.parametrize("name", ["", " padded ", "x" * 201])
def test_bad_names_are_refused(store: SecretStore, name: str) -> None:
    with pytest.raises(SecretError, match="Invalid secret name"):
        store.set(name, "value")


@pytest.mark.skipif(os.name == "nt", reason="POSIX file modes")
def test_the_key_file_is_created_private_and_reused(workspace: Path, database_url: str) -> None:
    settings = settings_for(workspace, database_url)
    assert not workspace.exists()
    with open_secrets(settings) as first:
        first.set("token", "value")
    key_file = workspace / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    content = key_file.read_text()
    assert load_keys(settings) == [content.strip().encode()]
    with open_secrets(settings) as second:
        assert second.get("token") == "value"
    assert key_file.read_text() == content
    assert [p.name for p in workspace.iterdir() if p.name.startswith(".secret-")] == []


def test_idms_secret_key_is_used_and_no_key_file_is_made(
    workspace: Path, database_url: str
) -> None:
    key = new_key()
    settings = settings_for(workspace, database_url, secret_key=key)
    assert load_keys(settings) == [key.encode()]
    with open_secrets(settings) as store:
        store.set("token", "value")
    assert not (workspace / "secret.key").exists()
    with open_secrets(settings) as store:
        assert store.get("token") == "value"


def test_rotation_from_an_old_key_to_a_new_one(workspace: Path, database_url: str) -> None:
    old, new = new_key(), new_key()
    with open_secrets(settings_for(workspace, database_url, old)) as store:
        store.set("token", "value")
        store.set("other", "value 2")
    with open_secrets(settings_for(workspace, database_url, f"{new}, {old}")) as store:
        assert store.get("token") == "value"  # the old key still decrypts
        assert store.rotate_all() == 2
    with open_secrets(settings_for(workspace, database_url, new)) as store:
        assert store.get("token") == "value"
        assert store.get("other") == "value 2"
    with (
        open_secrets(settings_for(workspace, database_url, old)) as store,
        pytest.raises(SecretError, match="wrong key or tampered data"),
    ):
        store.get("token")


def test_rotate_all_changes_nothing_if_one_secret_cannot_be_read(
    workspace: Path, database_url: str
) -> None:
    a, b = new_key(), new_key()
    with open_secrets(settings_for(workspace, database_url, a)) as store:
        store.set("first", "1")
    with open_secrets(settings_for(workspace, database_url, b)) as store:
        store.set("second", "2")
        before = raw_ciphertext(store, "second")
        with pytest.raises(SecretError, match="Cannot decrypt secret 'first'"):
            store.rotate_all()
        assert raw_ciphertext(store, "second") == before


def test_a_wrong_key_gives_a_secret_error(workspace: Path, database_url: str) -> None:
    with open_secrets(settings_for(workspace, database_url, new_key())) as store:
        store.set("token", "the-plaintext")
    with (
        open_secrets(settings_for(workspace, database_url, new_key())) as store,
        pytest.raises(SecretError) as caught,
    ):
        store.get("token")
    message = str(caught.value)
    assert message == "Cannot decrypt secret 'token': wrong key or tampered data."
    assert "the-plaintext" not in message


def test_tampered_ciphertext_gives_a_secret_error(store: SecretStore) -> None:
    store.set("token", "value")
    token = raw_ciphertext(store, "token")
    middle = len(token) // 2
    flipped = token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]
    with store.engine.begin() as conn:
        conn.execute(
            text("UPDATE secrets SET ciphertext = :c WHERE name = 'token'"), {"c": flipped}
        )
    with pytest.raises(SecretError, match="Cannot decrypt secret 'token'"):
        store.get("token")


@pytest.mark.parametrize("bad", ["not-a-key", "é" * 44, "A" * 40])
def test_a_malformed_environment_key_is_named_but_not_shown(tmp_path: Path, bad: str) -> None:
    settings = Settings.load(workspace=tmp_path, environ={"IDMS_SECRET_KEY": f"{new_key()},{bad}"})
    with pytest.raises(SecretError, match="IDMS_SECRET_KEY: key 2 of 2 is not a valid") as caught:
        load_keys(settings)
    assert bad not in str(caught.value)


def test_a_malformed_key_file_is_named_but_not_shown(tmp_path: Path) -> None:
    (tmp_path / "secret.key").write_text("garbage-key\n")
    settings = Settings.load(workspace=tmp_path, environ={})
    with pytest.raises(SecretError, match=r"secret\.key: the key is not a valid") as caught:
        load_keys(settings)
    assert "garbage-key" not in str(caught.value)


def test_an_empty_key_setting_falls_back_to_the_key_file(tmp_path: Path) -> None:
    settings = Settings.load(workspace=tmp_path, environ={"IDMS_SECRET_KEY": ""})
    assert len(load_keys(settings)) == 1
    assert (tmp_path / "secret.key").exists()


def test_box_round_trip_and_rotate() -> None:
    old, new = new_key().encode(), new_key().encode()
    token = SecretBox([old]).encrypt("value")
    both = SecretBox([new, old])
    rotated = both.rotate(token)
    assert SecretBox([new]).decrypt(rotated) == "value"
    with pytest.raises(SecretError, match=r"^Cannot decrypt secret: wrong key"):
        SecretBox([old]).decrypt(rotated)
    with pytest.raises(SecretError):
        SecretBox([old]).decrypt("ünïcode is no token")
    with pytest.raises(SecretError):
        SecretBox([])


def test_reprs_show_neither_keys_nor_values(store: SecretStore) -> None:
    key = new_key()
    box = SecretBox([key.encode()])
    store.set("token", "the-plaintext")
    for shown in (repr(box), repr(store), str(store)):
        assert key not in shown
        assert "the-plaintext" not in shown
    assert repr(box) == "SecretBox(keys=1)"
