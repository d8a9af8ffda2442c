"""SFTP Upload against a real SFTP server (asyncssh on loopback): password and key logins, the
host key pinned (fingerprint or public key), a changed or unknown key refused before anything is
sent (the message saying the key seen), the file written under a temporary name then renamed
(with and without the OpenSSH posix-rename), failures in words, and no password anywhere."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from servers import PASSWORD, USER, SftpServer, need_package, sftp_server
from wf_io_support import Services, context, run_action, workspace

from idms.workflows.actions.base import ActionContext, StepFailed

CONTENT = b"ID,Name\r\n101,Ann Ames\r\n102,Bo Berg\r\n" * 1000


@pytest.fixture
def sftp(tmp_path: Path) -> Iterator[SftpServer]:
    with sftp_server(tmp_path / "sftp") as server:
        yield server


@pytest.fixture
def services(sftp: SftpServer, tmp_path: Path) -> Iterator[Services]:
    with workspace(tmp_path) as found:
        found.secrets.set("board-sftp", PASSWORD)
        found.secrets.set("board-key", sftp.client_key_text)
        found.secrets.set("wrong-password", "not-the-password")
        yield found


@pytest.fixture
def ctx(services: Services, tmp_path: Path) -> ActionContext:
    ctx = context(services, tmp_path, step_id="upload", run_id="run-42")
    (ctx.files / "members.csv").write_bytes(CONTENT)
    return ctx


def step(sftp: SftpServer, **changes: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": sftp.port,
        "username": USER,
        "password_secret": "board-sftp",
        "host_key": sftp.fingerprint,
        "file": {"file_name": "members.csv", "format": "csv"},
        "retries": 0,
    }
    params.update(changes)
    return {k: v for k, v in params.items() if v is not None}


def leftovers(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.name.endswith(".part"))


def test_a_password_login_with_the_pinned_fingerprint_uploads_the_file(
    sftp: SftpServer, ctx: ActionContext, caplog: pytest.LogCaptureFixture
) -> None:
    (sftp.root / "incoming").mkdir()
    caplog.set_level(logging.DEBUG)
    result = run_action("sftp_upload", step(sftp, folder="/incoming"), ctx)
    assert (sftp.root / "incoming" / "members.csv").read_bytes() == CONTENT
    assert leftovers(sftp.root) == []
    assert sftp.logins == [(USER, "password")]
    assert result.output == {
        "host": "127.0.0.1",
        "port": sftp.port,
        "remote_path": "/incoming/members.csv",
        "file_name": "members.csv",
        "bytes": len(CONTENT),
        "host_key": sftp.fingerprint,
        "host_key_type": "ssh-ed25519",
        "host_key_pinned": True,
    }
    assert PASSWORD not in json.dumps(result.output) + str(result.message) + caplog.text


def test_the_host_key_may_be_pinned_as_a_known_hosts_line_and_a_file_renamed(
    sftp: SftpServer, ctx: ActionContext
) -> None:
    line = f"[127.0.0.1]:{sftp.port} {sftp.public_host_key}"
    result = run_action(
        "sftp_upload", step(sftp, host_key=line, file="members.csv", file_name="board.csv"), ctx
    )
    assert (sftp.root / "board.csv").read_bytes() == CONTENT
    assert result.output["remote_path"] == "board.csv"


def test_a_private_key_logs_in_without_a_password(sftp: SftpServer, ctx: ActionContext) -> None:
    run_action("sftp_upload", step(sftp, password_secret=None, private_key_secret="board-key"), ctx)
    assert sftp.logins == [(USER, "publickey")]
    assert (sftp.root / "members.csv").read_bytes() == CONTENT


def test_an_encrypted_private_key_needs_its_passphrase(
    sftp: SftpServer, services: Services, ctx: ActionContext
) -> None:
    services.secrets.set("board-key-locked", sftp.encrypted_client_key("open sesame"))
    services.secrets.set("board-passphrase", "open sesame")
    services.secrets.set("wrong-passphrase", "open barley")
    with pytest.raises(StepFailed, match="encrypted: name the secret holding its passphrase"):
        run_action(
            "sftp_upload",
            step(sftp, password_secret=None, private_key_secret="board-key-locked"),
            ctx,
        )
    locked = step(sftp, password_secret=None, private_key_secret="board-key-locked")
    with pytest.raises(StepFailed, match=r"its passphrase \(passphrase_secret\) is wrong"):
        run_action("sftp_upload", {**locked, "passphrase_secret": "wrong-passphrase"}, ctx)
    run_action("sftp_upload", {**locked, "passphrase_secret": "board-passphrase"}, ctx)
    assert sftp.logins == [(USER, "publickey")]


def test_a_file_already_there_is_replaced_also_without_posix_rename(
    tmp_path: Path, ctx: ActionContext
) -> None:
    with sftp_server(tmp_path / "plain", posix_rename=False) as plain:
        (plain.root / "members.csv").write_bytes(b"last week's list")
        run_action("sftp_upload", step(plain), ctx)
        assert (plain.root / "members.csv").read_bytes() == CONTENT
        assert leftovers(plain.root) == []


def test_a_changed_host_key_is_refused_before_the_password_is_sent(
    sftp: SftpServer, ctx: ActionContext
) -> None:
    asyncssh = need_package("asyncssh")
    old = asyncssh.generate_private_key("ssh-ed25519").get_fingerprint("sha256")
    with pytest.raises(StepFailed) as failed:
        run_action("sftp_upload", step(sftp, host_key=old), ctx)
    message = failed.value.message
    assert f"showed the host key {sftp.fingerprint} (ssh-ed25519)" in message
    assert f"not the one pinned in host_key ({old})" in message
    assert f'host_key: "{sftp.fingerprint}"' in message
    assert not failed.value.retryable
    assert sftp.logins == []
    assert list(sftp.root.iterdir()) == []


def test_an_unknown_host_key_is_refused_saying_it_unless_accepted_and_then_reported(
    sftp: SftpServer, ctx: ActionContext
) -> None:
    with pytest.raises(StepFailed) as failed:
        run_action("sftp_upload", step(sftp, host_key=None), ctx)
    assert f"showed the host key {sftp.fingerprint} (ssh-ed25519), and the step pins none" in (
        failed.value.message
    )
    assert f'pin it (host_key: "{sftp.fingerprint}")' in failed.value.message
    assert not failed.value.retryable
    assert sftp.logins == []
    result = run_action("sftp_upload", step(sftp, host_key=None, accept_unknown_host_key=True), ctx)
    assert result.output["host_key"] == sftp.fingerprint
    assert result.output["host_key_pinned"] is False
    assert f"host key {sftp.fingerprint} not pinned" in str(result.message)
    assert (sftp.root / "members.csv").read_bytes() == CONTENT


def test_a_wrong_password_fails_in_words_and_is_not_retried(
    sftp: SftpServer, ctx: ActionContext, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(StepFailed) as failed:
        run_action("sftp_upload", step(sftp, password_secret="wrong-password", retries=3), ctx)
    assert "refused the login of 'transfer': check the user name and the password" in (
        failed.value.message
    )
    assert not failed.value.retryable
    assert "not-the-password" not in failed.value.message + caplog.text


def test_a_missing_folder_is_named(sftp: SftpServer, ctx: ActionContext) -> None:
    with pytest.raises(StepFailed, match=r"The folder '/nowhere' does not exist on 127\.0\.0\.1"):
        run_action("sftp_upload", step(sftp, folder="/nowhere"), ctx)
    assert leftovers(sftp.root) == []


def test_a_refused_connection_is_retried_then_fails_as_retryable(ctx: ActionContext) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    params = {
        "host": "127.0.0.1",
        "port": port,
        "username": USER,
        "password_secret": "board-sftp",
        "host_key": "SHA256:AAAA",
        "file": "members.csv",
        "retries": 1,
        "backoff_seconds": 0,
    }
    logged: list[str] = []
    ctx.log = logged.append
    with pytest.raises(StepFailed, match="refused the connection") as failed:
        run_action("sftp_upload", params, ctx)
    assert failed.value.retryable
    assert len(logged) == 1
    assert "Trying again" in logged[0]


def test_parameters_are_checked_before_anything_is_sent(ctx: ActionContext) -> None:
    from pydantic import ValidationError

    base = {"host": "h", "username": "u", "host_key": "SHA256:x", "file": "a.csv"}
    with pytest.raises(StepFailed, match="Give password_secret or private_key_secret"):
        run_action("sftp_upload", base, ctx)
    with pytest.raises(ValidationError, match="host_key must be the server's fingerprint"):
        run_action("sftp_upload", {**base, "password_secret": "s", "host_key": "abc"}, ctx)
    with pytest.raises(ValidationError, match="Extra inputs"):
        run_action("sftp_upload", {**base, "password_secret": "s", "password": "x"}, ctx)
    with pytest.raises(ValidationError, match="name or address alone"):
        run_action("sftp_upload", {**base, "password_secret": "s", "host": "sftp://h"}, ctx)
    with pytest.raises(StepFailed, match=r"no file named 'other\.csv'"):
        run_action("sftp_upload", {**base, "password_secret": "s", "file": "other.csv"}, ctx)


def test_a_workflow_may_name_the_pin_and_the_secrets_with_templates() -> None:
    from idms.workflows.check import check_workflow

    upload = {
        "id": "upload",
        "action": "sftp_upload",
        "with": {
            "host": "sftp.example.org",
            "username": "idms",
            "password_secret": "{{ input.secret }}",
            "host_key": "{{ input.pin }}",
            "file": "{{ steps.csv }}",
        },
    }
    check_workflow({"name": "Board", "steps": [upload]})
