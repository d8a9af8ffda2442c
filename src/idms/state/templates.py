"""Job templates: saved jobs reused by name (mappings, options, source, action).

A template's password constants are sealed at rest (the caller seals them:
:func:`idms.jobs.sealing.seal_constants`, as :meth:`idms.workspace.Workspace.save_template`
does) and masked when shown (:mod:`idms.state.constants`): :attr:`TemplateInfo.document` is what
may be shown; :meth:`TemplateStore.job_document` is the document to run, unsealed with the
workspace's key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.orm import Session

from idms.db import writer
from idms.errors import NotFound, suggest
from idms.state.constants import mask_sealed, sealed_fields, unseal_constants
from idms.state.models import Template, utcnow
from idms.state.store import translate_errors

if TYPE_CHECKING:
    from idms.secrets import SecretBox


@dataclass(frozen=True)
class TemplateInfo:
    name: str
    description: str
    document: dict[str, Any]  # as shown: password constants masked
    created_at: datetime
    updated_at: datetime
    stored: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)  # sealed

    @property
    def masked(self) -> list[str]:
        """The fields whose constant is sealed, shown masked: to be given again in a copy."""
        return sealed_fields(self.stored)


class TemplateStore:
    """Templates in the suite database. ``box`` (the workspace's key) unseals password
    constants to run a template; showing one needs none."""

    def __init__(self, engine: Engine, box: SecretBox | None = None) -> None:
        self.engine = engine
        self.box = box

    def job_document(self, name: str) -> dict[str, Any]:
        """Template ``name``'s document to run: its password constants unsealed."""
        return unseal_constants(self.get(name).stored, self.box)

    def save(self, name: str, document: dict[str, Any], description: str = "") -> bool:
        """Save (or replace) a template (its password constants sealed already); True when it
        was new."""
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
    stored = json.loads(t.document)
    return TemplateInfo(
        t.name, t.description, mask_sealed(stored), t.created_at, t.updated_at, stored
    )
