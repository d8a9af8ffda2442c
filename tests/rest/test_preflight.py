"""The checks before a run (issue 19 item 8) against the sandbox over real HTTP: each check
passing and failing as the sandbox simulates it, ``idms check`` (text and --json), and a run
refused at its start."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from idms.errors import PreflightFailed
from idms.targets.embedded.target import EmbeddedTarget
from idms.targets.imis.preflight import password_findings, role_findings

from .conftest import MANAGER, MANAGER_PASSWORD, Serve
from .support import seed_panels
from .test_cli_rest import env, idms  # noqa: F401 (env is a fixture)

NOW = datetime.now(UTC).replace(tzinfo=None)
Store = Callable[[str], EmbeddedTarget]


def test_a_well_set_account_passes(new_store: Store, serve: Serve) -> None:
    client = serve(new_store("imis")).client()
    assert role_findings(client) == []
    assert password_findings(client, now=NOW) == []


def test_a_missing_role_is_an_error_naming_it(new_store: Store, serve: Serve) -> None:
    client = serve(new_store("imis"), manager_roles=["SysAdmin"]).client()
    [finding] = role_findings(client)
    assert (finding.code, finding.severity) == ("missing-roles", "error")
    assert "RemoteService" in finding.message
    assert "SysAdmin" not in finding.message
    none = serve(new_store("other"), manager_roles=[]).client()
    assert "SysAdmin and RemoteService" in role_findings(none)[0].message


def test_roles_unreadable_on_2017_is_said(new_store: Store, serve: Serve) -> None:
    client = serve(new_store("imis"), platform="2017").client()
    [finding] = role_findings(client)
    assert (finding.code, finding.severity) == ("roles-unknown", "info")


def test_password_expiring_then_expired(new_store: Store, serve: Serve) -> None:
    soon = serve(new_store("a"), manager_password_changed=NOW - timedelta(days=80)).client()
    [warning] = password_findings(soon, now=NOW)
    assert (warning.code, warning.severity) == ("password-expiring", "warning")
    assert "in 9 days" in warning.message or "in 10 days" in warning.message
    assert password_findings(soon, now=NOW, warn_days=5) == []
    old = serve(new_store("b"), manager_password_changed=NOW - timedelta(days=95)).client()
    [error] = password_findings(old, now=NOW)
    assert (error.code, error.severity) == ("password-expired", "error")


JOB = """\
name: Profiles
input: {{file: {rows}}}
source: {source}
action: insert
mappings:
  - {{field: ImisId, column: ImisId}}
  - {{field: Specialty, column: Specialty}}
"""


def _job(tmp_path: Path, source: str) -> Path:
    rows = tmp_path / "rows.csv"
    rows.write_text("ImisId,Specialty\n101,Cardiology\n", encoding="utf-8")
    job = tmp_path / "job.yml"
    job.write_text(JOB.format(rows=rows, source=source), encoding="utf-8")
    return job


def test_idms_check_and_a_refused_run(
    new_store: Store,
    serve: Serve,
    env: dict[str, str],  # noqa: F811
    tmp_path: Path,
) -> None:
    store = new_store("imis")
    seed_panels(store)
    served = serve(store)
    account = {**env, "IDMS_IMIS_USERNAME": MANAGER, "IDMS_IMIS_PASSWORD": MANAGER_PASSWORD}
    target = ["--target", f"imis+{served.url}/"]
    job = _job(tmp_path, "Profile")

    passed = idms(account, *target, "check", "--job", str(job), "--json")
    assert passed.returncode == 0, passed.stderr
    assert json.loads(passed.stdout) == []
    text = idms(account, *target, "check")
    assert text.returncode == 0
    assert "All checks passed" in text.stdout

    kept = serve(new_store("kept"), manager_roles=["SysAdmin"], restricted=["Profile"])
    seed_panels(kept.store)
    target = ["--target", f"imis+{kept.url}/"]
    failed = idms(account, *target, "check", "--job", str(job), "--json")
    assert failed.returncode == 1, failed.stderr
    codes = {f["code"]: f for f in json.loads(failed.stdout)}
    assert set(codes) == {"missing-roles", "source-unreachable"}
    assert codes["source-unreachable"]["severity"] == "error"
    assert "'Profile'" in codes["source-unreachable"]["message"]
    assert "Available via the REST API" in codes["source-unreachable"]["action"]
    shown = idms(account, *target, "check", "--job", str(job))
    assert shown.returncode == 1
    assert "ERROR:" in shown.stdout
    assert "What to do:" in shown.stdout

    run = idms(account, *target, "run", str(job), "--yes")
    assert run.returncode == 3, run.stdout + run.stderr
    assert "was not started" in run.stderr
    assert "RemoteService" in run.stderr
    assert kept.store.read("Profile") is not None
    assert list(kept.store.read("Profile")) == []  # nothing written


def test_an_iqa_kept_from_rest(
    new_store: Store,
    serve: Serve,
    env: dict[str, str],  # noqa: F811
    tmp_path: Path,
) -> None:
    served = serve(new_store("imis"), restricted=["$/Reports/Kept"])
    account = {**env, "IDMS_IMIS_USERNAME": MANAGER, "IDMS_IMIS_PASSWORD": MANAGER_PASSWORD}
    job = tmp_path / "iqa.yml"
    job.write_text(
        "name: From an IQA\ninput: {query: $/Reports/Kept}\nsource: Contact\naction: update\n"
        "mappings:\n  - {field: ImisId, column: ImisId}\n",
        encoding="utf-8",
    )
    checked = idms(account, "--target", f"imis+{served.url}/", "check", "--job", str(job),
                   "--json")  # fmt: skip
    assert checked.returncode == 1, checked.stderr
    [finding] = json.loads(checked.stdout)
    assert finding["code"] == "iqa-unreachable"
    assert "$/Reports/Kept" in finding["message"]


def test_the_embedded_store_has_nothing_to_check(env: dict[str, str]) -> None:  # noqa: F811
    checked = idms(env, "check", "--json")
    assert checked.returncode == 0, checked.stderr
    assert [f["code"] for f in json.loads(checked.stdout)] == ["not-applicable"]


def test_a_queued_run_is_refused_when_it_starts(
    new_store: Store, serve: Serve, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from idms.config import Settings
    from idms.execution.execute import execute_run
    from idms.jobs.assemble import job_from_file
    from idms.runs.status import RunStatus
    from idms.workspace import Workspace

    store = new_store("imis")
    seed_panels(store)
    served = serve(store, manager_password_changed=NOW - timedelta(days=120))
    for name in [n for n in os.environ if n.startswith("IDMS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("IDMS_WORKSPACE", str(tmp_path / "ws"))
    monkeypatch.setenv("IDMS_TARGET", f"imis+{served.url}/")
    monkeypatch.setenv("IDMS_IMIS_USERNAME", MANAGER)
    monkeypatch.setenv("IDMS_IMIS_PASSWORD", MANAGER_PASSWORD)
    with Workspace.open(Settings.load()) as workspace:
        job = job_from_file(_job(tmp_path, "Profile"))
        with pytest.raises(PreflightFailed, match="expired"):
            workspace.run(job)  # here and now: refused before a run is recorded
        run_id = workspace.submit(job, trigger="api")  # queued: checked when it starts
        report = execute_run(workspace, run_id)
        assert report is not None
        assert report.status is RunStatus.FAILED
        assert "was not started" in (report.message or "")
        assert "expired" in (workspace.runs.get(run_id).message or "")
    assert list(store.read("Profile")) == []
