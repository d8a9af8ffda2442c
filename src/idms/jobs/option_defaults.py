"""The installation's default task options (iDMS's global settings): kept in the suite
database, not in the environment, so that every shell of an installation (CLI, API, web UI,
scheduler, workers) sees and edits the same ones, and a change reaches the next run."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from idms.db import writer
from idms.jobs.options import check_defaults
from idms.state.models import Meta
from idms.state.store import translate_errors

_KEY = "option_defaults"


class OptionDefaults:
    """Read and change the installation's default task options; every change is checked as a
    job's options are (:func:`idms.jobs.options.check_defaults`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self) -> dict[str, Any]:
        with Session(self.engine) as session:
            text = session.scalar(select(Meta.value).where(Meta.key == _KEY))
        stored = json.loads(text) if text else {}
        return stored if isinstance(stored, dict) else {}

    def set(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Set (or change) some defaults, the others kept; the defaults now."""
        return self._write(lambda current: {**current, **values})

    def replace(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The defaults become ``values`` exactly (what the settings page's form sends)."""
        return self._write(lambda current: dict(values))

    def unset(self, names: list[str]) -> dict[str, Any]:
        """Drop some defaults (their built-in values apply again); the defaults now."""
        return self._write(lambda current: {k: v for k, v in current.items() if k not in names})

    def _write(self, change: Any) -> dict[str, Any]:
        with (
            translate_errors("Cannot save the default task options"),
            Session(writer(self.engine)) as session,
            session.begin(),
        ):
            row = session.get(Meta, _KEY)
            current = json.loads(row.value) if row is not None and row.value else {}
            values = check_defaults(change(current))
            text = json.dumps(values, sort_keys=True)
            if row is None:
                session.add(Meta(key=_KEY, value=text))
            else:
                row.value = text
        return values
