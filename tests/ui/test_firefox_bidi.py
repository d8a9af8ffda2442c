"""The relay between Playwright and Firefox (``firefox_bidi.py``), against a stand-in for
Firefox's WebDriver BiDi server: it passes commands and answers through, and answers a command
in ``ANSWERED`` itself only when Firefox says it does not know it, so a Firefox that learns the
command is heard. (The browser tests marked ``firefox`` run it against the real Firefox.)"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from firefox_bidi import relay
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve

MEDIA = "emulation.setMediaFeaturesOverride"


async def exchange(firefox_knows: set[str], commands: list[dict[str, Any]]) -> list[Any]:
    """Send ``commands`` through the relay to a stand-in Firefox knowing ``firefox_knows``."""
    received: list[dict[str, Any]] = []

    async def firefox(connection: ServerConnection) -> None:
        async for message in connection:
            command = json.loads(message)
            received.append(command)
            if command["method"] in firefox_knows:
                answer = {"type": "success", "id": command["id"], "result": {"by": "firefox"}}
            else:
                answer = {"type": "error", "id": command["id"], "error": "unknown command"}
            await connection.send(json.dumps(answer))

    async with serve(firefox, "127.0.0.1", 0) as upstream:
        firefox_url = f"ws://127.0.0.1:{upstream.sockets[0].getsockname()[1]}"
        async with serve(lambda c: relay(c, firefox_url), "127.0.0.1", 0) as between:
            port = between.sockets[0].getsockname()[1]
            async with connect(f"ws://127.0.0.1:{port}/session") as playwright:
                answers = []
                for command in commands:
                    await playwright.send(json.dumps(command))
                    answers.append(json.loads(await playwright.recv()))
    return [received, answers]


def test_the_relay_answers_only_what_firefox_does_not_know() -> None:
    commands = [
        {"id": 1, "method": "session.new", "params": {}},
        {"id": 2, "method": MEDIA, "params": {"features": {}}},
        {"id": 3, "method": "browser.close", "params": {}},
    ]
    received, answers = asyncio.run(exchange({"session.new"}, commands))
    assert [c["method"] for c in received] == ["session.new", MEDIA, "browser.close"]
    assert answers == [
        {"type": "success", "id": 1, "result": {"by": "firefox"}},
        {"type": "success", "id": 2, "result": {}},  # answered for Firefox
        {"type": "error", "id": 3, "error": "unknown command"},  # not in ANSWERED: passed on
    ]


def test_a_firefox_that_knows_the_command_is_heard() -> None:
    commands = [{"id": 7, "method": MEDIA, "params": {"features": {}}}]
    _, answers = asyncio.run(exchange({MEDIA}, commands))
    assert answers == [{"type": "success", "id": 7, "result": {"by": "firefox"}}]
