"""A batch's results as the store keeps them for a durable run (``idms_applied_batches``).

JSON, with dates, times and amounts as text: the same form in which a run records before and
after images (``state/runs.py``), so results read back from here settle a row exactly as the
results of the call itself would have.
"""

from __future__ import annotations

from collections.abc import Sequence

from idms import jsontext
from idms.targets.base import ApplyResult, RowError


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
    return jsontext.dumps(items)


def journal_results(text: str) -> list[ApplyResult]:
    out: list[ApplyResult] = []
    for item in jsontext.loads(text):
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
