"""The transfer tests reuse the workflow tests' file servers (tests/workflows/servers.py):
that folder is put on the import path here, as pytest does for the folder of the tests it
collects, so ``from servers import …`` works when only tests/transfers is run."""

from __future__ import annotations

import sys
from pathlib import Path

_WORKFLOWS = str(Path(__file__).parents[1] / "workflows")
if _WORKFLOWS not in sys.path:
    sys.path.append(_WORKFLOWS)
