"""The import wizard's state between its steps: one draft job per signed-in user and input.

The input is an upload, or a saved query's rows (an iUpdate: "Update these rows" on a query's
page). A draft is kept on the server, keyed by the session's user and a random key (the
upload's ID, or one made for the query's draft); the browser sends only that key (in the URL)
and each step's choices. The draft never holds a path: its input is ``{"upload": ID}``, which
the facade turns into the upload's file by the rule every request's job follows
(``Workspace.job_from_request``), or ``{"query": NAME, "params": {...}}``, the saved query run
when the job runs. Another user cannot open someone's draft
(the key includes the user), and a draft is dropped once the store holds ``MAX_DRAFTS`` newer
ones. The drafts live in the server's memory: a restart forgets them (the upload stays, and the
wizard starts again from it).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from idms.errors import NotFound

MAX_DRAFTS = 500


@dataclass
class Draft:
    """What the wizard knows of one import so far."""

    key: str  # the upload's ID, or a random key for a query's draft
    file_name: str  # the upload's file name, or the query's name
    query: str | None = None  # the input: None, the upload; else this saved query's rows
    params: dict[str, str] = field(default_factory=dict)  # the query's prompts' values
    sheet: str | None = None
    header_row: int = 1
    source: str | None = None
    action: str | None = None
    # The job's mappings as the mapping step left them (None: not chosen yet, propose them),
    # and, by column, how each was found (the auto-mapping's words).
    mappings: list[dict[str, Any]] | None = None
    found: dict[str, str] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    plan_run: str | None = None
    run: str | None = None
    undo: str | None = None  # the run that undid ``run``
    template: str | None = None  # the template it was saved as (idms.ui.template_drafts)

    @property
    def name(self) -> str:
        if self.query is not None:
            return f"Update from query {self.query}"
        return f"Import of {self.file_name}"

    @property
    def schedule_path(self) -> str:
        """The schedule form, prefilled with the template the draft was saved as, reading
        its upload (the form says how to read next month's file from an input folder); a
        query's update reads its query's rows, no file."""
        values = {"template": self.template or ""}
        if self.query is None:
            values["input"] = f"upload:{self.key}"
        return f"/schedules/new?{urlencode(values)}"

    @property
    def by_query(self) -> bool:
        return self.query is not None

    @property
    def noun(self) -> str:
        """What the wizard calls what it runs: a file's import, a query's rows' update."""
        return "update" if self.query is not None else "import"

    def document(self) -> dict[str, Any]:
        """The job document, as ``POST /api/v1/runs`` takes it."""
        reading: dict[str, Any]
        if self.query is not None:
            reading = {"query": self.query, "params": dict(self.params)}
        else:
            reading = {"upload": self.key, "header_row": self.header_row}
            if self.sheet:
                reading["sheet"] = self.sheet
        return {
            "name": self.name,
            "input": reading,
            "source": self.source,
            "action": self.action,
            "mappings": list(self.mappings or []),
            "options": dict(self.options),
        }

    def fixed_from(self, earlier: Draft) -> Draft:
        """This draft (a fixed file, e.g. the failed rows corrected) with the choices of the
        ``earlier`` one: its source, action, mapping and options (the file is read with the
        defaults: a failed-rows file has its header on row 1 of its first sheet)."""
        self.source, self.action = earlier.source, earlier.action
        self.mappings = [dict(m) for m in earlier.mappings] if earlier.mappings else None
        self.found = dict(earlier.found)
        self.options = dict(earlier.options)
        return self

    def reading_changed(self) -> None:
        """Another sheet or header row: the columns may differ, so the mapping starts again."""
        self.mappings = None
        self.found = {}
        self.plan_run = None


class DraftStore:
    """The drafts of a server, newest last (thread-safe: pages run in a thread pool)."""

    def __init__(self, limit: int = MAX_DRAFTS) -> None:
        self.limit = limit
        self._drafts: OrderedDict[tuple[str, str], Draft] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, user_id: str, draft: Draft) -> Draft:
        with self._lock:
            self._drafts[(user_id, draft.key)] = draft
            while len(self._drafts) > self.limit:
                self._drafts.popitem(last=False)
        return draft

    def get(self, user_id: str, key: str) -> Draft:
        """The user's draft ``key`` (NotFound: none, or someone else's)."""
        with self._lock:
            draft = self._drafts.get((user_id, key))
            if draft is not None:
                self._drafts.move_to_end((user_id, key))
        if draft is None:
            raise NotFound(
                "This import is not open any more (the server restarted, or it was started by "
                "someone else): upload the file again."
            )
        return draft
