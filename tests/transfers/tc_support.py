"""What the connection-matrix tests share: a workspace whose secrets hold the file servers'
credentials (from tests/workflows/servers.py), an export folder and an SMTP server; a transfer
document for one connection and format; and the files that arrived read back into rows
(csv module, openpyxl, json), so a test compares what the receiver got with the query's rows."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from servers import PASSWORD, USER, SftpServer
from tr_support import QUERY, open_workspace

from idms.secrets import SecretStore
from idms.workspace import Workspace

FTP_SECRET = "fulfil-ftp"
SFTP_SECRET = "lms-sftp"
KEY_SECRET = "lms-key"
CA_SECRET = "fulfil-ca"


def connection_workspace(
    root: Path, *, sftp: SftpServer | None = None, smtp_port: int | None = None, **more: Any
) -> Workspace:
    """The demo workspace with the query, the servers' secrets and ``root/out`` as the one
    export folder (Write to Folder's allow-list)."""
    (root / "out").mkdir(parents=True, exist_ok=True)
    settings: dict[str, Any] = {"export_folders": (root / "out",), **more}
    if smtp_port is not None:
        settings.update(smtp_url=f"smtp://127.0.0.1:{smtp_port}", notify_from="idms@example.org")
    ws = open_workspace(root, **settings)
    secrets = SecretStore(ws.suite, ws.box)
    secrets.set(SFTP_SECRET, PASSWORD)
    secrets.set(FTP_SECRET, PASSWORD)
    if sftp is not None:
        secrets.set(KEY_SECRET, sftp.client_key_text)
    return ws


def document(
    connection: dict[str, Any],
    fmt: dict[str, Any],
    *,
    name: str = "Board export",
    file_name: str | None = None,
    delta: bool = False,
) -> dict[str, Any]:
    """A one-step transfer of the query's rows in ``fmt`` through ``connection``."""
    doc: dict[str, Any] = {
        "name": name,
        "source": {"query": QUERY},
        "format": fmt,
        "steps": [{"order": 10, "name": "Send the file", "connection": connection}],
    }
    if file_name is not None:
        doc["file_name"] = file_name
    if delta:
        doc["delta"] = {"key": "ID"}
    return doc


def sftp_connection(server: SftpServer, **more: Any) -> dict[str, Any]:
    return {
        "type": "sftp",
        "host": "127.0.0.1",
        "port": server.port,
        "username": USER,
        "password_secret": SFTP_SECRET,
        "host_key": server.fingerprint,
        "retries": 0,
        **more,
    }


def ftp_connection(kind: str, port: int, **more: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "host": "127.0.0.1",
        "port": port,
        "username": USER,
        "password_secret": FTP_SECRET,
        "retries": 0,
        **more,
    }


def expected_rows(ws: Workspace) -> list[dict[str, str]]:
    """The query's rows as text, in the query's order (what every file must hold)."""
    rows = ws.workflow_services().query_rows(QUERY, {})
    return [{k: "" if v is None else str(v) for k, v in row.items()} for row in rows]


def read_rows(data: bytes, fmt: str, *, encoding: str = "utf-8-sig", delimiter: str = ",") -> Any:
    """The rows a received file holds, as text (JSON keeps its own types: made text here)."""
    if fmt in ("csv", "tsv"):
        text = data.decode(encoding)
        return list(csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter))
    if fmt == "json":
        return [_text(r) for r in json.loads(data)]
    if fmt == "ndjson":
        return [_text(json.loads(line)) for line in data.decode().splitlines() if line]
    if fmt == "xlsx":
        import openpyxl

        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
        sheet = book.worksheets[0]
        values = [list(r) for r in sheet.iter_rows(values_only=True)]
        book.close()
        header = [str(h) for h in values[0]]
        return [_text(dict(zip(header, row, strict=True))) for row in values[1:]]
    raise AssertionError(fmt)


def _text(row: dict[str, Any]) -> dict[str, str]:
    return {k: "" if v is None else str(v) for k, v in row.items()}


def leftovers(root: Path) -> list[str]:
    """Temporary (``.part``) files left anywhere under ``root``."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if ".part" in p.name)


def only_step(ws: Workspace, name: str = "Board export") -> tuple[dict[str, Any], dict[str, Any]]:
    """The latest run's history and its one connection step's."""
    history = ws.transfer_runs(name)[0]
    [step] = history["steps"]
    return history, step
