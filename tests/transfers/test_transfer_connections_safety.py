"""The transfer's promises beyond delivery, against the real SFTP and FTPS servers: a server
whose host key changed is refused (the run fails naming the key it saw, no delta hash is kept,
and after re-pinning the next run sends every row); no password or private key in any log, run
record, step, the suite database's bytes or the API's answer; a templated file name arriving
as rendered, saved and run through the command line; and docs/transfers.md's examples valid
as written."""

from __future__ import annotations

import datetime
import json
import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from servers import PASSWORD, FtpServer, SftpServer, ftp_server, sftp_server
from tc_support import (
    CA_SECRET,
    KEY_SECRET,
    connection_workspace,
    document,
    expected_rows,
    ftp_connection,
    leftovers,
    read_rows,
    sftp_connection,
)
from tr_support import served
from typer.testing import CliRunner

from idms.cli.app import app
from idms.config import SUITE_FILE
from idms.runs.status import RunStatus
from idms.secrets import SecretStore
from idms.transfers.compile import check_transfer
from idms.transfers.model import CONNECTION_TYPES, TransferInvalid

DOCS = Path(__file__).parents[2] / "docs" / "transfers.md"


@pytest.fixture
def sftp(tmp_path: Path) -> Iterator[SftpServer]:
    with sftp_server(tmp_path / "sftp") as server:
        yield server


def test_a_changed_host_key_is_refused_then_all_rows_go_after_re_pinning(tmp_path: Path) -> None:
    root = tmp_path / "sftp"
    with sftp_server(root) as before:
        pinned = before.fingerprint  # the key the transfer was set up with
    with sftp_server(root) as server:  # the same server, its key since replaced
        assert server.fingerprint != pinned
        ws = connection_workspace(tmp_path, sftp=server)
        try:
            connection = sftp_connection(server, host_key=pinned)
            ws.save_transfer(document(connection, {"format": "csv"}, file_name="m.csv", delta=True))
            refused = ws.run_transfer("Board export")
            assert refused.status == RunStatus.FAILED
            assert refused.message is not None
            assert server.fingerprint in refused.message
            assert list(root.iterdir()) == []  # nothing sent, not even a temporary file
            assert server.logins == []  # refused before the password was offered
            assert ws.transfer_service.hashes("Board export").count() == 0
            [history] = ws.transfer_runs("Board export")
            [step] = history["steps"]
            assert (step["status"], step["rows"], history["rows_sent"]) == ("failed", 0, 0)
            assert server.fingerprint in (step["message"] or "")

            connection["host_key"] = server.fingerprint  # checked with the receiver: re-pinned
            ws.save_transfer(document(connection, {"format": "csv"}, file_name="m.csv", delta=True))
            sent = ws.run_transfer("Board export")
            assert sent.status == RunStatus.SUCCEEDED, sent.message
            expected = expected_rows(ws)
            assert read_rows((root / "m.csv").read_bytes(), "csv") == expected
            assert ws.transfer_runs("Board export")[0]["rows_sent"] == len(expected)
            assert ws.transfer_service.hashes("Board export").count() == len(expected)
        finally:
            ws.close()


def _haystacks(ws_root: Path, caplog: pytest.LogCaptureFixture) -> str:
    """Every byte of the suite database (and its journal) as text, and the captured logs."""
    files = [p for p in ws_root.iterdir() if p.name.startswith(SUITE_FILE)]
    assert files, "the suite database was not found"
    data = b"".join(p.read_bytes() for p in files)
    return data.decode("latin-1") + caplog.text


def _key_lines(private_key: str) -> list[str]:
    """The lines of an OpenSSH private key that carry key material (not the armour)."""
    return [line for line in private_key.splitlines() if line and not line.startswith("-----")]


