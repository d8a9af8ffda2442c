"""The memory a large request body costs ``idms serve``: one chunked POST of SIZE MiB (600 by
default) to ``/api/v1/runs``, and the server process's peak resident memory (VmHWM) before and
after it.

    python bench/bench_body_memory.py [SIZE_MIB]

It starts ``idms serve --port 0`` (the ``idms`` next to this Python) in a workspace of its own,
makes a token, sends the body in 1 MiB chunks over a plain socket without a Content-Length (so
the server cannot refuse it by its announced size), stops sending when the server answers, and
prints what it answered and the peak memory. Linux only (/proc).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

IDMS = str(Path(sys.executable).with_name("idms"))
CHUNK = 1024 * 1024


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def main(size_mib: int) -> None:
    with tempfile.TemporaryDirectory() as root:
        env = {k: v for k, v in os.environ.items() if not k.startswith("IDMS_")}
        env["IDMS_WORKSPACE"] = str(Path(root) / "ws")
        made = subprocess.run(
            [IDMS, "token", "create", "bench", "--json"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        token = json.loads(made.stdout)["token"]
        log = Path(root) / "serve.log"
        with log.open("wb") as out:
            server = subprocess.Popen(
                [IDMS, "serve", "--port", "0"], env=env, stdout=out, stderr=subprocess.STDOUT
            )
        try:
            deadline = time.monotonic() + 60
            while "idms serve:" not in log.read_text(errors="replace"):
                assert time.monotonic() < deadline, log.read_text(errors="replace")
                time.sleep(0.1)
            line = next(ln for ln in log.read_text().splitlines() if ln.startswith("idms serve:"))
            host, port = line.split()[2].removeprefix("http://").split("/")[0].rsplit(":", 1)
            before = peak_rss_mib(server.pid)
            answer, sent, seconds = post_chunked(host, int(port), token, size_mib)
            time.sleep(0.5)
            after = peak_rss_mib(server.pid)
            print(f"body offered: {size_mib} MiB, sent before the answer: {sent} MiB")
            print(f"answer: {answer!r} after {seconds:.1f} s")
            print(f"server peak RSS: {before:.0f} MiB before, {after:.0f} MiB after")
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)


def post_chunked(host: str, port: int, token: str, size_mib: int) -> tuple[str, int, float]:
    """Send the body chunk by chunk until done or the server answers; its status line, the
    MiB sent, the seconds taken."""
    started = time.monotonic()
    sock = socket.create_connection((host, port))
    sock.sendall(
        (
            "POST /api/v1/runs HTTP/1.1\r\n"
            f"Host: {host}:{port}\r\n"
            f"Authorization: Bearer {token}\r\n"
            "Content-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n\r\n"
        ).encode()
    )
    chunk = b"%x\r\n" % CHUNK + b'{"a":' + b"1" * (CHUNK - 5) + b"\r\n"
    sock.setblocking(False)
    sent = 0
    answer = b""
    try:
        for sent in range(1, size_mib + 1):  # noqa: B007
            view = memoryview(chunk)
            while view:
                try:
                    view = view[sock.send(view) :]
                except BlockingIOError:
                    time.sleep(0.001)
                with contextlib.suppress(BlockingIOError):
                    answer += sock.recv(65536)
                if answer:
                    raise StopIteration
        sock.sendall(b"0\r\n\r\n")
    except (StopIteration, BrokenPipeError, ConnectionResetError):
        pass
    sock.setblocking(True)
    sock.settimeout(600)
    try:
        while b"\r\n" not in answer:
            more = sock.recv(65536)
            if not more:
                break
            answer += more
    except OSError:
        pass
    sock.close()
    return answer.split(b"\r\n", 1)[0].decode(errors="replace"), sent, time.monotonic() - started


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 600)
