"""Every connection of a transfer in at least two formats, saved and run through the facade
against real servers on loopback (asyncssh SFTP, pyftpdlib FTP and FTPS, aiosmtpd, an HTTP
receiver, a local folder): the bytes that arrived read back (csv module, openpyxl, json) and
compared with the query's rows, no temporary ``.part`` name left, and the run history saying
what each step sent (rows, bytes, remote path, status, response code)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from servers import FtpServer, SftpServer, ftp_server, sftp_server
from tc_support import (
    CA_SECRET,
    KEY_SECRET,
    connection_workspace,
    document,
    expected_rows,
    ftp_connection,
    leftovers,
    only_step,
    read_rows,
    sftp_connection,
)
from tr_support import receiver, smtp_server

from idms.runs.status import RunStatus
from idms.secrets import SecretStore
from idms.targets.embedded.target import EmbeddedTarget
from idms.workspace import Workspace


def rename(ws: Workspace, last_name: str) -> None:
    """Give the first contact ``last_name`` in the store (as iMIS would)."""
    store = EmbeddedTarget.from_settings(ws.settings)
    try:
        with store.engine.begin() as conn:
            conn.execute(
                sa.text("UPDATE contacts SET last_name = :n WHERE imis_id = '1'"), {"n": last_name}
            )
    finally:
        store.close()


@pytest.fixture
def sftp(tmp_path: Path) -> Iterator[SftpServer]:
    with sftp_server(tmp_path / "sftp") as server:
        yield server


@pytest.fixture
def ftp(tmp_path: Path) -> Iterator[FtpServer]:
    with ftp_server(tmp_path / "ftp") as server:
        yield server


@pytest.fixture
def ftps(tmp_path: Path) -> Iterator[FtpServer]:
    with ftp_server(tmp_path / "ftps", tls=True) as server:
        yield server


@pytest.mark.parametrize(
    ("fmt", "login"), [("csv", "password"), ("xlsx", "publickey")], ids=["csv", "xlsx"]
)
def test_sftp_receives_the_rows_in_each_format(
    tmp_path: Path, sftp: SftpServer, fmt: str, login: str
) -> None:
    (sftp.root / "incoming").mkdir()
    ws = connection_workspace(tmp_path, sftp=sftp)
    try:
        connection = sftp_connection(sftp, folder="/incoming")
        if login == "publickey":
            del connection["password_secret"]
            connection["private_key_secret"] = KEY_SECRET
        ws.save_transfer(document(connection, {"format": fmt}, file_name=f"members.{fmt}"))
        run = ws.run_transfer("Board export")
        assert run.status == RunStatus.SUCCEEDED, run.message
        arrived = (sftp.root / "incoming" / f"members.{fmt}").read_bytes()
        expected = expected_rows(ws)
        assert read_rows(arrived, fmt) == expected
        assert leftovers(sftp.root) == []
        assert sftp.logins == [("transfer", login)]
        history, step = only_step(ws)
        assert history["rows_sent"] == len(expected) == step["rows"]
        assert (step["type"], step["status"]) == ("sftp", "succeeded")
        assert step["bytes"] == len(arrived) == history["file_bytes"]
        assert step["remote_path"] == f"/incoming/members.{fmt}"
        assert step["response_code"] is None
    finally:
        ws.close()


@pytest.mark.parametrize(
    ("fmt", "passive"), [("tsv", True), ("json", False)], ids=["tsv-passive", "json-active"]
)
def test_ftp_receives_the_rows_in_each_format(
    tmp_path: Path, ftp: FtpServer, fmt: str, passive: bool
) -> None:
    (ftp.root / "in").mkdir()
    ws = connection_workspace(tmp_path)
    try:
        connection = ftp_connection("ftp", ftp.port, folder="/in", passive=passive)
        ws.save_transfer(document(connection, {"format": fmt}, file_name=f"orders.{fmt}"))
        run = ws.run_transfer("Board export")
        assert run.status == RunStatus.SUCCEEDED, run.message
        arrived = (ftp.root / "in" / f"orders.{fmt}").read_bytes()
        expected = expected_rows(ws)
        assert read_rows(arrived, fmt, delimiter="\t") == expected
        assert leftovers(ftp.root) == []
        assert ("PASV" if passive else "PORT") in {c.split()[0] for c in ftp.commands}
        _, step = only_step(ws)
        assert (step["type"], step["status"], step["rows"]) == ("ftp", "succeeded", len(expected))
        assert step["bytes"] == len(arrived)
        assert step["remote_path"] == f"/in/orders.{fmt}"
    finally:
        ws.close()


@pytest.mark.parametrize(
    "fmt",
    [{"format": "csv", "encoding": "cp1252", "delimiter": ";"}, {"format": "ndjson"}],
    ids=["csv-cp1252", "ndjson"],
)
def test_ftps_receives_the_rows_over_explicit_tls(
    tmp_path: Path, ftps: FtpServer, fmt: dict[str, str]
) -> None:
    ws = connection_workspace(tmp_path)
    try:
        assert ftps.certificate is not None
        SecretStore(ws.suite, ws.box).set(CA_SECRET, ftps.certificate)
        rename(ws, "Müller-Søgaard")  # a name cp1252 holds, in one byte per letter
        connection = ftp_connection("ftps", ftps.port, ca_secret=CA_SECRET)
        name = f"orders.{fmt['format']}"
        ws.save_transfer(document(connection, fmt, file_name=name))
        run = ws.run_transfer("Board export")
        assert run.status == RunStatus.SUCCEEDED, run.message
        arrived = (ftps.root / name).read_bytes()
        rows = read_rows(
            arrived,
            fmt["format"],
            encoding=fmt.get("encoding", "utf-8-sig"),
            delimiter=fmt.get("delimiter", ","),
        )
        assert rows == expected_rows(ws)
        assert "Müller-Søgaard".encode(fmt.get("encoding", "utf-8")) in arrived
        assert "AUTH TLS" in ftps.commands
        assert leftovers(ftps.root) == []
        _, step = only_step(ws)
        assert (step["type"], step["status"]) == ("ftps", "succeeded")
        assert (step["bytes"], step["remote_path"]) == (len(arrived), name)
    finally:
        ws.close()


@pytest.mark.parametrize("fmt", ["csv", "ndjson"])
def test_a_folder_receives_the_rows_in_each_format(tmp_path: Path, fmt: str) -> None:
    ws = connection_workspace(tmp_path)
    try:
        connection = {"type": "folder", "folder": "drop", "create_folder": True}
        ws.save_transfer(document(connection, {"format": fmt}, file_name=f"members.{fmt}"))
        run = ws.run_transfer("Board export")
        assert run.status == RunStatus.SUCCEEDED, run.message
        arrived = (tmp_path / "out" / "drop" / f"members.{fmt}").read_bytes()
        expected = expected_rows(ws)
        assert read_rows(arrived, fmt) == expected
        assert leftovers(tmp_path / "out") == []
        _, step = only_step(ws)
        assert (step["type"], step["status"], step["rows"]) == (
            "folder",
            "succeeded",
            len(expected),
        )
        assert step["bytes"] == len(arrived)
        assert step["remote_path"] == f"drop/members.{fmt}"
    finally:
        ws.close()


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_email_carries_the_file_as_an_attachment(tmp_path: Path, fmt: str) -> None:
    with smtp_server() as (mailbox, port):
        ws = connection_workspace(tmp_path, smtp_port=port)
        try:
            connection = {"type": "email", "to": ["orders@example.org"]}
            ws.save_transfer(document(connection, {"format": fmt}, file_name=f"orders.{fmt}"))
            run = ws.run_transfer("Board export")
            assert run.status == RunStatus.SUCCEEDED, run.message
            [envelope] = mailbox.envelopes
            assert envelope.rcpt_tos == ["orders@example.org"]
            [attachment] = list(mailbox.message().iter_attachments())
            assert attachment.get_filename() == f"orders.{fmt}"
            arrived = attachment.get_payload(decode=True)
            assert isinstance(arrived, bytes)
            expected = expected_rows(ws)
            assert read_rows(arrived, fmt) == expected
            _, step = only_step(ws)
            assert (step["type"], step["status"], step["rows"]) == ("email", "succeeded", 8)
            assert step["bytes"] == len(arrived)
            assert step["remote_path"] is None
        finally:
            ws.close()


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_http_receives_the_file_as_the_body(tmp_path: Path, fmt: str) -> None:
    with receiver() as http:
        ws = connection_workspace(tmp_path)
        try:
            connection = {"type": "http", "url": f"{http.url}/in", "retries": 0}
            ws.save_transfer(document(connection, {"format": fmt}, file_name=f"m.{fmt}"))
            run = ws.run_transfer("Board export")
            assert run.status == RunStatus.SUCCEEDED, run.message
            [sent] = http.on("/in")
            expected = expected_rows(ws)
            assert read_rows(sent.body, fmt) == expected
            content_type = {"csv": "text/csv", "json": "application/json"}[fmt]
            assert sent.headers["content-type"].startswith(content_type)
            _, step = only_step(ws)
            assert (step["type"], step["status"], step["rows"]) == ("http", "succeeded", 8)
            assert (step["requests"], step["response_code"]) == (1, 200)
            assert step["bytes"] == len(sent.body)
        finally:
            ws.close()