@pytest.mark.parametrize("login", ["password", "private key"])
def test_no_sftp_password_or_key_is_kept_anywhere(
    tmp_path: Path, sftp: SftpServer, login: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    ws = connection_workspace(tmp_path, sftp=sftp)
    try:
        connection = sftp_connection(sftp)
        if login == "private key":
            del connection["password_secret"]
            connection["private_key_secret"] = KEY_SECRET
        ws.save_transfer(document(connection, {"format": "csv"}, file_name="m.csv"))
        good = ws.run_transfer("Board export")
        assert good.status == RunStatus.SUCCEEDED, good.message
        assert sftp.logins == [("transfer", "password" if login == "password" else "publickey")]
        SecretStore(ws.suite, ws.box).set("lms-sftp", "a-wrong-one")  # a failing run too
        SecretStore(ws.suite, ws.box).set(KEY_SECRET, sftp.encrypted_client_key("pass-phr4se"))
        bad = ws.run_transfer("Board export")
        assert bad.status == RunStatus.FAILED
        records = json.dumps(
            [
                [ws.runs.get(r.id).as_dict() for r in (good, bad)],
                [s.as_dict() for r in (good, bad) for s in ws.workflow_steps(r.id)],
                ws.transfer_runs("Board export"),
                ws.export_transfer("Board export"),
            ],
            default=str,
        )
    finally:
        ws.close()
    with served(tmp_path) as api:
        answer = api.client.get("/api/v1/transfers/Board export/runs")
        assert answer.status_code == 200
        assert len(answer.json()) == 2
        api_text = answer.text
    secrets = [PASSWORD, "pass-phr4se", *_key_lines(sftp.client_key_text)]
    haystack = records + api_text + _haystacks(tmp_path / "ws", caplog)
    assert sftp.fingerprint in records
    assert "m.csv" in api_text
    for secret in secrets:
        assert secret not in haystack


def test_no_ftps_password_is_kept_anywhere(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with ftp_server(tmp_path / "ftps", tls=True) as ftps:
        ws = connection_workspace(tmp_path)
        try:
            assert ftps.certificate is not None
            SecretStore(ws.suite, ws.box).set(CA_SECRET, ftps.certificate)
            connection = ftp_connection("ftps", ftps.port, ca_secret=CA_SECRET)
            ws.save_transfer(document(connection, {"format": "csv"}, file_name="o.csv"))
            good = ws.run_transfer("Board export")
            assert good.status == RunStatus.SUCCEEDED, good.message
            SecretStore(ws.suite, ws.box).set("fulfil-ftp", "Wr0ng-Passw0rd-Here")
            bad = ws.run_transfer("Board export")
            assert bad.status == RunStatus.FAILED
            records = json.dumps(
                [
                    [ws.runs.get(r.id).as_dict() for r in (good, bad)],
                    [s.as_dict() for r in (good, bad) for s in ws.workflow_steps(r.id)],
                    ws.transfer_runs("Board export"),
                ],
                default=str,
            )
        finally:
            ws.close()
    assert_ftp_clean(ftps)
    with served(tmp_path) as api:
        api_text = api.client.get("/api/v1/transfers/Board export/runs").text
    haystack = records + api_text + _haystacks(tmp_path / "ws", caplog)
    assert "o.csv" in api_text
    assert "o.csv" in records
    for secret in (PASSWORD, "Wr0ng-Passw0rd-Here"):
        assert secret not in haystack


def assert_ftp_clean(ftps: FtpServer) -> None:
    assert (ftps.root / "o.csv").exists()
    assert leftovers(ftps.root) == []


TEMPLATED = """\
name: Board export
source: {query: Members for the LMS}
format: {format: csv}
file_name: 'members-{{ now | date: "%Y%m%d" }}.csv'
steps:
  - order: 10
    name: Upload to the board
    connection:
      type: sftp
      host: 127.0.0.1
      port: PORT
      username: transfer
      password_secret: lms-sftp
      host_key: "FINGERPRINT"
      folder: /incoming
      retries: 0
"""


def test_a_templated_file_name_arrives_rendered_through_the_command_line(
    tmp_path: Path, sftp: SftpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    (sftp.root / "incoming").mkdir()
    connection_workspace(tmp_path, sftp=sftp).close()
    for name in [k for k in os.environ if k.startswith("IDMS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("IDMS_WORKSPACE", str(tmp_path / "ws"))
    monkeypatch.setenv("COLUMNS", "250")
    text = TEMPLATED.replace("PORT", str(sftp.port)).replace("FINGERPRINT", sftp.fingerprint)
    (tmp_path / "board.yml").write_text(text, encoding="utf-8")
    runner = CliRunner()

    def idms(*args: str) -> str:
        result = runner.invoke(app, ["transfer", *args])
        assert result.exit_code == 0, (args, result.stdout, result.stderr)
        return result.stdout

    idms("save", str(tmp_path / "board.yml"))
    days = {datetime.datetime.now(datetime.UTC).strftime("%Y%m%d")}
    ran = json.loads(idms("run", "Board export", "--json"))
    days.add(datetime.datetime.now(datetime.UTC).strftime("%Y%m%d"))  # past midnight meanwhile
    assert ran["status"] == "succeeded", ran
    [arrived] = list((sftp.root / "incoming").iterdir())
    assert arrived.name in {f"members-{day}.csv" for day in days}
    rows = read_rows(arrived.read_bytes(), "csv")
    [history] = json.loads(idms("runs", "Board export", "--json"))
    [step] = history["steps"]
    assert step["remote_path"] == f"/incoming/{arrived.name}"
    assert (step["status"], step["rows"], history["rows_sent"]) == ("succeeded", len(rows), 8)
    assert step["bytes"] == arrived.stat().st_size
    assert history["file_name"] == arrived.name
    shown = idms("runs", "Board export")
    assert "10 Upload to the board (sftp) succeeded" in shown
    assert PASSWORD not in shown + json.dumps(history)


def _yaml_blocks() -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", DOCS.read_text(encoding="utf-8"), flags=re.S)


def test_every_yaml_example_of_the_transfer_page_is_valid() -> None:
    blocks = _yaml_blocks()
    assert len(blocks) >= 3
    types: set[str] = set()
    for block in blocks:
        example = yaml.safe_load(block)
        if "name" not in example:  # connection steps: checked in a transfer of their own
            example = {"name": "docs", "source": {"query": "Members"}, **example}
        doc = check_transfer(example)
        types |= {step.connection.type for step in doc.steps}
    assert types == set(CONNECTION_TYPES)


@pytest.mark.parametrize(
    "file_name", ["orders.txt", "orders-{{ now | date: '%Y%m%d' }}.csv"], ids=["plain", "templated"]
)
def test_a_file_name_of_another_format_is_refused_when_saved(file_name: str) -> None:
    example = document({"type": "folder", "folder": "/x"}, {"format": "ndjson"})
    with pytest.raises(TransferInvalid) as refused:
        check_transfer({**example, "file_name": file_name})
    assert refused.value.problems == [
        f"file_name: The file name {file_name} ends in .{file_name.rsplit('.', 1)[1]} but the "
        "format is ndjson: name it ….ndjson or change the format."
    ]
    check_transfer({**example, "file_name": file_name.rsplit(".", 1)[0] + ".jsonl"})  # NDJSON's
