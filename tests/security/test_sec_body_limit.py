"""Issue 14, item 10: request bodies are bounded, and refused early.

A real ``idms serve`` (a process of its own, uvicorn on loopback) with small limits
(``IDMS_SERVE_MAX_BODY=64K``, ``IDMS_SERVE_MAX_UPLOAD=4M``) is sent bodies over a plain socket,
so that the test controls what is sent when:

- a body whose ``Content-Length`` passes the limit is refused (413, the limit named) before a
  byte of it is sent;
- a chunked body is refused as soon as it passes the limit, the rest never read: a 300 MiB one
  leaves the server's peak memory where it was (it took ~1.4 GB before);
- an upload is written to the workspace while it arrives (its file grows on disk before the
  body has ended), and one over its limit is refused with nothing kept.

The sandbox takes the same middleware: its limit is checked on a sandbox of its own.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from idms.sandbox.app import create_app
from idms.sandbox.server import running_sandbox
from idms.targets.embedded.target import EmbeddedTarget

IDMS = str(Path(sys.executable).with_name("idms"))
MIB = 1024 * 1024
MAX_BODY = 64 * 1024
MAX_UPLOAD = 4 * MIB


@dataclass
class Served:
    host: str
    port: int
    token: str
    pid: int
    workspace: Path

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    def peak_mib(self) -> float:
        """The server process's peak resident memory so far (VmHWM), in MiB."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        raise AssertionError("no VmHWM")

    def connect(self) -> socket.socket:
        sock = socket.create_connection((self.host, self.port), timeout=30)
        return sock

    def head(self, path: str, *headers: str) -> bytes:
        lines = [
            f"POST {path} HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            f"Authorization: Bearer {self.token}",
            *headers,
        ]
        return ("\r\n".join(lines) + "\r\n\r\n").encode()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    if not Path("/proc/self/status").exists():
        pytest.skip("reads the server's memory from /proc (Linux)")
    root = tmp_path_factory.mktemp("body-limit")
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDMS_")}
    env.update(
        IDMS_WORKSPACE=str(root / "ws"),
        IDMS_SERVE_MAX_BODY="64K",
        IDMS_SERVE_MAX_UPLOAD="4M",
    )
    made = subprocess.run(
        [IDMS, "token", "create", "tests", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    token = json.loads(made.stdout)["token"]
    log = root / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [IDMS, "serve", "--port", "0"], env=env, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 60
        while not (
            line := next(
                (
                    ln
                    for ln in log.read_text(errors="replace").splitlines()
                    if ln.startswith("idms serve:")
                ),
                "",
            )
        ):
            assert process.poll() is None, log.read_text(errors="replace")
            assert time.monotonic() < deadline, "idms serve did not start"
            time.sleep(0.1)
        host, port = line.split()[2].removeprefix("http://").split("/")[0].rsplit(":", 1)
        yield Served(host, int(port), token, process.pid, root / "ws")
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


def read_answer(sock: socket.socket, timeout: float = 15) -> tuple[int, dict[str, str], bytes]:
    """The status, headers and body of the answer on ``sock`` (read until it closes or the
    body is complete)."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        more = sock.recv(65536)
        assert more, f"the connection closed before an answer: {data!r}"
        data += more
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines)}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        more = sock.recv(65536)
        if not more:
            break
        body += more
    return int(status_line.split()[1]), headers, body


def send_chunks(sock: socket.socket, total: int, chunk: bytes) -> int:
    """Send ``total`` bytes of ``chunk`` repeated, chunked, until done or the server answers or
    closes; the bytes sent."""
    framed = b"%x\r\n" % len(chunk) + chunk + b"\r\n"
    sock.setblocking(False)
    sent = 0
    try:
        while sent < total:
            view = memoryview(framed)
            while view:
                try:
                    view = view[sock.send(view) :]
                except BlockingIOError:
                    if _answered(sock):
                        return sent
                    time.sleep(0.001)
            sent += len(chunk)
        while True:
            try:
                sock.send(b"0\r\n\r\n")
                break
            except BlockingIOError:
                time.sleep(0.001)
    except (BrokenPipeError, ConnectionResetError):
        pass
    finally:
        sock.setblocking(True)
    return sent


def _answered(sock: socket.socket) -> bool:
    try:
        return bool(sock.recv(1, socket.MSG_PEEK))
    except BlockingIOError:
        return False
    except OSError:
        return True


def test_a_body_whose_length_passes_the_limit_is_refused_before_it_is_sent(
    served: Served,
) -> None:
    with served.connect() as sock:
        sock.sendall(
            served.head(
                "/api/v1/runs", "Content-Type: application/json", f"Content-Length: {600 * MIB}"
            )
        )
        status, headers, body = read_answer(sock)  # not a byte of the body was sent
        assert status == 413
        assert headers["connection"] == "close"
        answer = json.loads(body)
        assert answer["error"] is True
        assert "The request is too large: at most 64 KiB is accepted" in answer["message"]
        assert "POST /api/v1/uploads" in answer["message"]
        sock.settimeout(15)
        assert sock.recv(65536) == b""  # closed: the body is not waited for
    # A body within the limit is read (and found invalid: not too large).
    job = {"name": "x" * (60 * 1024), "source": "Contact", "action": "insert", "mappings": []}
    answer = httpx.post(
        f"{served.base}/api/v1/runs",
        json=job,
        headers={"Authorization": f"Bearer {served.token}"},
        timeout=30,
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["message"].startswith("Job '")


def test_a_chunked_body_is_refused_as_it_passes_the_limit_and_memory_stays_flat(
    served: Served,
) -> None:
    before = served.peak_mib()
    with served.connect() as sock:
        sock.sendall(
            served.head(
                "/api/v1/runs", "Content-Type: application/json", "Transfer-Encoding: chunked"
            )
        )
        sent = send_chunks(sock, 300 * MIB, b"[" + b"1," * (MIB // 2 - 1) + b"1")
        status, _, body = read_answer(sock)
    assert status == 413
    assert "at most 64 KiB" in json.loads(body)["message"]
    assert sent < 64 * MIB, f"{sent / MIB:.0f} MiB were taken before the refusal"
    grown = served.peak_mib() - before
    assert grown < 40, f"the server's peak memory grew by {grown:.0f} MiB"


def _multipart_head(boundary: str, name: str) -> bytes:
    return (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()


def test_an_upload_is_written_to_disk_as_it_arrives(served: Served) -> None:
    uploads = served.workspace / "uploads"
    boundary = "idms-test-boundary"
    rows = b"Last,E-mail\n" + b"Lovelace,ada@example.org\n" * (3 * MIB // 25)
    head = _multipart_head(boundary, "big.csv")
    tail = f"\r\n--{boundary}--\r\n".encode()
    first, rest = rows[: 2 * MIB], rows[2 * MIB :]
    with served.connect() as sock:
        sock.sendall(
            served.head(
                "/api/v1/uploads",
                f"Content-Type: multipart/form-data; boundary={boundary}",
                f"Content-Length: {len(head) + len(rows) + len(tail)}",
            )
            + head
            + first
        )
        deadline = time.monotonic() + 30
        while sum(p.stat().st_size for p in uploads.glob("*.csv")) < MIB:
            assert time.monotonic() < deadline, "nothing of the upload reached the disk"
            time.sleep(0.05)
        sock.sendall(rest + tail)
        status, _, body = read_answer(sock)
    assert status == 201, body
    info = json.loads(body)
    assert (info["size"], info["columns"]) == (len(rows), ["Last", "E-mail"])
    assert (uploads / f"{info['id']}.csv").read_bytes() == rows


def test_an_upload_over_its_limit_is_refused_and_nothing_is_kept(served: Served) -> None:
    uploads = served.workspace / "uploads"
    kept = set(uploads.iterdir()) if uploads.exists() else set()
    auth = {"Authorization": f"Bearer {served.token}"}
    over = b"A\n" + b"1\n" * (MAX_UPLOAD // 2)  # the file passes 4 MiB, the body does not
    answer = httpx.post(
        f"{served.base}/api/v1/uploads",
        files={"file": ("over.csv", over, "text/csv")},
        headers=auth,
        timeout=60,
    )
    assert answer.status_code == 413, answer.text
    assert "larger than the 4 MiB an upload may be" in answer.json()["message"]
    with served.connect() as sock:  # the body itself passes the limit: refused unread
        sock.sendall(
            served.head(
                "/api/v1/uploads",
                "Content-Type: multipart/form-data; boundary=b",
                f"Content-Length: {MAX_UPLOAD + MIB}",
            )
        )
        status, _, body = read_answer(sock)
    assert status == 413
    assert "at most 4 MiB is accepted for an upload" in json.loads(body)["message"]
    assert set(uploads.iterdir()) == kept


# ---- the sandbox ------------------------------------------------------------------------------


def test_the_sandbox_refuses_bodies_over_its_limit(tmp_path: Path) -> None:
    target = EmbeddedTarget(f"sqlite:///{tmp_path / 'imis.db'}")
    try:
        app = create_app(target, manager_password="manager1", max_body=MAX_BODY)
        with running_sandbox(app) as base:
            host, port = base.removeprefix("http://").rsplit(":", 1)
            with socket.create_connection((host, int(port)), timeout=30) as sock:
                sock.sendall(
                    (
                        f"POST /token HTTP/1.1\r\nHost: {host}\r\n"
                        "Content-Type: application/x-www-form-urlencoded\r\n"
                        f"Content-Length: {100 * MIB}\r\n\r\n"
                    ).encode()
                )
                status, _, body = read_answer(sock)
            assert status == 413
            assert "at most 64 KiB" in json.loads(body)["Message"]
            with socket.create_connection((host, int(port)), timeout=30) as sock:
                sock.sendall(
                    (
                        f"POST /token HTTP/1.1\r\nHost: {host}\r\n"
                        "Content-Type: application/x-www-form-urlencoded\r\n"
                        "Transfer-Encoding: chunked\r\n\r\n"
                    ).encode()
                )
                sent = send_chunks(sock, 100 * MIB, b"username=" + b"a" * (MIB - 9))
                status, _, body = read_answer(sock)
            assert status == 413
            assert sent < 64 * MIB
            small = httpx.post(f"{base}/token", data={"grant_type": "password"}, timeout=30)
            assert small.status_code == 400  # read: a refusal of iMIS, not of its size
    finally:
        target.close()
