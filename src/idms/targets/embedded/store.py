"""Opening an embedded store: the engine, its schema brought up to date, and its panels."""

from __future__ import annotations

from sqlalchemy import Engine, event
from sqlalchemy.exc import SQLAlchemyError

from idms.db import make_engine
from idms.errors import TerminalTargetError
from idms.targets.embedded.adapters.folding import register_fold
from idms.targets.embedded.migrate import upgrade_store


def open_store(url: str) -> Engine:
    """An engine on the store at ``url``, its tables created or upgraded (idempotent)."""
    try:
        engine = make_engine(url)
        if engine.dialect.name == "sqlite":  # PostgreSQL has it as a SQL function (0003_store)
            event.listen(engine, "connect", register_fold)
        upgrade_store(engine)
    except (SQLAlchemyError, OSError) as exc:
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise TerminalTargetError(f"Cannot open the embedded store at {url}: {first}") from None
    return engine
