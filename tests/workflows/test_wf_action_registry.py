"""The registry of actions imports an action's module only when a step names it: a run pays for
the client libraries of its own actions only (an export to SFTP does not import the HTTP client,
a workflow of gates and waits imports neither asyncssh nor httpx), while listing every action
still finds every module of the package."""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import idms.workflows.actions as package
from idms.workflows.actions import MODULES, ActionRegistry, actions
from idms.workflows.actions.base import ActionSpec


def test_every_action_module_is_listed_under_its_own_name() -> None:
    """What the old import-everything scan found: the modules defining ``ACTION``."""
    found: dict[str, str] = {}
    for info in pkgutil.iter_modules(package.__path__):
        if info.name == "base" or info.name.startswith("_"):
            continue
        spec = getattr(importlib.import_module(f"{package.__name__}.{info.name}"), "ACTION", None)
        if isinstance(spec, ActionSpec):
            found[info.name] = spec.name
    assert sorted(found) == sorted(MODULES)
    assert all(name == module for module, name in found.items())
    listed = {name: actions()[name] for name in MODULES}
    assert all(spec.name == name for name, spec in listed.items())


def test_names_are_known_without_importing_and_specs_come_on_demand() -> None:
    registry = ActionRegistry(package.__name__, ("gate", "wait"))
    assert list(registry) == ["gate", "wait"]
    assert len(registry) == 2
    assert "gate" in registry
    assert "nope" not in registry
    assert registry.get("nope") is None
    with pytest.raises(KeyError):
        registry["nope"]
    assert registry["gate"].name == "gate"
    assert registry["gate"] is registry["gate"]
    extra = ActionSpec("extra", "Extra", "a test action", registry["wait"].params, lambda *a: None)
    registry["extra"] = extra
    assert list(registry) == ["gate", "wait", "extra"]
    assert registry["extra"] is extra
    assert registry.pop("extra") is extra
    assert "extra" not in registry
    del registry["wait"]
    assert list(registry) == ["gate"]


def test_a_module_without_its_action_is_refused() -> None:
    registry = ActionRegistry(package.__name__, ("rowsets",))  # a helper module, not an action
    with pytest.raises(LookupError, match="no action named 'rowsets'"):
        registry["rowsets"]


def _imported_after(code: str, tmp_path: Path) -> dict[str, bool]:
    """Run ``code`` in a fresh interpreter; which heavy modules it then holds."""
    script = textwrap.dedent(code) + textwrap.dedent(
        """
        import json, sys
        watched = ["asyncssh", "httpx", "aioftp", "idms.workflows.actions.sftp_upload",
                   "idms.workflows.actions.http_request", "idms.workflows.actions.ftp_upload",
                   "idms.workflows.actions.send_email"]
        print(json.dumps({name: name in sys.modules for name in watched}))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, bool] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_a_run_imports_only_the_actions_its_steps_name(tmp_path: Path) -> None:
    held = _imported_after(
        f"""
        from idms.config import Settings
        from idms.runs.status import RunStatus
        from idms.workspace import Workspace

        with Workspace.open(Settings.load(workspace={str(tmp_path / "ws")!r}, environ={{}})) as ws:
            ws.save_workflow({{"name": "Two", "steps": [
                {{"id": "first", "action": "gate"}},
                {{"id": "then", "action": "wait", "with": {{"seconds": 0}}}},
            ]}})
            result = ws.run_workflow("Two", {{}})
            assert result.status == RunStatus.SUCCEEDED, result.message
        """,
        tmp_path,
    )
    assert not any(held.values()), held


def test_a_file_written_from_the_store_imports_no_http_or_ssh_client(tmp_path: Path) -> None:
    """Convert reading a saved query opens the embedded store, whose change notifications are
    sent with httpx: imported only when there is a URL to notify."""
    held = _imported_after(
        f"""
        from idms.config import Settings
        from idms.queries.model import build_query
        from idms.runs.status import RunStatus
        from idms.workspace import Workspace

        with Workspace.open(Settings.load(workspace={str(tmp_path / "ws")!r}, environ={{}})) as ws:
            query = {{"name": "Everyone", "from": "Contact", "columns": {{"ID": "ImisId"}}}}
            ws.queries.save(build_query(query))
            ws.save_workflow({{"name": "File", "steps": [
                {{"id": "file", "action": "convert", "with": {{"input": {{"query": "Everyone"}}}}}},
            ]}})
            result = ws.run_workflow("File", {{}})
            assert result.status == RunStatus.SUCCEEDED, result.message
            assert ws.workflow_steps(result.id)[0].output["rows"] == 0
        """,
        tmp_path,
    )
    assert not any(held.values()), held


def test_listing_the_actions_names_them_all_but_imports_none(tmp_path: Path) -> None:
    held = _imported_after(
        """
        from idms.workflows.actions import actions
        assert "sftp_upload" in actions() and "http_request" in sorted(actions())
        """,
        tmp_path,
    )
    assert not any(held.values()), held
    held = _imported_after(
        """
        from idms.workflows.actions import actions
        assert actions()["sftp_upload"].label == "SFTP Upload"
        """,
        tmp_path,
    )
    assert held["asyncssh"]
    assert held["idms.workflows.actions.sftp_upload"]
    assert not held["idms.workflows.actions.http_request"]
