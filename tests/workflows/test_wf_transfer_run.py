"""The transfer actions in a real run of the workspace (Convert, then SFTP Upload, FTP Upload
and Write to Folder, as a scheduled export does): the files arrive whole, and the passwords are
nowhere in what the run keeps (its steps' inputs and outputs, its message, the suite database)
or logs."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from servers import PASSWORD, USER, FtpServer, SftpServer, ftp_server, sftp_server

from idms.config import Settings
from idms.runs.status import RunStatus
from idms.secrets import open_secrets
from idms.workspace import Workspace

ROWS = [
    {"ID": str(100 + n), "Name": f"Member {n}", "Email": f"m{n}@example.org"} for n in range(50)
]


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[tuple[SftpServer, FtpServer]]:
    with sftp_server(tmp_path / "sftp") as sftp, ftp_server(tmp_path / "ftp", tls=True) as ftp:
        yield sftp, ftp


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    exports = tmp_path / "exports"
    exports.mkdir()
    settings = Settings.load(workspace=tmp_path / "ws", environ={})
    ws = Workspace.open(settings.with_changes(export_folders=(exports.resolve(),)))
    yield ws
    ws.close()


def test_an_export_sent_three_ways_keeps_no_password(
    workspace: Workspace,
    servers: tuple[SftpServer, FtpServer],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sftp, ftp = servers
    assert ftp.certificate
    with open_secrets(workspace.settings) as secrets:
        secrets.set("board-sftp", PASSWORD)
        secrets.set("warehouse-ftp", PASSWORD)
        secrets.set("warehouse-ca", ftp.certificate)
    workspace.save_workflow(
        {
            "name": "Nightly export",
            "steps": [
                {"id": "csv", "action": "convert", "with": {"input": "{{ input.rows }}"}},
                {
                    "id": "sftp",
                    "action": "sftp_upload",
                    "with": {
                        "host": "127.0.0.1",
                        "port": sftp.port,
                        "username": USER,
                        "password_secret": "board-sftp",
                        "host_key": sftp.fingerprint,
                        "file": "{{ steps.csv }}",
                    },
                },
                {
                    "id": "ftp",
                    "action": "ftp_upload",
                    "with": {
                        "host": "127.0.0.1",
                        "port": ftp.port,
                        "username": USER,
                        "password_secret": "warehouse-ftp",
                        "ca_secret": "warehouse-ca",
                        "file": "{{ steps.csv }}",
                        "file_name": "members-{{ input.day }}.csv",
                    },
                },
                {
                    "id": "folder",
                    "action": "write_file",
                    "with": {"folder": "board", "create_folder": True, "file": "{{ steps.csv }}"},
                },
            ],
        }
    )
    caplog.set_level(logging.DEBUG)
    run = workspace.run_workflow("Nightly export", {"rows": ROWS, "day": "2026-12-03"})
    assert run.status == RunStatus.SUCCEEDED, run.message

    sent = (workspace.settings.workspace / "runs").rglob("csv.csv")
    (made,) = list(sent)
    content = made.read_bytes()
    assert content.count(b"\r\n") == 51
    assert (sftp.root / "csv.csv").read_bytes() == content
    assert (ftp.root / "members-2026-12-03.csv").read_bytes() == content
    assert (tmp_path / "exports" / "board" / "csv.csv").read_bytes() == content

    steps = {s.step_id: s for s in workspace.workflow_steps(run.id)}
    assert steps["sftp"].output["host_key"] == sftp.fingerprint
    assert steps["ftp"].output["remote_path"] == "members-2026-12-03.csv"
    kept = json.dumps([s.as_dict() for s in steps.values()], default=str) + str(run.message)
    assert PASSWORD not in kept
    assert PASSWORD not in caplog.text
    stored = b"".join(f.read_bytes() for f in workspace.settings.workspace.glob("suite.db*"))
    assert sftp.fingerprint.encode() in stored, "the steps' outputs are kept here"
    assert PASSWORD.encode() not in stored
