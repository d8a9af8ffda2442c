"""FTP Upload against a real FTP server (pyftpdlib on loopback): plain FTP and FTPS with explicit
TLS (a self-signed certificate trusted through a stored secret, or refused), passive and active
mode, the file written under a temporary name then renamed over last week's, failures in
words, and the password nowhere but where it belongs."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from servers import PASSWORD, USER, FtpServer, ftp_server
from wf_io_support import Services, context, run_action, workspace

from idms.workflows.actions.base import ActionContext, StepFailed

CONTENT = b"ID,Name\r\n101,Ann Ames\r\n102,Bo Berg\r\n" * 5000


@pytest.fixture
def ftp(tmp_path: Path) -> Iterator[FtpServer]:
    with ftp_server(tmp_path / "ftp") as server:
        yield server


@pytest.fixture
def ftps(tmp_path: Path) -> Iterator[FtpServer]:
    with ftp_server(tmp_path / "ftps", tls=True) as server:
        yield server


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    with workspace(tmp_path) as found:
        found.secrets.set("fulfilment-ftp", PASSWORD)
        found.secrets.set("wrong-password", "not-the-password")
        found.secrets.set("not-a-certificate", "hello")
        yield found


@pytest.fixture
def ctx(services: Services, tmp_path: Path) -> ActionContext:
    ctx = context(services, tmp_path, step_id="upload", run_id="run-42")
    (ctx.files / "members.csv").write_bytes(CONTENT)
    return ctx


def step(server: FtpServer, **changes: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": server.port,
        "tls": "none",
        "username": USER,
        "password_secret": "fulfilment-ftp",
        "file": {"file_name": "members.csv", "format": "csv"},
        "retries": 0,
    }
    params.update(changes)
    return {k: v for k, v in params.items() if v is not None}


def leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.rglob("*") if p.name.endswith(".part"))


@pytest.mark.parametrize("passive", [True, False], ids=["passive", "active"])
def test_plain_ftp_uploads_under_a_temporary_name_then_renames(
    ftp: FtpServer, ctx: ActionContext, passive: bool, caplog: pytest.LogCaptureFixture
) -> None:
    (ftp.root / "inbound").mkdir()
    (ftp.root / "inbound" / "members.csv").write_bytes(b"last week's list")
    caplog.set_level(logging.DEBUG)
    result = run_action("ftp_upload", step(ftp, folder="/inbound", passive=passive), ctx)
    assert (ftp.root / "inbound" / "members.csv").read_bytes() == CONTENT
    assert leftovers(ftp.root) == []
    assert result.output == {
        "host": "127.0.0.1",
        "port": ftp.port,
        "tls": "none",
        "remote_path": "/inbound/members.csv",
        "file_name": "members.csv",
        "bytes": len(CONTENT),
    }
    stored = next(c for c in ftp.commands if c.startswith("STOR"))
    assert stored == "STOR .members.csv.run42.part"
    assert ("PASV" if passive else "PORT") in {c.split()[0] for c in ftp.commands}
    assert PASSWORD not in json.dumps(result.output) + str(result.message) + caplog.text


@pytest.mark.parametrize("passive", [True, False], ids=["passive", "active"])
def test_ftps_explicit_tls_trusts_the_certificate_in_the_stored_secret(
    ftps: FtpServer, services: Services, ctx: ActionContext, passive: bool
) -> None:
    assert ftps.certificate
    services.secrets.set("fulfilment-ca", ftps.certificate)
    result = run_action(
        "ftp_upload",
        step(ftps, tls="explicit", ca_secret="fulfilment-ca", passive=passive, file_name="a.csv"),
        ctx,
    )
    assert (ftps.root / "a.csv").read_bytes() == CONTENT
    assert result.output["tls"] == "explicit"
    assert ftps.commands[:3] == ["AUTH TLS", f"USER {USER}", "PASS ****"]
    assert "PROT P" in ftps.commands
    assert leftovers(ftps.root) == []


def test_an_untrusted_certificate_is_refused_before_the_password_is_sent(
    ftps: FtpServer, ctx: ActionContext
) -> None:
    with pytest.raises(StepFailed) as failed:
        run_action("ftp_upload", step(ftps, tls="explicit", retries=2), ctx)
    assert "is not trusted (self-signed certificate)" in failed.value.message
    assert "name it in ca_secret" in failed.value.message
    assert not failed.value.retryable
    assert "PASS ****" not in ftps.commands
    # Told not to check (a test server), it sends.
    run_action("ftp_upload", step(ftps, tls="explicit", verify_certificate=False), ctx)
    assert (ftps.root / "members.csv").read_bytes() == CONTENT


def test_a_ca_secret_that_is_no_certificate_is_named(ftps: FtpServer, ctx: ActionContext) -> None:
    with pytest.raises(StepFailed, match="'not-a-certificate' that ca_secret names does not hold"):
        run_action("ftp_upload", step(ftps, tls="explicit", ca_secret="not-a-certificate"), ctx)


def test_a_server_without_tls_is_refused_when_tls_is_asked(
    ftp: FtpServer, ctx: ActionContext
) -> None:
    with pytest.raises(StepFailed, match=r"does not offer FTPS \(AUTH TLS\)") as failed:
        run_action("ftp_upload", step(ftp, tls="explicit"), ctx)
    assert "PASS ****" not in ftp.commands
    assert not failed.value.retryable


def test_a_wrong_password_fails_in_words_without_the_password(
    ftp: FtpServer, ctx: ActionContext, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(StepFailed) as failed:
        run_action("ftp_upload", step(ftp, password_secret="wrong-password", retries=3), ctx)
    assert "refused the login of 'transfer': check the user name and the password" in (
        failed.value.message
    )
    assert not failed.value.retryable
    assert "not-the-password" not in failed.value.message + caplog.text


def test_a_missing_folder_is_named(ftp: FtpServer, ctx: ActionContext) -> None:
    with pytest.raises(StepFailed, match=r"The folder '/nowhere' does not exist on 127\.0\.0\.1"):
        run_action("ftp_upload", step(ftp, folder="/nowhere"), ctx)


def test_a_folder_it_may_not_write_leaves_no_temporary_file(
    ftp: FtpServer, ctx: ActionContext
) -> None:
    (ftp.root / "sub").mkdir()
    (ftp.root / "sub" / "members.csv").mkdir()  # a folder in the way of the rename
    with pytest.raises(StepFailed, match=r"refused to rename it 'members\.csv'"):
        run_action("ftp_upload", step(ftp, folder="sub"), ctx)
    assert leftovers(ftp.root) == []


def test_a_refused_connection_is_retried_then_fails_as_retryable(ctx: ActionContext) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    logged: list[str] = []
    ctx.log = logged.append
    params = {"host": "127.0.0.1", "port": port, "file": "members.csv"}
    with pytest.raises(StepFailed, match="refused the connection") as failed:
        run_action("ftp_upload", {**params, "retries": 2, "backoff_seconds": 0}, ctx)
    assert failed.value.retryable
    assert len(logged) == 2


def test_a_control_character_in_the_folder_is_refused(ftp: FtpServer, ctx: ActionContext) -> None:
    with pytest.raises(StepFailed, match="control character"):
        run_action("ftp_upload", step(ftp, folder="/in\r\nDELE members.csv"), ctx)
    assert ftp.commands == []


def test_a_missing_server_package_skips_here_and_fails_under_ci(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from servers import need_package

    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no_such_ftp_server is not available"):
        need_package("no_such_ftp_server")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        need_package("no_such_ftp_server")
