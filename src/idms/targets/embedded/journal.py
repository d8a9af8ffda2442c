"""A batch's results as the store keeps them for a durable run (``idms_applied_batches``).

JSON, with dates, times and amounts as text: the same form in which a run records before and
after images (``state/runs.py``), so results read back from here settle a row exactly as the
results of the call itself would have.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from idms.jsontext import compact
from idms.targets.base import ApplyResult, RowError


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    raise TypeError(f"cannot journal {type(value).__name__}")


def journal_text(results: Sequence[ApplyResult]) -> str:
    items = [
        {
            "ref": r.ref,
            "ok": r.ok,
            "before": r.before,
            "after": r.after,
            "error": (
                {"code": r.error.code, "message": r.error.message, "field": r.error.field}
                if r.error is not None
                else None
            ),
        }
        for r in results
    ]
    return compact(items, _default)


def journal_results(text: str) -> list[ApplyResult]:
    out: list[ApplyResult] = []
    for item in json.loads(text):
        error = item.get("error")
        out.append(
            ApplyResult(
                ref=int(item["ref"]),
                ok=bool(item["ok"]),
                before=item.get("before"),
                after=item.get("after"),
                error=RowError(error["code"], error["message"], error.get("field"))
                if error
                else None,
            )
        )
    return out
