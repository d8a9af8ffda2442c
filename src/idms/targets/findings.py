"""One finding of the checks made before a run (``idms check``, and the start of every run
against iMIS): what is wrong or worth knowing, said for a data manager, and what to do.

A run refuses to start on an ``error`` finding; ``warning`` and ``info`` are shown only. They
are plain data so that every shell (CLI text, ``--json``, the API) shows the same thing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True)
class Finding:
    code: str
    severity: Severity
    message: str
    action: str = ""

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def as_dict(self) -> dict[str, str]:
        return asdict(self)
