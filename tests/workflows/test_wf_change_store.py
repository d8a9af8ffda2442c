"""The embedded store's change notifications: an import notifies ``idms serve``, which starts
the matching workflows, over real HTTP.

- end to end: ``idms import`` in a process of its own, with ``IDMS_CHANGE_NOTIFY_URLS`` set to
  the change URL of a real ``idms serve`` app, starts the workflow listening to
  ``Party.Created`` once per contact created (each with its contact's id) and, importing
  again with one row changed (through the facade), the one listening to ``Party.Updated``
  once; the one listening to ``Activity.*`` never starts. The process delivers what it queued
  before it ends;
- a plan (a rehearsal) and an import that changes nothing notify nothing;
- a receiver that does not answer neither fails nor holds up an import, and its URL's token
  is never logged;
- what a write is notified as (``changes.py``): an address is part of its party, an entity is
  notified once per transaction, a refused change not at all.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner
from wf_http_support import Served, served, workflow

from idms.cli.app import app
from idms.jobs.model import Job, build_job
from idms.sources.catalog import BUILTIN_SOURCES
from idms.targets.base import ApplyResult, RowError
from idms.targets.embedded import notify
from idms.targets.embedded.changes import Written, change_of, event
from idms.targets.embedded.notify import shown_url
from idms.workflows.notifications import ChangeUrl
from idms.workspace import Workspace

IDMS = str(Path(sys.executable).with_name("idms"))
PEOPLE = [
    ("Ada", "Lovelace", "ada@example.org"),
    ("Alan", "Turing", "alan@example.org"),
    ("Grace", "Hopper", "grace@example.org"),
]
FLAGS = (
    "--source", "Contact", "--action", "insert-update", "--map", "E-mail=Email",
    "--match", "Email", "--map", "Last=LastName", "--map", "First=FirstName", "--json",
)  # fmt: skip
SOURCES = {s.name: s for s in BUILTIN_SOURCES}


def people_csv(path: Path, people: list[tuple[str, str, str]]) -> Path:
    lines = ["First,Last,E-mail", *(",".join(p) for p in people)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def import_in_a_process(api: Served, file: Path, *urls: str) -> dict[str, object]:
    """``idms import FILE`` as a user runs it: a process of its own, the URLs in its setting."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDMS_")}
    env.update(
        IDMS_WORKSPACE=str(api.workspace.settings.workspace),
        IDMS_CHANGE_NOTIFY_URLS=",".join(urls),
    )
    done = subprocess.run(
        [IDMS, "import", str(file), *FLAGS], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    answer: dict[str, object] = json.loads(done.stdout)
    return answer


def contact_job(file: Path) -> Job:
    return build_job(
        {
            "name": "People by e-mail",
            "input": str(file),
            "source": "Contact",
            "action": "insert-update",
            "mappings": [
                {"field": "Email", "column": "E-mail", "match": True},
                {"field": "LastName", "column": "Last"},
                {"field": "FirstName", "column": "First"},
            ],
        }
    )


def change_url(api: Served) -> str:
    return f"{api.base}/hooks/imis/{ChangeUrl(api.workspace).token()}"


def test_an_import_starts_the_matching_workflow_once_per_change(tmp_path: Path) -> None:
    with served(tmp_path) as api:
        for name, types in (
            ("New contacts", ["Party.Created"]),
            ("Changed contacts", ["Party.Updated"]),
            ("Activities", ["Activity.*"]),
        ):
            api.workspace.save_workflow(
                workflow(name, {"type": "change_notification", "event_types": types})
            )
        url = change_url(api)

        first = import_in_a_process(api, people_csv(tmp_path / "a.csv", PEOPLE), url)
        assert first["inserted"] == 3
        # The process ended only once its notifications were delivered: the runs are there.
        created = api.runs("New contacts")
        assert len(created) == 3
        assert api.runs("Changed contacts") == []
        assert api.runs("Activities") == []
        ids = set()
        for run in created:
            assert run.trigger == "change_notification"
            api.workspace.execute(run.id)
            [step] = api.workspace.workflow_steps(run.id)
            assert step.input["eventType"] == "Party.Created"
            assert step.input["subject"] == f"Party/{step.input['data']['Id']}"
            ids.add(step.input["data"]["Id"])
        with api.workspace.target() as store:
            stored = {r["ImisId"] for r in store.read("Contact")}
        assert ids == {str(i) for i in stored}

        changed = [PEOPLE[0], ("Alan", "Turing-Smith", "alan@example.org"), PEOPLE[2]]
        file = people_csv(tmp_path / "b.csv", changed)
        settings = api.workspace.settings.with_changes(change_notify_urls=(url,))
        with Workspace.open(settings) as workspace:  # the facade, in this process
            second = workspace.run(contact_job(file))
        counts = second.counts.as_dict()
        assert (counts["updated"], counts["unchanged"]) == (1, 2)
        notify.drain()
        [update] = api.runs("Changed contacts")
        api.workspace.execute(update.id)
        [step] = api.workspace.workflow_steps(update.id)
        with api.workspace.target() as store:
            alan = next(r for r in store.read("Contact") if r["FirstName"] == "Alan")
        assert step.input["data"]["Id"] == str(alan["ImisId"])
        assert len(api.runs("New contacts")) == 3
        assert api.runs("Activities") == []


def test_a_plan_and_an_import_that_changes_nothing_notify_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with served(tmp_path) as api:
        api.workspace.save_workflow(workflow("Any change", {"type": "change_notification"}))
        for name in [k for k in os.environ if k.startswith("IDMS_")]:
            monkeypatch.delenv(name)
        monkeypatch.setenv("IDMS_WORKSPACE", str(api.workspace.settings.workspace))
        monkeypatch.setenv("IDMS_CHANGE_NOTIFY_URLS", change_url(api))
        file = people_csv(tmp_path / "a.csv", PEOPLE)
        runner = CliRunner()
        planned = runner.invoke(app, ["import", str(file), *FLAGS, "--plan"])
        assert json.loads(planned.stdout)["inserted"] == 3
        notify.drain()
        assert api.runs("Any change") == []
        ran = runner.invoke(app, ["import", str(file), *FLAGS])
        assert json.loads(ran.stdout)["inserted"] == 3
        notify.drain()
        assert len(api.runs("Any change")) == 3
        again = runner.invoke(app, ["import", str(file), *FLAGS])
        assert json.loads(again.stdout)["unchanged"] == 3
        notify.drain()
        assert len(api.runs("Any change")) == 3


def test_a_receiver_that_does_not_answer_holds_up_no_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    token = "s3cret-token-of-the-change-url-0123456789"
    for name in [k for k in os.environ if k.startswith("IDMS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("IDMS_WORKSPACE", str(tmp_path / "ws"))
    monkeypatch.setenv("IDMS_CHANGE_NOTIFY_URLS", f"http://127.0.0.1:{port}/hooks/imis/{token}")
    caplog.set_level(logging.INFO, logger="idms.store.notify")
    started = time.monotonic()
    ran = CliRunner().invoke(app, ["import", str(people_csv(tmp_path / "a.csv", PEOPLE)), *FLAGS])
    took = time.monotonic() - started
    assert ran.exit_code == 0, ran.output
    assert json.loads(ran.stdout)["inserted"] == 3
    assert took < 10, f"the import took {took:.1f} s"
    notify.drain(timeout=1)
    logged = caplog.text
    assert f"http://127.0.0.1:{port}/hooks/imis/********" in logged
    assert "not delivered before stopping: dropped" in logged
    assert token not in logged


def test_a_bad_setting_is_refused_without_showing_the_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [k for k in os.environ if k.startswith("IDMS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("IDMS_WORKSPACE", str(tmp_path / "ws"))
    monkeypatch.setenv("IDMS_CHANGE_NOTIFY_URLS", "https://a.example/x, hooks/imis/s3cret")
    ran = CliRunner().invoke(app, ["sources"])
    assert ran.exit_code != 0
    assert "IDMS_CHANGE_NOTIFY_URLS: URL 2 does not start with http://" in ran.output
    assert "s3cret" not in ran.output


def test_what_a_write_is_notified_as() -> None:
    contact, address, activity = SOURCES["Contact"], SOURCES["Address"], SOURCES["Activity"]
    person = {"ImisId": "101", "LastName": "Lovelace"}
    home = {"ImisId": "101", "AddressPurpose": "Home", "City": "London"}
    assert change_of(contact, ApplyResult(1, True, after=person)) == ("Party", "101", "Created")
    assert change_of(contact, ApplyResult(1, True, before=person)) == ("Party", "101", "Deleted")
    assert change_of(address, ApplyResult(1, True, after=home)) == ("Party", "101", "Updated")
    assert change_of(activity, ApplyResult(1, True, before={"Seqn": 7}, after={"Seqn": 7})) == (
        "Activity",
        "7",
        "Updated",
    )
    refused = ApplyResult(1, False, error=RowError("invalid", "No."))
    assert change_of(contact, refused) is None

    written = Written()
    written.add(contact, [ApplyResult(1, True, after=person)])
    written.add(address, [ApplyResult(2, True, after=home)])  # the same party, in one go
    written.add(contact, [ApplyResult(3, True, before=person, after=person), refused])
    [created] = written.events()
    assert (created["eventType"], created["subject"]) == ("Party.Created", "Party/101")
    assert created["data"]["Id"] == "101"


def test_logs_show_a_url_without_its_token() -> None:
    assert shown_url("https://u:p@idms.example.org:8443/hooks/imis/AbCdEfGh0123456789xyz?k=v") == (
        "https://idms.example.org:8443/hooks/imis/********"
    )
    assert shown_url("http://127.0.0.1/receiver") == "http://127.0.0.1/receiver"


def test_a_full_queue_drops_with_one_line_and_never_blocks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with socket.socket() as probe:  # a port nobody listens on: nothing is ever delivered
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sender = notify.Notifier(f"http://127.0.0.1:{port}/hooks", first_wait=0.05, queue_size=2)
    caplog.set_level(logging.WARNING, logger="idms.store.notify")
    started = time.monotonic()
    sender.send([event("Party", str(i), "Created") for i in range(50)])
    assert time.monotonic() - started < 1
    sender.stop(timeout=0.2)
    assert sender.overflowed == 48
    assert sender.sent == 0
    assert caplog.text.count("the queue is full") == 1
