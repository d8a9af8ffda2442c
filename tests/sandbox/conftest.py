"""Fixtures for the sandbox tests: a demo store made once, copied per test, served over HTTP.

The template store holds ``idms demo`` data (300 contacts, seed 3) and two users with known
passwords (:data:`ADA` and :data:`BOB`). Each test gets its own copy of the file, its own app
(``create_app``) and a real uvicorn server on a free port (``running_sandbox``).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from sandbox_support import ADA, BOB, CONTACTS, MANAGER_PASSWORD, PASSWORD, Api, Known, Serve

from idms.demo.generate import fill_demo
from idms.sandbox.app import create_app
from idms.sandbox.server import running_sandbox
from idms.targets.base import Change, ChangeKind
from idms.targets.embedded.target import EmbeddedTarget


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Known]:
    path = tmp_path_factory.mktemp("sandbox-template") / "imis.db"
    target = EmbeddedTarget(f"sqlite:///{path}")
    try:
        fill_demo(target.engine, contacts=CONTACTS, seed=3)
        with_login = {r["ImisId"] for r in target.read("UserCredentials")}
        candidates = [
            r["ImisId"]
            for r in target.read("Contact", order_by=["ImisId"])
            if r["Email"] and not r["IsOrganization"] and r["ImisId"] not in with_login
        ]
        ada_id, bob_id, spare_id = candidates[:3]
        results = target.apply(
            "UserCredentials",
            [
                Change(
                    ChangeKind.INSERT, {"ImisId": ada_id, "Username": ADA, "Password": PASSWORD}
                ),
                Change(
                    ChangeKind.INSERT, {"ImisId": bob_id, "Username": BOB, "Password": PASSWORD}
                ),
            ],
        )
        assert all(r.ok for r in results), results
    finally:
        target.close()  # the last connection checkpoints the WAL into the file
    return path, Known(ada_id, bob_id, spare_id)


@pytest.fixture
def known(template: tuple[Path, Known]) -> Known:
    return template[1]


@pytest.fixture
def store(template: tuple[Path, Known], tmp_path: Path) -> Iterator[EmbeddedTarget]:
    path = tmp_path / "imis.db"
    shutil.copyfile(template[0], path)
    target = EmbeddedTarget(f"sqlite:///{path}")
    try:
        yield target
    finally:
        target.close()


@pytest.fixture
def serve(store: EmbeddedTarget) -> Iterator[Serve]:
    """``serve(**create_app options)``: the store served over HTTP, stopped after the test."""
    with ExitStack() as stack:

        def start(**options: Any) -> Api:
            options.setdefault("manager_password", MANAGER_PASSWORD)
            app = create_app(store, **options)
            base = stack.enter_context(running_sandbox(app))
            api = Api(base, app, store)
            stack.callback(api.close)
            return api

        yield start


@pytest.fixture
def api(serve: Serve) -> Api:
    """The store served as iMIS EMS at the site root."""
    return serve()


@pytest.fixture(scope="module")
def reader(template: tuple[Path, Known], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """One sandbox shared by a module's tests that only read (they must never write)."""
    path = tmp_path_factory.mktemp("sandbox-reader") / "imis.db"
    shutil.copyfile(template[0], path)
    target = EmbeddedTarget(f"sqlite:///{path}")
    with ExitStack() as stack:
        stack.callback(target.close)
        app = create_app(target, manager_password=MANAGER_PASSWORD)
        api = Api(stack.enter_context(running_sandbox(app)), app, target)
        stack.callback(api.close)
        yield api
