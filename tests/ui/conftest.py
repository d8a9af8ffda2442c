"""The web UI under test: a workspace of its own, the real app served by uvicorn on a free port
in a thread, httpx clients that sign in as a browser does, and a real Chromium driven by
Playwright (Debian's ``chromium``; no browser download)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from firefox_launch import launch_firefox
from ui_support import ADMIN, EDITOR, VIEWER, Site

from idms.config import Settings
from idms.sandbox.server import running_sandbox
from idms.server.app import create_server_app
from idms.workspace import Workspace
from services import need_service
from shared_browsers import BROWSERS, Browsers

CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
FIREFOX_PATHS = ("/usr/bin/firefox-esr", "/usr/bin/firefox")


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


def executable(variable: str, paths: tuple[str, ...], name: str) -> str | None:
    for path in (os.environ.get(variable), *paths, shutil.which(name)):
        if path and Path(path).is_file():
            return path
    return None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "firefox: a browser test that runs in Firefox too (the UI's main flows)"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every browser test runs in Chromium; those marked ``firefox`` run in Firefox as well, the
    same test code (Playwright drives both)."""
    if "browser_page" in metafunc.fixturenames:
        firefox = metafunc.definition.get_closest_marker("firefox") is not None
        kinds = ["chromium", "firefox"] if firefox else ["chromium"]
        metafunc.parametrize("browser_kind", kinds, indirect=True, scope="module")


@pytest.fixture(scope="module")
def browser_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest.fixture(scope="session")
def browsers(request: pytest.FixtureRequest) -> Iterator[Browsers]:
    """This process's browsers (``shared_browsers``): started once, not per test module."""
    shared = Browsers()
    request.session.stash[BROWSERS] = shared
    try:
        yield shared
    finally:
        del request.session.stash[BROWSERS]
        shared.close()


@pytest.fixture
def browser(
    browser_kind: str,
    browsers: Browsers,
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
) -> Any:
    """A headless browser (the system's), shared by the tests of this process (each test has a
    context of its own: ``browser_page``); skipped where there is none, but under CI=true a
    missing browser fails the tests that need it. Chromium is driven over CDP; Firefox over
    WebDriver BiDi (``firefox_launch``)."""
    if browser_kind == "firefox":
        path = executable("IDMS_TEST_FIREFOX", FIREFOX_PATHS, "firefox")
        if path is None:
            need_service("Firefox", "no firefox executable (apt-get install firefox-esr)")
    else:
        path = executable("IDMS_TEST_CHROMIUM", CHROMIUM_PATHS, "chromium")
        if path is None:
            need_service("Chromium", "no chromium executable (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        need_service("Playwright", "the playwright package is not installed")

    found: str = path

    def launch(playwright: Any) -> Any:
        if browser_kind == "firefox":
            return launch_firefox(playwright, found, tmp_path_factory.mktemp("firefox"))
        return playwright.chromium.launch(executable_path=found, headless=True)

    return browsers.get(browser_kind, request.path, launch)


@pytest.fixture
def browser_page(browser: Any) -> Iterator[Any]:
    """A fresh browser context (no cookies) and page at 1280x800, the size the UI is made for."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def running_site(workspace: Workspace) -> Iterator[Site]:
    """The site with an executor: a run queued from a page is executed at once (in the
    dispatcher's thread), as under ``idms serve``."""
    from idms.execution.executors import InlineExecutor

    app = create_server_app(workspace, InlineExecutor(workspace))
    try:
        with running_sandbox(app) as base:
            yield Site(workspace, base)
    finally:
        app.state.idms.close()
