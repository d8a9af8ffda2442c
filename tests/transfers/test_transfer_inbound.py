"""Legacy iTransfer inbound webhooks over a real ``idms serve`` app: a transfer with a JSON
Schema and a target source inserts each POSTed object through the import engine, answering as
iDMS did — 200, 400 with the validation errors, 404 when disabled, 500 when the record cannot
be written — and a workflow's webhook URL is not disturbed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tr_support import open_workspace, served

from idms.targets.embedded.target import EmbeddedTarget
from idms.transfers.model import TransferInvalid

INBOUND: dict[str, Any] = {
    "name": "LMS completions",
    "inbound": {
        "schema": {
            "type": "object",
            "required": ["imisId", "course"],
            "properties": {"imisId": {"type": "string"}, "course": {"type": "string"}},
        },
        "source": "Activity",
        "mappings": [
            {"field": "ImisId", "column": "imisId"},
            {"field": "ActivityType", "value": "NOTE"},
            {"field": "Description", "template": "{{ row.course }} completed"},
        ],
    },
}


def activities(ws: Any) -> list[dict[str, Any]]:
    store = EmbeddedTarget.from_settings(ws.settings)
    try:
        return [a for a in store.read("Activity") if str(a["Description"]).endswith("completed")]
    finally:
        store.close()


def test_the_four_answers_of_a_legacy_inbound_webhook(tmp_path: Path) -> None:
    open_workspace(tmp_path).close()
    with served(tmp_path) as api:
        ws = api.workspace
        created = api.client.post("/api/v1/transfers", json=INBOUND)
        assert created.status_code == 201, created.text
        url = api.client.get("/api/v1/transfers/LMS completions/hook-url").json()["url"]
        assert url.split("/hooks/")[1] == ws.transfer_hook_token("LMS completions")
        member = sorted(c["ImisId"] for c in EmbeddedTarget.from_settings(ws.settings).read(
            "Contact"))[0]  # fmt: skip
        hook = url.split("/hooks/")[1]
        post = lambda body: api.client.post(f"/hooks/{hook}", json=body)  # noqa: E731

        ok = post({"imisId": member, "course": "Ethics"})
        assert (ok.status_code, ok.json()) == (200, {"success": True})
        assert [(a["ImisId"], a["Description"]) for a in activities(ws)] == [
            (member, "Ethics completed")
        ]

        invalid = post({"imisId": 7})
        assert invalid.status_code == 400
        errors = invalid.json()["validationErrors"]
        assert invalid.json()["success"] is False
        assert any("course" in e for e in errors)
        assert any(e.startswith("$.imisId") for e in errors)
        array = api.client.post(f"/hooks/{hook}", json=[{"imisId": member}])
        assert array.status_code == 400

        unknown = post({"imisId": "NO-SUCH-ID", "course": "Law"})
        assert unknown.status_code == 500
        assert unknown.json()["success"] is False
        assert "NO-SUCH-ID" in unknown.json()["error"]
        assert len(activities(ws)) == 1

        ws.save_transfer({**INBOUND, "state": "disabled"})
        disabled = post({"imisId": member, "course": "Tax"})
        assert (disabled.status_code, disabled.json()) == (404, {"success": False})
        assert ws.transfer_hook_token("LMS completions") == hook  # kept when replaced

        other = api.client.post("/hooks/not-a-token", json={"a": 1})
        assert other.status_code == 401  # any other URL: the workflows' answer


def test_inbound_settings_are_checked_when_saved(tmp_path: Path) -> None:
    ws = open_workspace(tmp_path)
    try:
        bad = {
            "name": "Bad",
            "inbound": {
                "schema": {"type": "objekt"},
                "source": "Activity",
                "mappings": [{"field": "ImisId"}],
            },
        }
        with pytest.raises(TransferInvalid) as caught:
            ws.save_transfer(bad)
        problems = caught.value.problems
        assert any(p.startswith("inbound.schema:") for p in problems)
        assert any(p.startswith("inbound.mappings[0]") for p in problems), problems
        with pytest.raises(TransferInvalid, match="receives records"):
            ws.save_transfer({"name": "Nothing"})
    finally:
        ws.close()
