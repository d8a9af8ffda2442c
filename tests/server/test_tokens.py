"""API tokens: made, listed and revoked from the command line, stored only as hashes, and
required by every route of the API (as a bearer header, or ?token= for tools without headers)."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
from server_support import Api
from sqlalchemy import text
from typer.testing import CliRunner

from idms.cli.app import app
from idms.state.tokens import TokenStore, hash_token


def cli(api: Api, *args: str) -> tuple[int, str, str]:
    runner = CliRunner()
    result = runner.invoke(
        app, ["--workspace", str(api.workspace.settings.workspace), *args], catch_exceptions=False
    )
    return result.exit_code, result.stdout, result.stderr


def test_create_list_revoke_from_the_command_line(make_api: Callable[..., Api]) -> None:
    api = make_api(loop=False)
    code, out, _ = cli(api, "token", "create", "power-automate", "--json")
    assert code == 0
    made = json.loads(out)
    token = made["token"]
    assert token.startswith("idms_")
    assert len(token) >= 5 + 43  # 32 random bytes, URL-safe base64

    # Only the hash is kept.
    with api.workspace.suite.connect() as conn:
        stored = conn.execute(text("SELECT name, token_hash FROM api_tokens")).all()
    assert ("power-automate", hash_token(token)) in stored
    assert all(token not in str(row) for row in stored)

    code, out, _ = cli(api, "token", "list", "--json")
    listed = {t["name"]: t for t in json.loads(out)}
    assert set(listed) == {"tests", "power-automate"}
    assert listed["power-automate"]["active"] is True
    assert token not in out
    code, out, _ = cli(api, "token", "list")
    assert "power-automate" in out
    assert token not in out

    with httpx.Client(base_url=api.base, headers={"Authorization": f"Bearer {token}"}) as client:
        assert client.get("/api/v1/runs").status_code == 200
        code, out, _ = cli(api, "token", "revoke", "power-automate")
        assert code == 0
        assert "revoked" in out
        refused = client.get("/api/v1/runs")
    assert refused.status_code == 401
    assert refused.json() == {
        "error": True,
        "message": "The API token is unknown or revoked.",
        "problems": [],
    }
    code, out, err = cli(api, "token", "revoke", "power-automate")
    assert code == 0
    assert "revoked already" in out + err
    code, _, err = cli(api, "token", "revoke", "power-automat")
    assert code == 2
    assert "Did you mean 'power-automate'?" in err


def test_a_name_is_taken_once(make_api: Callable[..., Api]) -> None:
    api = make_api(loop=False)
    assert cli(api, "token", "create", "zapier")[0] == 0
    code, _, err = cli(api, "token", "create", "zapier")
    assert code == 2
    assert "exists already" in err
    cli(api, "token", "revoke", "zapier")
    code, out, _ = cli(api, "token", "create", "zapier", "--json")  # a revoked name is free
    assert code == 0
    assert TokenStore(api.workspace.suite).verify(json.loads(out)["token"]) is not None


def test_requests_without_a_good_token_are_401(make_api: Callable[..., Api]) -> None:
    api = make_api(loop=False)
    with httpx.Client(base_url=api.base) as anonymous:
        for headers in (
            {},
            {"Authorization": "Bearer idms_not-a-token"},
            {"Authorization": "Bearer"},
            {"Authorization": f"Basic {api.token}"},
        ):
            answer = anonymous.get("/api/v1/templates", headers=headers)
            assert answer.status_code == 401, headers
            body = answer.json()
            assert body["error"] is True
            assert body["problems"] == []
            assert answer.headers["WWW-Authenticate"].startswith("Bearer")
        assert "idms token create" in anonymous.get("/api/v1/runs").json()["message"]
        post = anonymous.post("/api/v1/triggers/anything")
        assert post.status_code == 401
        # For tools that cannot set a header: the token in the query string.
        assert anonymous.get("/api/v1/templates", params={"token": api.token}).status_code == 200
        assert anonymous.get("/api/v1/templates", params={"token": "idms_x"}).status_code == 401
        # The API's description is public.
        assert anonymous.get("/api/v1/openapi.json").status_code == 200
        assert anonymous.get("/api/v1/docs").status_code == 200


def test_last_use_is_recorded(make_api: Callable[..., Api]) -> None:
    api = make_api(loop=False)
    before = {t.name: t for t in TokenStore(api.workspace.suite).list()}["tests"]
    assert before.last_used_at is None
    assert api.client.get("/api/v1/runs").status_code == 200
    after = {t.name: t for t in TokenStore(api.workspace.suite).list()}["tests"]
    assert after.last_used_at is not None


def test_the_access_log_masks_a_token_in_the_url() -> None:
    import logging

    from idms.server.serve import MaskTokens, masked

    assert masked("/api/v1/runs?token=idms_abc&limit=5") == "/api/v1/runs?token=***&limit=5"
    assert masked("/api/v1/runs?limit=5&token=idms_abc") == "/api/v1/runs?limit=5&token=***"
    assert masked("/api/v1/runs") == "/api/v1/runs"
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/api/v1/runs?token=idms_secret", "1.1", 200), None,
    )  # fmt: skip
    assert MaskTokens().filter(record)
    assert "idms_secret" not in record.getMessage()
    assert "token=***" in record.getMessage()
