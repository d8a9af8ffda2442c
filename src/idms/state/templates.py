"""Job templates: saved jobs reused by name (mappings, options, source, action)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.orm import Session

from idms.db import writer
from idms.errors import NotFound, suggest
from idms.state.models import Template, utcnow
from idms.state.store import translate_errors


@dataclass(frozen=True)
class TemplateInfo:
    name: str
    description: str
    document: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class TemplateStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def save(self, name: str, document: dict[str, Any], description: str = "") -> bool:
        """Save (or replace) a template; True when it was new."""
        now = utcnow()
        text = json.dumps(document, ensure_ascii=False)
        with translate_errors("Cannot save the template"), writer(self.engine).begin() as conn:
            existing = conn.execute(select(Template.name).where(Template.name == name)).scalar()
            if existing is None:
                conn.execute(
                    insert(Template).values(
                        name=name,
                        description=description,
                        document=text,
                        created_at=now,
                        updated_at=now,
                    )
                )
                return True
            conn.execute(
                update(Template)
                .where(Template.name == name)
                .values(description=description, document=text, updated_at=now)
            )
            return False

    def get(self, name: str) -> TemplateInfo:
        with Session(self.engine) as session:
            row = session.scalars(select(Template).where(Template.name == name)).first()
            if row is None:
                names = list(session.scalars(select(Template.name)))
                close = suggest(name, names)
                hint = f" Did you mean '{close}'?" if close else ""
                raise NotFound(
                    f"No template '{name}'.{hint}", hint="'idms template list' shows them."
                )
            return _info(row)

    def list(self) -> list[TemplateInfo]:
        with Session(self.engine) as session:
            return [_info(t) for t in session.scalars(select(Template).order_by(Template.name))]

    def delete(self, name: str) -> None:
        self.get(name)
        with self.engine.begin() as conn:
            conn.execute(delete(Template).where(Template.name == name))


def _info(t: Template) -> TemplateInfo:
    return TemplateInfo(t.name, t.description, json.loads(t.document), t.created_at, t.updated_at)
