"""The web UI under test: a workspace of its own, the real app served by uvicorn on a free port
in a thread, httpx clients that sign in as a browser does, and a real Chromium driven by
Playwright (Debian's ``chromium``; no browser download)."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from idms.config import Settings
from idms.sandbox.server import running_sandbox
from idms.server.app import create_server_app
from idms.workspace import Workspace
from services import need_service

ADMIN = ("ann", "ann's long password")
VIEWER = ("victor", "victor's long password")
EDITOR = ("eddie", "eddie's long password")
CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser")


@dataclass
class Site:
    """A running server: its workspace and base URL."""

    workspace: Workspace
    base: str

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base, timeout=30, follow_redirects=False)

    @contextmanager
    def signed_in(self, name: str, password: str) -> Iterator[httpx.Client]:
        """A client holding a session, signed in through the sign-in form."""
        with self.client() as client:
            answer = sign_in(client, name, password)
            assert answer.status_code == 303, answer.text
            yield client


def form_token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no csrf_token field on the page"
    return found.group(1)


def sign_in(client: httpx.Client, name: str, password: str, **extra: str) -> httpx.Response:
    token = form_token(client.get("/signin").text)
    data = {"name": name, "password": password, "csrf_token": token, **extra}
    return client.post("/signin", data=data)


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    workspace = Workspace.open(Settings(workspace=tmp_path / "ws"))
    try:
        yield workspace
    finally:
        workspace.close()


@pytest.fixture
def site(workspace: Workspace) -> Iterator[Site]:
    with running_sandbox(create_server_app(workspace, None)) as base:
        yield Site(workspace, base)


@pytest.fixture
def people(workspace: Workspace) -> dict[str, tuple[str, str]]:
    """An admin, an editor and a viewer, made through the facade."""
    workspace.add_user(*ADMIN[:1], "admin", ADMIN[1])
    workspace.add_user(EDITOR[0], "editor", EDITOR[1])
    workspace.add_user(VIEWER[0], "viewer", VIEWER[1])
    return {"admin": ADMIN, "editor": EDITOR, "viewer": VIEWER}


def chromium_path() -> str | None:
    for path in (os.environ.get("IDMS_TEST_CHROMIUM"), *CHROMIUM_PATHS, shutil.which("chromium")):
        if path and Path(path).is_file():
            return path
    return None


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """A headless Chromium (the system's), for one test module; skipped where there is none,
    but under CI=true a missing browser fails the tests that need it. Module-scoped: while
    Playwright's sync API runs, its event loop holds the main thread, and a later test's
    ``asyncio.run`` would fail."""
    path = chromium_path()
    if path is None:
        need_service("Chromium", "no chromium executable (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        need_service("Playwright", "the playwright package is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def browser_page(chromium: Any) -> Iterator[Any]:
    """A fresh browser context (no cookies) and page at 1280x800, the size the UI is made for."""
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()
