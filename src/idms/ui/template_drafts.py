"""The import wizard and templates, both ways: a new upload's draft takes a saved template's
source, action, mapping and options (``/import?template=NAME``, from the templates page), and
a draft is saved as a template (the plan step's "Save as template", the results step's
"Schedule this import"), by the facade's one call, the one ``idms template save`` and
``PUT /api/v1/templates/NAME`` make.

A template's password constant comes masked (it is stored encrypted, and never put in a page):
the mapping step shows it masked, and the plan refuses it until it is given again, as
``idms template show`` says of a copy.
"""

from __future__ import annotations

from idms.ui.drafts import Draft
from idms.workspace import Workspace


def apply_template(draft: Draft, workspace: Workspace, name: str) -> Draft:
    """``draft`` (a new upload's) with template ``name``'s choices (NotFound, with the closest
    name, when there is none). The file is read with the defaults (header on row 1 of the
    first sheet); a template keeps no file."""
    info = workspace.templates.get(name)
    document = info.document
    mappings = [dict(m) for m in document.get("mappings") or [] if isinstance(m, dict)]
    draft.source = str(document.get("source") or "") or None
    draft.action = str(document.get("action") or "") or None
    draft.mappings = mappings or None
    draft.found = {
        str(m["column"]): f"from template '{info.name}'"
        for m in mappings
        if m.get("column") is not None
    }
    options = document.get("options")
    draft.options = dict(options) if isinstance(options, dict) else {}
    return draft


def save_draft(workspace: Workspace, draft: Draft, name: str) -> bool:
    """Check the draft's job and save it as template ``name`` (True: new, False: replaced);
    the draft remembers the name, so the wizard can offer to schedule it."""
    saved = workspace.save_template(name, workspace.job_from_request(draft.document()))
    draft.template = name
    return saved
