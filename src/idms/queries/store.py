"""Saved queries in the suite database: saved, listed, shown, deleted, found by name or IQA path."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.orm import Session

from idms.db import writer
from idms.errors import InvalidInputError, NotFound, suggest
from idms.queries.model import SavedQuery, build_query
from idms.state.models import Query, utcnow
from idms.state.store import translate_errors


@dataclass(frozen=True)
class QueryInfo:
    query: SavedQuery
    created_at: datetime
    updated_at: datetime

    @property
    def name(self) -> str:
        return self.query.name


class QueryStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def save(self, query: SavedQuery) -> bool:
        """Save (or replace) a query under its name; True when it was new.

        Two queries cannot share an IQA path (the sandbox serves each at its path).
        """
        now = utcnow()
        text = json.dumps(query.to_document(), ensure_ascii=False)
        key = query.iqa_path.casefold()
        with translate_errors("Cannot save the query"), writer(self.engine).begin() as conn:
            holder = conn.execute(select(Query.name).where(Query.iqa_key == key)).scalar()
            if holder is not None and holder != query.name:
                raise InvalidInputError(
                    f"The query '{holder}' already answers to the IQA path {query.iqa_path}; "
                    "give this one another 'iqa' path or another name."
                )
            existing = conn.execute(select(Query.name).where(Query.name == query.name)).scalar()
            values = {
                "iqa_key": key,
                "description": query.description,
                "document": text,
                "updated_at": now,
            }
            if existing is None:
                conn.execute(insert(Query).values(name=query.name, created_at=now, **values))
                return True
            conn.execute(update(Query).where(Query.name == query.name).values(**values))
            return False

    def get(self, name: str) -> QueryInfo:
        with Session(self.engine) as session:
            row = session.scalars(select(Query).where(Query.name == name)).first()
            if row is None:
                names = list(session.scalars(select(Query.name)))
                close = suggest(name, names)
                hint = f" Did you mean '{close}'?" if close else ""
                raise NotFound(f"No query '{name}'.{hint}", hint="'idms query list' shows them.")
            return _info(row)

    def find(self, name: str) -> QueryInfo | None:
        """The query called ``name``, or None."""
        with Session(self.engine) as session:
            row = session.scalars(select(Query).where(Query.name == name)).first()
            return _info(row) if row is not None else None

    def find_by_path(self, path: str) -> SavedQuery | None:
        """The query served at an IQA path (compared without case), or None."""
        with Session(self.engine) as session:
            row = session.scalars(select(Query).where(Query.iqa_key == path.casefold())).first()
            return _info(row).query if row is not None else None

    def list(self) -> list[QueryInfo]:
        with Session(self.engine) as session:
            return [_info(q) for q in session.scalars(select(Query).order_by(Query.name))]

    def delete(self, name: str) -> None:
        self.get(name)
        with self.engine.begin() as conn:
            conn.execute(delete(Query).where(Query.name == name))


def _info(row: Query) -> QueryInfo:
    return QueryInfo(build_query(json.loads(row.document)), row.created_at, row.updated_at)
