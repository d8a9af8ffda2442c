"""iMIS change notifications (Azure Event Grid) starting workflows, over real HTTP.

- the event types a workflow listens to match as iDMS says (``Party.Updated``, ``Activity.*``,
  none: every event), without case;
- ``POST /hooks/imis/{token}`` answers Event Grid's subscription validation (the event, or the
  ``aeg-event-type`` header) with ``{"validationResponse": CODE}``, refuses an unknown or
  regenerated URL (401) and a body that is not events (400), and starts every active workflow
  whose event types match (a disabled one: none), with the full record when asked;
- end to end: ``idms sandbox --notify URL``'s app and ``idms serve``'s, each on loopback: a
  Party updated through the sandbox's REST API verifies the URL, then starts the workflow, whose
  run executes with the event (and the record) as its input. The sandbox's store sends them
  (tests/workflows/test_wf_change_store.py tests the store's notifications of an import).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner
from wf_http_support import Served, served, workflow

from idms.cli.app import app
from idms.config import Settings
from idms.demo.generate import fill_demo
from idms.errors import InvalidInputError
from idms.sandbox.app import create_app
from idms.sandbox.server import running_sandbox
from idms.targets.embedded.changes import event, validation_event
from idms.targets.embedded.notify import Notifier
from idms.targets.embedded.target import EmbeddedTarget
from idms.targets.imis import wire
from idms.workflows.model import WorkflowState
from idms.workflows.notifications import ChangeUrl, matches, parse_events
from idms.workspace import Workspace

MANAGER = "manager-secret-1"
IDMS = str(Path(sys.executable).with_name("idms"))


@pytest.mark.parametrize(
    ("listening", "event_type", "taken"),
    [
        ([], "Party.Updated", True),
        (["Party.Updated"], "Party.Updated", True),
        (["party.updated"], "Party.Updated", True),
        (["Party.Updated"], "Party.Created", False),
        (["Activity.*"], "Activity.Deleted", True),
        (["Activity.*"], "ActivityType.Created", False),
        (["Party.Created", "Activity.*"], "Activity.Created", True),
        (["Event.*"], "Party.Updated", False),
    ],
)
def test_event_types_match_as_idms_says(listening: list[str], event_type: str, taken: bool) -> None:
    assert matches(listening, event_type) is taken


def test_a_body_that_is_not_events_is_refused_with_where() -> None:
    with pytest.raises(InvalidInputError) as raised:
        parse_events([{"eventType": "Party.Updated"}, 3, {"id": "x"}])
    assert raised.value.message == (
        "The change notification is not in the Event Grid schema: [1]: an event is an object "
        "(id, eventType, subject, data); [2].eventType: missing (an event type is Entity.Action)"
    )
    [single] = parse_events(event("Party", "101", "Updated"))  # one event, not in an array
    assert single.entity_id() == "101"


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Served]:
    with served(tmp_path) as server:
        yield server


def listening(api: Served, name: str, **trigger: Any) -> None:
    api.workspace.save_workflow(workflow(name, {"type": "change_notification", **trigger}))


def test_the_validation_handshake(api: Served) -> None:
    path = f"/hooks/imis/{ChangeUrl(api.workspace).token()}"
    answer = api.open.post(path, json=[validation_event("6E513A74-CE5E")])
    assert answer.status_code == 200
    assert answer.json() == {"validationResponse": "6E513A74-CE5E"}
    by_header = api.open.post(
        path,
        json=[{"id": "1", "eventType": "Other", "data": {"validationCode": "C0DE"}}],
        headers={"aeg-event-type": "SubscriptionValidation"},
    )
    assert by_header.json() == {"validationResponse": "C0DE"}


def test_an_unknown_or_regenerated_url_is_401_and_a_bad_body_400(api: Served) -> None:
    urls = ChangeUrl(api.workspace)
    old = f"/hooks/imis/{urls.token()}"
    assert urls.token() == old.rsplit("/", 1)[1]  # kept, not made again
    assert api.open.post("/hooks/imis/unknown", json=[]).status_code == 401
    new = f"/hooks/imis/{urls.regenerate()}"
    assert api.open.post(old, json=[validation_event("X")]).status_code == 401
    assert api.open.post(new, json=[validation_event("X")]).status_code == 200
    bad = api.open.post(new, content=b"not json", headers={"Content-Type": "application/json"})
    assert bad.status_code == 400
    assert bad.json()["message"] == "Invalid JSON body: Event Grid events are expected."
    shapeless = api.open.post(new, json=[{"id": "1"}])
    assert shapeless.status_code == 400
    assert "[0].eventType: missing" in shapeless.json()["message"]


def test_every_matching_active_workflow_starts(api: Served) -> None:
    listening(api, "Contacts", event_types=["Party.Updated"])
    listening(api, "Activities", event_types=["Activity.*"])
    listening(api, "Everything")
    listening(api, "Paused", event_types=["Party.Updated"])
    api.workspace.set_workflow_state("Paused", WorkflowState.DISABLED)
    path = f"/hooks/imis/{ChangeUrl(api.workspace).token()}"
    updated = event("Party", "101", "Updated")
    answer = api.open.post(path, json=[updated], headers={"aeg-event-type": "Notification"})
    assert answer.status_code == 200, answer.text
    started = {r["workflow"] for r in answer.json()["runs"]}
    assert started == {"Contacts", "Everything"}
    assert api.runs("Activities") == []
    assert api.runs("Paused") == []
    [run] = api.runs("Contacts")
    assert run.trigger == "change_notification"
    api.workspace.execute(run.id)
    [step] = api.workspace.workflow_steps(run.id)
    assert step.input["eventType"] == "Party.Updated"
    assert step.input["data"]["Id"] == "101"
    assert "record" not in step.input


# ---- end to end: the sandbox notifies idms serve ----------------------------------------------


def test_a_party_updated_through_the_sandbox_starts_the_workflow(tmp_path: Path) -> None:
    with served(tmp_path) as api:
        store_url = api.workspace.settings.store_url
        store = EmbeddedTarget(store_url)
        try:
            fill_demo(store.engine, contacts=20, seed=5)
            api.workspace.save_workflow(
                workflow(
                    "On contact change",
                    {
                        "type": "change_notification",
                        "event_types": ["Party.Updated"],
                        "include_full_record": True,
                        "metadata_property": "http",
                    },
                )
            )
            url = f"{api.base}/hooks/imis/{ChangeUrl(api.workspace).token()}"
            notifier = Notifier(url, first_wait=0.05).start()
            store.notify_to(notifier)  # the sandbox's changes are notified by its store
            sandbox = create_app(store, manager_password=MANAGER)
            try:
                with running_sandbox(sandbox) as base, httpx.Client(base_url=base) as imis:
                    assert notifier.verified.wait(10), "the URL was not verified"
                    token = imis.post(
                        "/token",
                        data={"grant_type": "password", "username": "MANAGER", "password": MANAGER},
                    ).json()["access_token"]
                    auth = {"Authorization": f"Bearer {token}"}
                    people = imis.get("/api/Person", params={"limit": 1}, headers=auth).json()
                    ident = people["Items"]["$values"][0]["Id"]
                    party = imis.get(f"/api/Party/{ident}", headers=auth).json()
                    party["PersonName"]["FirstName"] = "Renamed"
                    put = imis.put(f"/api/Party/{ident}", json=party, headers=auth)
                    assert put.status_code == 200, put.text
                    runs = wait_for_runs(api, "On contact change", 1)
            finally:
                notifier.stop()
            [run] = runs
            assert run.trigger == "change_notification"
            api.workspace.execute(run.id)
            assert api.workspace.runs.get(run.id).status == "succeeded"
            [step] = api.workspace.workflow_steps(run.id)
            given = step.input
            assert given["eventType"] == "Party.Updated"
            assert given["subject"] == f"Party/{ident}"
            assert given["record"]["ImisId"] == str(ident)
            assert given["record"]["FirstName"] == "Renamed"
            assert given["http"]["headers"]["aeg-event-type"] == "Notification"
        finally:
            store.close()


def wait_for_runs(api: Served, name: str, count: int, timeout: float = 20) -> list[Any]:
    deadline = time.monotonic() + timeout
    while True:
        runs = api.runs(name)
        if len(runs) >= count:
            return runs
        assert time.monotonic() < deadline, f"{name}: {len(runs)} runs, not {count}"
        time.sleep(0.05)


def test_the_cli_shows_and_regenerates_the_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [k for k in os.environ if k.startswith("IDMS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("IDMS_WORKSPACE", str(tmp_path / "ws"))
    runner = CliRunner()
    shown = runner.invoke(app, ["workflow", "change-url", "--base", "https://idms.example.org/"])
    assert shown.exit_code == 0, shown.stderr
    url = shown.stdout.strip()
    assert url.startswith("https://idms.example.org/hooks/imis/")
    again = runner.invoke(app, ["workflow", "change-url", "--json"])
    assert json.loads(again.stdout)["url"].rsplit("/", 1)[1] == url.rsplit("/", 1)[1]
    new = runner.invoke(app, ["workflow", "change-url", "--regenerate"])
    assert new.exit_code == 0
    token = new.stdout.strip().rsplit("/", 1)[1]
    assert token != url.rsplit("/", 1)[1]
    assert "the old one is refused" in new.stderr
    with Workspace.open(Settings(workspace=tmp_path / "ws")) as workspace:
        urls = ChangeUrl(workspace)
        assert urls.accepts(token)
        assert not urls.accepts(url.rsplit("/", 1)[1])


def test_idms_sandbox_notify_end_to_end(tmp_path: Path) -> None:
    """The command itself: ``idms sandbox --notify URL`` in a process of its own."""
    with served(tmp_path) as api:
        store = EmbeddedTarget(api.workspace.settings.store_url)
        try:
            fill_demo(store.engine, contacts=5, seed=9)
        finally:
            store.close()
        listening(api, "Any change")
        url = f"{api.base}/hooks/imis/{ChangeUrl(api.workspace).token()}"
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("IDMS_")}
        env.update(
            IDMS_WORKSPACE=str(api.workspace.settings.workspace), IDMS_SANDBOX_PASSWORD=MANAGER
        )
        log = tmp_path / "sandbox.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [IDMS, "sandbox", "--port", str(port), "--notify", url],
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    token = httpx.post(
                        f"{base}/token",
                        data={"grant_type": "password", "username": "MANAGER", "password": MANAGER},
                    ).json()["access_token"]
                    break
                except httpx.TransportError:
                    assert process.poll() is None, log.read_text(errors="replace")
                    assert time.monotonic() < deadline, "the sandbox did not start"
                    time.sleep(0.2)
            auth = {"Authorization": f"Bearer {token}"}
            body = {
                "$type": wire.contract("PersonData"),
                "PersonName": {
                    "$type": wire.contract("PersonNameData"),
                    "FirstName": "Ada",
                    "LastName": "Lovelace",
                },
            }
            answer = httpx.post(f"{base}/api/Person", json=body, headers=auth)
            assert answer.status_code == 201, answer.text
            ident = answer.json()["Id"]
            [run] = wait_for_runs(api, "Any change", 1, timeout=30)
            api.workspace.execute(run.id)
            [step] = api.workspace.workflow_steps(run.id)
            assert step.input["eventType"] == "Party.Created"
            assert step.input["data"]["Id"] == str(ident)
            assert f"Change notifications to: {url}" in log.read_text(errors="replace")
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait()


def test_a_redelivered_event_starts_no_second_run(api: Served) -> None:
    """Event Grid delivers at least once: the same event id again gets the first run."""
    listening(api, "Contacts", event_types=["Party.*"])
    path = f"/hooks/imis/{ChangeUrl(api.workspace).token()}"
    created = event("Party", "7", "Created")
    first = api.open.post(path, json=[created]).json()["runs"]
    again = api.open.post(path, json=[created, event("Party", "8", "Created")]).json()["runs"]
    assert again[0] == first[0]
    assert again[1]["id"] != first[0]["id"]
    assert len(api.runs("Contacts")) == 2
