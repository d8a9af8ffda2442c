"""``/import`` (editors): the import wizard — upload a file, see how it was read, choose the
source and action, map the columns, set the options, plan, run, and save it as a template.

Each step is a page; what was chosen so far is a draft kept on the server for the signed-in
user and the upload (:mod:`idms.ui.drafts`), so the browser sends only the upload's random ID
and the step's own choices. The job is the document ``POST /api/v1/runs`` takes
(``"input": {"upload": ID}``), built and checked by the facade as a request's job is; the only
file the wizard reads is the upload. A step answers a POST with a redirect to the next step
(a reload sends nothing twice), or with its own page again saying what is wrong.

The steps live in modules of their own: :mod:`.upload` (1. upload, 2. the file as read),
:mod:`.choices` (3. source and action, 4. mapping, 5. options), :mod:`.plan` (6. plan, and
saving as a template) and :mod:`.results` (7. run, its results, undo, failed rows), over what
they share in :mod:`.wizard`. Every step adds its routes to the one ``router`` (of
:mod:`.wizard`) the app installs.
"""

from __future__ import annotations

from idms.ui.pages.imports import choices, plan, results, upload
from idms.ui.pages.imports.wizard import UPLOAD_PATH, router

__all__ = ["STEPS", "UPLOAD_PATH", "router"]

STEPS = (upload, choices, plan, results)  # imported for the routes they add to ``router``
