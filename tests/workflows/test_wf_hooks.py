"""iHook over real HTTP: ``POST /hooks/{token}`` on ``idms serve`` answers exactly as iDMS
(200 or 202 with ``{"error": false, "id", "queueTime"}``, 400 ``Invalid JSON body: …``, 401 for
an unknown or regenerated URL, an empty body when asked, CORS), and beyond iDMS: a body limit
per webhook, HTTP metadata for the steps, and Standard Webhooks signing (a bad or stale
signature refused, a repeated ``webhook-id`` answered with the first run, never a second)."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from standardwebhooks import Webhook
from wf_http_support import Served, served, workflow

from idms.secrets import SecretStore
from idms.state.models import HookDelivery

SECRET = "whsec_" + base64.b64encode(b"a-signing-secret-of-32-bytes-xx!").decode()


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Served]:
    with served(tmp_path) as server:
        yield server


def hook(api: Served, name: str, **trigger: Any) -> str:
    """Save a webhook workflow; the path of its URL."""
    api.workspace.save_workflow(workflow(name, {"type": "webhook", **trigger}))
    return f"/hooks/{api.workspace.hook_token(name)}"


def test_a_json_object_starts_a_run_answered_as_idms(api: Served) -> None:
    path = hook(api, "LMS")
    answer = api.open.post(path, json={"imisId": "101", "course": "CE-1"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == {"error", "id", "queueTime"}
    assert body["error"] is False
    queued = datetime.fromisoformat(body["queueTime"].replace("Z", "+00:00"))
    assert abs((datetime.now(UTC) - queued).total_seconds()) < 60
    [run] = api.runs("LMS")
    assert run.id == body["id"]
    assert run.trigger == "webhook"
    assert run.status == "queued"
    api.workspace.execute(run.id)
    [step] = api.workspace.workflow_steps(run.id)
    assert step.input == {"imisId": "101", "course": "CE-1"}
    assert api.workspace.runs.get(run.id).status == "succeeded"


def test_respond_202_text_json_and_an_empty_body(api: Served) -> None:
    path = hook(api, "Async", respond_status=202)
    answer = api.open.post(path, content=b'{"a": 1}', headers={"Content-Type": "text/json"})
    assert answer.status_code == 202
    assert answer.json()["error"] is False
    empty = api.open.post(path)  # no body at all: an empty object
    assert empty.status_code == 202
    assert len(api.runs("Async")) == 2


def test_omit_response_body(api: Served) -> None:
    path = hook(api, "Quiet", omit_response_body=True)
    answer = api.open.post(path, json={"a": 1})
    assert answer.status_code == 200
    assert answer.content == b""
    assert len(api.runs("Quiet")) == 1


@pytest.mark.parametrize(
    ("content", "content_type", "says"),
    [
        (b"[1, 2]", "application/json", "a JSON object ({...}) is expected, not an array"),
        (b'"text"', "application/json", "not a string"),
        (b'{"a": ', "application/json", "the body is not valid JSON (line 1, column 7)"),
        (b"[" * 5000 + b"]" * 5000, "application/json", "more than 64 levels deep"),
        (b'{"a": "\xff"}', "application/json", "the body is not UTF-8 text"),
        (b'{"a": 1}', "text/plain", "the content type is 'text/plain'"),
        (b'{"a": 1}', "application/x-www-form-urlencoded", "send application/json or text/json"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_400(
    api: Served, content: bytes, content_type: str, says: str
) -> None:
    path = hook(api, "Strict")
    answer = api.open.post(path, content=content, headers={"Content-Type": content_type})
    assert answer.status_code == 400
    body = answer.json()
    assert set(body) == {"error", "message"}
    assert body["error"] is True
    assert body["message"].startswith("Invalid JSON body: ")
    assert says in body["message"]
    assert api.runs("Strict") == []


def test_an_unknown_or_regenerated_url_is_401_revealing_nothing(api: Served) -> None:
    old = hook(api, "Rotated")
    unknown = api.open.post("/hooks/" + "A" * 32, json={})
    assert unknown.status_code == 401
    assert unknown.json() == {
        "error": True,
        "message": "The webhook URL is unknown: it may have been regenerated.",
    }
    new = f"/hooks/{api.workspace.regenerate_hook('Rotated')}"
    refused = api.open.post(old, json={})
    assert refused.status_code == 401
    assert refused.json() == unknown.json()
    assert api.open.post(new, json={}).status_code == 200
    assert len(api.runs("Rotated")) == 1


def test_the_api_token_is_not_asked_for_nor_enough(api: Served) -> None:
    """The URL is the credential: an API token on an unknown URL still gets 401."""
    assert api.client.post("/hooks/nothing-like-a-token", json={}).status_code == 401


def test_cors_preflight_and_answers(api: Served) -> None:
    path = hook(api, "Browser")
    preflight = api.open.options(
        path,
        headers={
            "Origin": "https://lms.example.org",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, webhook-id",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert "webhook-id" in preflight.headers["access-control-allow-headers"].lower()
    answer = api.open.post(path, json={}, headers={"Origin": "https://lms.example.org"})
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == "*"
    refused = api.open.post("/hooks/unknown", json={}, headers={"Origin": "https://x.example"})
    assert refused.headers["access-control-allow-origin"] == "*"
    # The API keeps no CORS.
    api_answer = api.client.get("/api/v1/workflows", headers={"Origin": "https://x.example"})
    assert "access-control-allow-origin" not in api_answer.headers


def test_a_disabled_or_archived_workflow_starts_nothing(api: Served) -> None:
    path = hook(api, "Paused")
    api.workspace.set_workflow_state("Paused", api.workspace.workflow("Paused").state.DISABLED)
    answer = api.open.post(path, json={})
    assert answer.status_code == 400
    assert answer.json() == {
        "error": True,
        "message": "The workflow is disabled: its webhook starts nothing until the workflow "
        "is enabled.",
    }
    api.workspace.set_workflow_state("Paused", api.workspace.workflow("Paused").state.ACTIVE)
    assert api.open.post(path, json={}).status_code == 200
    assert len(api.runs("Paused")) == 1


def test_the_webhooks_body_limit(api: Served) -> None:
    path = hook(api, "Small", max_body_bytes=100)
    assert api.open.post(path, json={"a": "x" * 50}).status_code == 200
    answer = api.open.post(path, json={"a": "x" * 200})
    assert answer.status_code == 413
    assert answer.json()["message"] == (
        "The request is too large: at most 100 bytes is accepted by this webhook."
    )
    assert len(api.runs("Small")) == 1


def test_the_server_wide_cap_applies_to_hooks_too(tmp_path: Path) -> None:
    with served(tmp_path, serve_max_body=1024) as api:
        path = hook(api, "Capped")
        answer = api.open.post(path, json={"a": "x" * 4096})
        assert answer.status_code == 413
        assert api.runs("Capped") == []


def test_metadata_for_the_steps_without_credentials(api: Served) -> None:
    path = hook(api, "Meta", metadata_property="http")
    answer = api.open.post(
        f"{path}?source=lms",
        json={"a": 1},
        headers={"X-Source": "LMS", "Authorization": "Bearer secret", "Cookie": "s=secret"},
    )
    assert answer.status_code == 200
    run_id = answer.json()["id"]
    api.workspace.execute(run_id)
    [step] = api.workspace.workflow_steps(run_id)
    meta = step.input["http"]
    assert step.input["a"] == 1
    assert meta["method"] == "POST"
    assert meta["host"] == api.base.removeprefix("http://")
    assert meta["headers"]["x-source"] == "LMS"
    assert meta["query"] == {"source": "lms"}
    assert "authorization" not in meta["headers"]
    assert "cookie" not in meta["headers"]
    assert "secret" not in json.dumps(meta)


# ---- Standard Webhooks signing ----------------------------------------------------------------


def signed(
    body: bytes, *, msg_id: str | None = None, when: datetime | None = None, secret: str = SECRET
) -> dict[str, str]:
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    when = when or datetime.now(UTC)
    signature = Webhook(secret).sign(msg_id, when, body.decode())
    return {
        "Content-Type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": signature,
    }


@pytest.fixture
def signed_path(api: Served) -> str:
    SecretStore(api.workspace.suite, api.workspace.box).set("lms-signing", SECRET)
    return hook(api, "Signed", signing_secret="lms-signing")


def post(api: Served, path: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return api.open.post(path, content=body, headers=headers)


def test_a_valid_signature_is_taken(api: Served, signed_path: str) -> None:
    body = b'{"imisId": "101"}'
    answer = post(api, signed_path, body, signed(body))
    assert answer.status_code == 200, answer.text
    assert len(api.runs("Signed")) == 1


def test_unsigned_bad_and_stale_deliveries_are_401(api: Served, signed_path: str) -> None:
    body = b'{"imisId": "101"}'
    unsigned = post(api, signed_path, body, {"Content-Type": "application/json"})
    assert unsigned.status_code == 401
    assert "webhook-id, webhook-timestamp, webhook-signature missing" in unsigned.json()["message"]
    other = "whsec_" + base64.b64encode(b"another-secret-another-secret-32").decode()
    bad = post(api, signed_path, body, signed(body, secret=other))
    assert bad.status_code == 401
    assert bad.json()["message"] == "The delivery's webhook-signature does not match: refused."
    tampered = post(api, signed_path, b'{"imisId": "102"}', signed(body))
    assert tampered.status_code == 401
    stale_at = datetime.now(UTC) - timedelta(minutes=6)
    stale = post(api, signed_path, body, signed(body, when=stale_at))
    assert stale.status_code == 401
    assert "more than 5 minutes off" in stale.json()["message"]
    assert api.runs("Signed") == []


def test_a_repeated_webhook_id_answers_the_first_run(api: Served, signed_path: str) -> None:
    body = b'{"imisId": "101"}'
    headers = signed(body, msg_id="msg_repeat_1")
    first = post(api, signed_path, body, headers)
    again = post(api, signed_path, body, headers)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert len(api.runs("Signed")) == 1
    other = post(api, signed_path, body, signed(body, msg_id="msg_repeat_2"))
    assert other.json()["id"] != first.json()["id"]
    assert len(api.runs("Signed")) == 2


def test_a_missing_signing_secret_refuses_without_saying_why(api: Served) -> None:
    path = hook(api, "NoSecret", signing_secret="not-stored")
    body = b"{}"
    answer = post(api, path, body, signed(body))
    assert answer.status_code == 401
    assert answer.json()["message"] == "The delivery cannot be verified: refused."
    assert "not-stored" not in answer.text


def test_webhook_ids_are_remembered_for_a_day(api: Served, signed_path: str) -> None:
    body = b"{}"
    post(api, signed_path, body, signed(body, msg_id="msg_old"))
    with Session(api.workspace.suite) as session, session.begin():
        session.execute(
            update(HookDelivery).values(received_at=datetime.now(UTC) - timedelta(days=2))
        )
    post(api, signed_path, body, signed(body, msg_id="msg_new"))
    with Session(api.workspace.suite) as session:
        kept = session.scalars(select(HookDelivery.webhook_id)).all()
    assert kept == ["msg_new"]


def test_copies_arriving_together_start_one_run(api: Served, signed_path: str) -> None:
    body = b'{"imisId": "101"}'
    headers = signed(body, msg_id="msg_together")
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda _: post(api, signed_path, body, headers), range(6)))
    assert {a.status_code for a in answers} == {200}, [(a.status_code, a.text) for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    assert len(api.runs("Signed")) == 1
