"""One rate limit toward an iMIS for every worker of an installation, through the suite database:
two workers (each with its own connection to the suite database, as two processes have) send
no more calls per second together than the limit set for the installation."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from idms.config import Settings
from idms.errors import ConfigError
from idms.state.store import open_suite
from idms.targets.factory import open_target
from idms.targets.imis.client import TokenBucket
from idms.targets.imis.ratelimit import SharedBucket, bucket_key
from idms.targets.imis.target import RestTarget


def timed(buckets: list[SharedBucket] | list[TokenBucket], each: int) -> float:
    def spend(bucket: SharedBucket | TokenBucket) -> None:
        for _ in range(each):
            bucket.acquire()

    workers = [threading.Thread(target=spend, args=(b,)) for b in buckets]
    started = time.monotonic()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return time.monotonic() - started


def test_two_workers_share_one_limit(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'suite.db'}"
    engines = [open_suite(url), open_suite(url)]
    try:
        shared = [SharedBucket(e, "https://imis.example.org/", 50) for e in engines]
        # 60 calls at 50 a second for both together, after a first block of 5: >= 55/50 s
        assert timed(shared, 30) >= 1.0
        # each on its own limit, the same calls take about half the time
        assert timed([TokenBucket(50, burst=5), TokenBucket(50, burst=5)], 30) < 0.9
    finally:
        for e in engines:
            e.dispose()


def test_one_imis_however_its_address_is_written() -> None:
    assert bucket_key("https://iMIS.example.org/Asi/") == bucket_key("HTTPS://imis.example.org/Asi")
    assert bucket_key("https://imis.example.org/a") != bucket_key("https://imis.example.org/b")


def test_the_settings_give_every_client_the_shared_limit(tmp_path: Path) -> None:
    env = {"IDMS_IMIS_RATE_LIMIT": "20", "IDMS_IMIS_CONCURRENCY": "4"}
    settings = Settings.load(
        workspace=tmp_path, target="imis+https://imis.example.org", environ=env
    )
    assert (settings.imis_rate_limit, settings.imis_concurrency) == (20.0, 4)
    engine = open_suite(f"sqlite:///{tmp_path / 'suite.db'}")
    account = {"IDMS_IMIS_USERNAME": "u", "IDMS_IMIS_PASSWORD": "p"}
    try:
        with open_target(settings, environ=account, suite=lambda: engine) as target:
            assert isinstance(target, RestTarget)
            assert isinstance(target.client._bucket, SharedBucket)
            assert target.client.limit.ceiling == 4
    finally:
        engine.dispose()
    assert Settings.load(workspace=tmp_path, environ={}).imis_rate_limit is None
    with pytest.raises(ConfigError, match="calls per second"):
        Settings.load(workspace=tmp_path, environ={"IDMS_IMIS_RATE_LIMIT": "fast"})
