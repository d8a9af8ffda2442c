"""A transfer run end to end, on the workflow runner, against a real HTTP receiver and a real
SMTP server on loopback: the nightly pattern (every row, then only the changed ones, then
none), a failed upload sent again in full by the next run, the failure-branch step and the
alert e-mail, the history of what each step sent, and no secret in any record."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from tr_support import (
    TOKEN,
    Receiver,
    change_email,
    csv_ids,
    open_workspace,
    receiver,
    smtp_server,
    transfer,
)

from idms.runs.status import RunStatus
from idms.workspace import Workspace


@pytest.fixture
def http() -> Iterator[Receiver]:
    with receiver() as found:
        yield found


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    ws = open_workspace(tmp_path)
    yield ws
    ws.close()


def all_ids(ws: Workspace) -> list[str]:
    rows = ws.workflow_services().query_rows("Members for the LMS", {})
    return sorted(str(r["ID"]) for r in rows)


def test_a_nightly_transfer_sends_every_row_then_the_changed_ones_then_none(
    workspace: Workspace, http: Receiver
) -> None:
    workspace.save_transfer(transfer(http.url))
    everyone = all_ids(workspace)
    assert len(everyone) >= 8

    first = workspace.run_transfer("LMS nightly")
    assert first.status == RunStatus.SUCCEEDED, first.message
    assert first.kind == "transfer"
    [sent] = http.on("/members")
    assert sorted(csv_ids(sent.body)) == everyone
    assert sent.headers["authorization"] == f"Bearer {TOKEN}"
    assert sent.headers["content-type"].startswith("text/csv")

    change_email(workspace, everyone[2], "changed@example.org")
    second = workspace.run_transfer("LMS nightly")
    assert second.status == RunStatus.SUCCEEDED, second.message
    assert len(http.on("/members")) == 2
    assert csv_ids(http.on("/members")[1].body) == [everyone[2]]

    third = workspace.run_transfer("LMS nightly")
    assert third.status == RunStatus.SUCCEEDED, third.message
    assert len(http.on("/members")) == 2, "no row changed: nothing is sent"

    runs = workspace.transfer_runs("LMS nightly")
    assert [r["run_id"] for r in runs] == [third.id, second.id, first.id]
    latest, middle, oldest = runs
    assert oldest["rows_fetched"] == len(everyone)
    assert oldest["rows_changed"] == len(everyone)
    assert oldest["rows_sent"] == len(everyone)
    [step] = oldest["steps"]
    assert step["order"] == 10
    assert step["name"] == "Upload to the LMS"
    assert step["type"] == "http"
    assert step["status"] == "succeeded"
    assert step["requests"] == 1
    assert step["response_code"] == 200
    assert step["rows"] == len(everyone)
    assert step["bytes"] == len(sent.body)
    assert middle["rows_changed"] == 1
    assert middle["rows_sent"] == 1
    assert latest["rows_changed"] == 0
    assert latest["rows_sent"] == 0
    assert latest["steps"] == []  # the run ended before them: nothing to send
    assert "no rows to send" in (latest["message"] or "")


def test_a_failed_upload_is_sent_again_in_full_by_the_next_run(
    workspace: Workspace, http: Receiver
) -> None:
    workspace.save_transfer(transfer(http.url))
    everyone = all_ids(workspace)
    http.script["/members"] = [503]
    failed = workspace.run_transfer("LMS nightly")
    assert failed.status == RunStatus.FAILED
    assert failed.message is not None
    assert "503" in failed.message
    [history] = workspace.transfer_runs("LMS nightly")
    assert history["steps"][0]["status"] == "failed"
    assert history["steps"][0]["response_code"] == 503
    assert history["rows_sent"] == 0

    again = workspace.run_transfer("LMS nightly")
    assert again.status == RunStatus.SUCCEEDED, again.message
    assert sorted(csv_ids(http.on("/members")[1].body)) == everyone
    assert workspace.transfer_service.hashes("LMS nightly").keys() == everyone


def test_chunks_of_rows_are_separate_requests(workspace: Workspace, http: Receiver) -> None:
    document = transfer(http.url)
    document["steps"][0]["connection"]["chunk"] = {"size": 3}
    workspace.save_transfer(document)
    everyone = all_ids(workspace)
    run = workspace.run_transfer("LMS nightly")
    assert run.status == RunStatus.SUCCEEDED, run.message
    requests = http.on("/members")
    assert len(requests) == -(-len(everyone) // 3)
    sent = [row["ID"] for r in requests for row in json.loads(r.body)]
    assert sorted(sent) == everyone
    [history] = workspace.transfer_runs("LMS nightly")
    assert history["steps"][0]["requests"] == len(requests)


def test_the_failure_branch_runs_and_the_alert_is_mailed_without_secrets(
    tmp_path: Path, http: Receiver
) -> None:
    with smtp_server() as (mailbox, port):
        ws = open_workspace(
            tmp_path, smtp_url=f"smtp://127.0.0.1:{port}", notify_from="idms@example.org"
        )
        try:
            document = transfer(
                http.url,
                alerts={"recipients": ["it@example.org", "lms@example.org"], "when": "failure"},
            )
            document["steps"] += [
                {
                    "order": 20,
                    "name": "Tell the LMS it failed",
                    "when": "failure",
                    "connection": {
                        "type": "http",
                        "url": f"{http.url}/failed",
                        "body": {"job": "LMS nightly", "status": "failed"},
                        "auth": {"bearer_secret": "lms-token"},
                    },
                },
                {
                    "order": 30,
                    "name": "Done marker",
                    "when": "success",
                    "connection": {"type": "http", "url": f"{http.url}/done", "body": {}},
                },
            ]
            ws.save_transfer(document)
            http.script["/members"] = [400]
            run = ws.run_transfer("LMS nightly")
            assert run.status == RunStatus.FAILED
            assert len(http.on("/failed")) == 1
            assert json.loads(http.on("/failed")[0].body) == {
                "job": "LMS nightly",
                "status": "failed",
            }
            # The failure step succeeded: the step after it (when: success) runs too; the run
            # still failed, as the upload did.
            assert len(http.on("/done")) == 1

            [mail] = [mailbox.message(i) for i in range(len(mailbox.envelopes))]
            assert mailbox.envelopes[0].rcpt_tos == ["it@example.org", "lms@example.org"]
            assert "LMS nightly" in mail["Subject"]
            assert "failed" in mail["Subject"]
            text = mail.get_content()
            assert "Upload to the LMS" in text
            assert "400" in text
            assert TOKEN not in text

            [history] = ws.transfer_runs("LMS nightly")
            assert [s["status"] for s in history["steps"]] == ["failed", "succeeded", "succeeded"]
            assert history["alert"]["status"] == "succeeded"
            # No secret in any record of the run: the run, its steps, its history.
            records = json.dumps(
                [
                    ws.runs.get(run.id).as_dict(),
                    [s.as_dict() for s in ws.workflow_steps(run.id)],
                    history,
                ],
                default=str,
            )
            assert TOKEN not in records

            # A run that succeeds is not alerted under when: failure.
            ok = ws.run_transfer("LMS nightly")
            assert ok.status == RunStatus.SUCCEEDED, ok.message
            assert len(mailbox.envelopes) == 1
        finally:
            ws.close()


def test_an_email_connection_attaches_the_file_in_its_format(tmp_path: Path) -> None:
    with smtp_server() as (mailbox, port):
        ws = open_workspace(
            tmp_path, smtp_url=f"smtp://127.0.0.1:{port}", notify_from="idms@example.org"
        )
        try:
            document = transfer("http://unused", format={"format": "json"}, file_name="members")
            document["steps"] = [
                {
                    "order": 10,
                    "name": "Mail the fulfilment house",
                    "connection": {"type": "email", "to": "orders@example.org"},
                }
            ]
            ws.save_transfer(document)
            run = ws.run_transfer("LMS nightly")
            assert run.status == RunStatus.SUCCEEDED, run.message
            mail = mailbox.message()
            assert mail["Subject"] == "LMS nightly: members.json"
            [attachment] = list(mail.iter_attachments())
            assert attachment.get_filename() == "members.json"
            rows = json.loads(attachment.get_content())
            assert sorted(r["ID"] for r in rows) == all_ids(ws)
            [history] = ws.transfer_runs("LMS nightly")
            step = history["steps"][0]
            assert (step["type"], step["status"], step["rows"]) == ("email", "succeeded", len(rows))
            assert step["bytes"] == history["file_bytes"]
        finally:
            ws.close()
