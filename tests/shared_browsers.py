"""The browsers of one pytest process (one pytest-xdist worker): a Playwright and, started when a
test first asks for it, one browser of each kind, kept from one browser test module to the next
(a Firefox takes seconds to start). Contexts stay the tests' own (``browser_page``: no cookies,
no storage shared between tests).

While Playwright's sync API runs, its event loop holds the thread, and an ``asyncio.run`` in the
thread would fail: so all of them are closed before a test of another file that does not use a
browser (``close_for``, called by the root conftest before every test), and at the end of the
session. The first browser test after that starts them again."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


class Browsers:
    def __init__(self) -> None:
        self._playwright: Any = None
        self._open: dict[str, Any] = {}
        self._path: Path | None = None  # the file of the last test given a browser

    def get(self, kind: str, path: Path, launch: Callable[[Any], Any]) -> Any:
        """The browser of this kind, started by ``launch(playwright)`` if it is not running;
        ``path`` is the file of the test that asks."""
        self._path = path
        if kind in self._open and not self._open[kind].is_connected():
            del self._open[kind]  # it crashed or was closed in an earlier test: a new one
        if kind not in self._open:
            if self._playwright is None:
                from playwright.sync_api import sync_playwright

                self._playwright = sync_playwright().start()
            self._open[kind] = launch(self._playwright)
        return self._open[kind]

    def close_for(self, item: pytest.Item) -> None:
        """Close the browsers before ``item`` unless it uses one or is in the file of the test
        that last did (its module's browser stays open for it, as a module fixture would)."""
        uses = "browser" in getattr(item, "fixturenames", ())
        if self._playwright is not None and not uses and item.path != self._path:
            self.close()

    def close(self) -> None:
        try:
            for browser in self._open.values():
                browser.close()
        finally:
            self._open.clear()
            if self._playwright is not None:
                playwright, self._playwright = self._playwright, None
                playwright.stop()


BROWSERS = pytest.StashKey[Browsers]()
