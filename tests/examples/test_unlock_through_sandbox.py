"""The unlock example end to end over HTTP: accounts locked by failed logins at ``/token``, the
job run through the REST target (its query through ``/api/iqa``), then the members log in."""

from __future__ import annotations

from pathlib import Path

import httpx

from idms.demo.generate import DEMO_PASSWORD, fill_demo
from idms.jobs.assemble import job_from_file
from idms.jobs.runner import run_job
from idms.jobs.undo import undo_run
from idms.queries.model import load_query_file
from idms.queries.store import QueryStore
from idms.runs.record import RunStore
from idms.sandbox.app import create_app
from idms.sandbox.server import running_sandbox
from idms.sources.filters import Filter, Operator
from idms.state.store import open_suite
from idms.targets.embedded.target import EmbeddedTarget
from idms.targets.imis.client import ImisClient
from idms.targets.imis.target import RestTarget

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "unlock-locked-out"
MANAGER_PASSWORD = "Sandbox-Manager-7"
LOCKED = "The user account is locked out."


def test_locked_accounts_are_unlocked_by_the_job_and_log_in_again(tmp_path: Path) -> None:
    store = EmbeddedTarget(f"sqlite:///{tmp_path / 'imis.db'}")
    suite = open_suite(f"sqlite:///{tmp_path / 'suite.db'}")
    try:
        fill_demo(store.engine, contacts=300, seed=4)
        store.refresh()
        queries = QueryStore(suite)
        queries.save(load_query_file(EXAMPLE / "query.yml"))
        open_users = [
            u["Username"]
            for u in store.read("UserCredentials", [Filter("IsLockedOut", Operator.IS_FALSE)])
        ][:3]
        assert len(open_users) == 3
        app = create_app(store, manager_password=MANAGER_PASSWORD, queries=queries.find_by_path)
        with running_sandbox(app) as url, httpx.Client(timeout=30) as http:

            def token(username: str, password: str) -> httpx.Response:
                form = {"grant_type": "password", "username": username, "password": password}
                return http.post(f"{url}/token", data=form)

            for username in open_users:
                assert token(username, DEMO_PASSWORD).status_code == 200
                answers = [token(username, "wrong-password") for _ in range(5)]
                assert [a.status_code for a in answers] == [400] * 5
                assert answers[-1].json()["error_description"] == LOCKED
                refused = token(username, DEMO_PASSWORD)
                assert refused.status_code == 400
                assert refused.json()["error_description"] == LOCKED
            locked = list(store.read("UserCredentials", [Filter("IsLockedOut", Operator.IS_TRUE)]))
            assert {u["Username"] for u in locked} >= set(open_users)

            with ImisClient(url, "MANAGER", MANAGER_PASSWORD) as client:
                target = RestTarget(client, "ems")
                job = job_from_file(EXAMPLE / "job.yml")
                report = run_job(
                    job,
                    target=target,
                    runs=RunStore(suite),
                    queries=queries,
                    target_label=url,
                )
                assert report.message is None, report.message
                assert report.summary()["status"] == "succeeded"
                assert report.counts.as_dict()["updated"] == report.counts.rows == len(locked)

                # Undone, the unlock says it locks nothing again, row by row, and it does not.
                undo = undo_run(report.run_id, target=target, runs=RunStore(suite))
                assert undo.counts.as_dict()["skipped"] == undo.counts.rows == len(locked)
                reasons = {r.message for r in RunStore(suite).rows(undo.run_id)}
                assert len(reasons) == 1
                assert "Locking is not supported" in reasons.pop()

            for username in open_users:
                assert token(username, DEMO_PASSWORD).status_code == 200
        assert not list(store.read("UserCredentials", [Filter("IsLockedOut", Operator.IS_TRUE)]))
    finally:
        store.close()
        suite.dispose()
