"""Several processes opening one new workspace at once: every open succeeds, the schema once."""

from __future__ import annotations

import threading

from sqlalchemy import Engine, inspect

from idms.targets.embedded.store import open_store


def test_concurrent_first_opens_of_the_store(database_url: str) -> None:
    engines: list[Engine] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def open_one() -> None:
        start.wait()
        try:
            engines.append(open_store(database_url))
        except BaseException as exc:  # the assertion below shows it
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        assert len(engines) == 4
        assert "contacts" in inspect(engines[0]).get_table_names()
    finally:
        for engine in engines:
            engine.dispose()
