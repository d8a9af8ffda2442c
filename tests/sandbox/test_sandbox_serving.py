"""Fault injection, latency and concurrency, prefix mounting, and the ``idms sandbox`` command."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sandbox_support import MANAGER_PASSWORD, Serve
from typer.testing import CliRunner

from idms.cli.app import app as cli_app
from idms.errors import InvalidInputError
from idms.sandbox.app import canonical_path, normalise_prefix
from idms.sandbox.faults import FaultPlan

IDMS = Path(sys.executable).parent / "idms"


def test_fault_plans_parse_and_refuse_nonsense() -> None:
    plan = FaultPlan.parse("429=0.1, 500=0.05")
    assert plan.rates == ((429, 0.1), (500, 0.05))
    assert FaultPlan.parse("").rates == ()
    for bad in ("429", "200=0.1", "429=2", "429=x", "429=0.7,500=0.7"):
        with pytest.raises(InvalidInputError):
            FaultPlan.parse(bad)


def test_seeded_plans_draw_the_same_faults() -> None:
    first = FaultPlan.parse("429=0.3,503=0.1", seed=11)
    second = FaultPlan.parse("429=0.3,503=0.1", seed=11)
    draws = [first.draw() for _ in range(1000)]
    assert draws == [second.draw() for _ in range(1000)]
    assert 250 <= draws.count(429) <= 350
    assert 60 <= draws.count(503) <= 140


def test_faults_answer_at_the_configured_rate_and_never_on_token(serve: Serve) -> None:
    api = serve(faults=FaultPlan.parse("429=0.25,500=0.1", seed=5))
    tokens = [api.token().status_code for _ in range(20)]
    assert tokens == [200] * 20
    statuses = [api.get("/api/Party", limit=1) for _ in range(200)]
    limited = [a for a in statuses if a.status_code == 429]
    failed = [a for a in statuses if a.status_code == 500]
    assert 30 <= len(limited) <= 70
    assert 8 <= len(failed) <= 35
    assert len(limited) + len(failed) + sum(a.status_code == 200 for a in statuses) == 200
    assert all(a.headers["Retry-After"] == "1" for a in limited)
    assert "An error occurred. Please contact the administrator." in failed[0].text


def test_a_faulted_write_is_never_applied(serve: Serve) -> None:
    api = serve(faults=FaultPlan.parse("503=1"))
    body = {"$type": "x", "PersonName": {"FirstName": "Never", "LastName": "Written"}}
    assert api.post("/api/Person", body).status_code == 503
    assert api.target.match("Contact", ["LastName"], [{"LastName": "Written"}]) == [[]]


def test_latency_is_served_in_parallel(serve: Serve) -> None:
    api = serve(latency_ms=200)
    headers = api.headers
    start = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(
                lambda _: httpx.get(
                    f"{api.base}/api/Party", params={"limit": 5}, headers=headers, timeout=30
                ),
                range(8),
            )
        )
    elapsed = time.monotonic() - start
    assert all(a.status_code == 200 for a in answers)
    # Eight calls of 200 ms each: 1.6 s one after another, 0.2 s at once. The bound sits
    # between the two with room for a busy machine (1.0 s failed once at load 10: 1.001 s).
    assert 0.2 <= elapsed < 1.4


def test_prefix_mounting(serve: Serve) -> None:
    api = serve(prefix="Asi.Scheduler_iMIS/")
    assert api.base.endswith("/Asi.Scheduler_iMIS")
    assert api.token().status_code == 200
    assert api.get("/api/Party", limit=1).status_code == 200
    root = api.base.removesuffix("/Asi.Scheduler_iMIS")
    form = {"grant_type": "password", "username": "MANAGER", "password": MANAGER_PASSWORD}
    assert httpx.post(f"{root}/token", data=form).status_code == 404
    lower = httpx.post(f"{root}/asi.scheduler_imis/Token", data=form)
    assert lower.status_code == 200


def test_paths_match_without_case() -> None:
    assert normalise_prefix("/") == ""
    assert normalise_prefix("x/y/") == "/x/y"
    assert canonical_path("/P/API/party/~1|2/", "/p") == "/p/api/party/~1|2"
    assert canonical_path("/p/Api/UserSecurity/_EXECUTE", "/p") == "/p/api/UserSecurity/_execute"
    assert canonical_path("/pp/token", "/p") == "/pp/token"


def test_sandbox_help() -> None:
    result = CliRunner().invoke(cli_app, ["sandbox", "--help"])
    assert result.exit_code == 0
    assert "--latency-ms" in result.stdout
    assert "IDMS_SANDBOX_PASSWORD" in result.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.skipif(not IDMS.exists(), reason=f"{IDMS} is not installed")
def test_the_command_serves_until_stopped(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDMS_")}
    env.update(IDMS_WORKSPACE=str(tmp_path / "ws"), IDMS_SANDBOX_PASSWORD="cli-secret-1")
    port = free_port()
    args = [str(IDMS), "sandbox", "--port", str(port), "--prefix", "/Asi.Scheduler_iMIS"]
    process = subprocess.Popen(
        args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    base = f"http://127.0.0.1:{port}/Asi.Scheduler_iMIS"
    form = {"grant_type": "password", "username": "MANAGER", "password": "cli-secret-1"}
    try:
        answer = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and process.poll() is None:
            try:
                answer = httpx.post(f"{base}/token", data=form, timeout=5)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert answer is not None, process.communicate(timeout=5)
        assert answer.status_code == 200
        headers = {"Authorization": f"Bearer {answer.json()['access_token']}"}
        assert httpx.get(f"{base}/api/Party", headers=headers).json()["TotalCount"] == 0
    finally:
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert f"Base URL:  {base}" in stdout
    assert "curl -X POST" in stdout
    assert "cli-secret-1" not in stdout  # a password from the variable is not printed
