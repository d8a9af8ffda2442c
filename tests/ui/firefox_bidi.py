"""Stock Firefox for Playwright: a launcher that stands between Playwright and Firefox's own
WebDriver BiDi server and answers the one command this Firefox lacks.

Playwright drives a stock Firefox (not its patched build, which cannot be downloaded here)
through WebDriver BiDi: ``playwright.firefox.launch(channel="moz-firefox", executable_path=...)``
starts the executable with ``--remote-debugging-port=0``, reads ``WebDriver BiDi listening on
ws://...`` from its output and connects there. Playwright 1.65 sends
``emulation.setMediaFeaturesOverride`` (to pass on ``color_scheme``) when it opens every context;
Firefox ESR 153 does not know that command yet, so every ``new_context`` failed. This program is
given to Playwright as the executable: it starts Firefox with the same arguments, relays its
output, and announces a WebSocket relay of its own instead of Firefox's. The relay passes every
message through unchanged, except the commands in ``ANSWERED``, which it answers itself with an
empty success (the tests set no colour scheme, so there is nothing to emulate). Once a Firefox
knows those commands, its answer is used: the relay only answers for Firefox when Firefox itself
said "unknown command".

Usage (Playwright does it): ``python firefox_bidi.py /usr/bin/firefox-esr [firefox arguments]``.
It ends when Firefox ends, with Firefox's exit status.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import sys
from collections.abc import Coroutine
from typing import Any

from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

ANSWERED = frozenset({"emulation.setMediaFeaturesOverride"})
SUCCESS = {"type": "success", "result": {}}
LISTENING = re.compile(rb"WebDriver BiDi listening on (ws://\S+)")


async def relay(client: ServerConnection, upstream_base: str) -> None:
    """One Playwright connection, relayed to Firefox's BiDi server on the same path."""
    path = client.request.path if client.request is not None else "/session"
    pending: dict[int, str] = {}  # command id -> method, for the commands in ANSWERED
    async with connect(upstream_base + path, max_size=None, compression=None) as firefox:

        async def to_firefox() -> None:
            async for message in client:  # ends when Playwright closes
                if isinstance(message, str) and any(m in message for m in ANSWERED):
                    command = json.loads(message)
                    if command.get("method") in ANSWERED:
                        pending[command["id"]] = command["method"]
                await firefox.send(message)

        async def to_playwright() -> None:
            async for message in firefox:
                if pending and isinstance(message, str):
                    answer = json.loads(message)
                    if answer.get("id") in pending:
                        pending.pop(answer["id"])
                        if answer.get("error") == "unknown command":
                            message = json.dumps(SUCCESS | {"id": answer["id"]})
                await client.send(message)

        pumps = (to_firefox(), to_playwright())
        tasks = [asyncio.create_task(quietly(pump)) for pump in pumps]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            task.cancel()


async def quietly(pump: Coroutine[Any, Any, None]) -> None:
    """A pump ends when either side closes its connection; that is no error."""
    with contextlib.suppress(ConnectionClosed):
        await pump


async def main(firefox: str, arguments: list[str]) -> int:
    process = await asyncio.create_subprocess_exec(
        firefox, *arguments, stderr=asyncio.subprocess.PIPE
    )
    assert process.stderr is not None
    server = None
    out = sys.stderr.buffer
    while line := await process.stderr.readline():
        found = LISTENING.search(line) if server is None else None
        if found:
            upstream = found.group(1).decode("ascii")
            server = await serve(
                lambda client, up=upstream: relay(client, up),
                "127.0.0.1",
                0,
                max_size=None,
                compression=None,
            )
            port = server.sockets[0].getsockname()[1]
            line = line.replace(found.group(1), f"ws://127.0.0.1:{port}".encode("ascii"))
        out.write(line)
        out.flush()
    status = await process.wait()
    if server is not None:
        server.close()
    return status


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1], sys.argv[2:])))
