"""Pictures of runs, drawn on the server as inline SVG (no chart library, no script): a run's
outcome counts as one stacked bar, and the runs of the last days as a bar per day stacked by
outcome. Each picture has a <title> and an aria-label that say in words what it shows; the
pages print the same numbers beside it (a legend, a table), for anyone who cannot see it.

Colours are SVG presentation attributes (``fill``), not ``style``: the pages' Content
Security Policy refuses inline styles, not attributes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

from idms.runs.search import DayCounts

# The outcomes of a run's rows, in their usual order, with a colour and a word for each.
OUTCOME_PARTS = (
    ("inserted", "Inserted", "#1d7a3c"),
    ("updated", "Updated", "#1f5fae"),
    ("unchanged", "Unchanged", "#8c96a5"),
    ("deleted", "Deleted", "#6b3fa0"),
    ("skipped", "Skipped", "#c98a00"),
    ("errors", "Errors", "#b42318"),
)
DAY_PARTS = (
    ("succeeded", "Succeeded", "#1d7a3c"),
    ("failed", "Failed or with errors", "#b42318"),
    ("other", "Other (queued, running, cancelled, planned)", "#8c96a5"),
)


@dataclass(frozen=True)
class LegendItem:
    label: str
    colour: str
    count: str


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word if n == 1 else word + 's'}"


def _word(key: str, label: str, n: int) -> str:
    return "error" if key == "errors" and n == 1 else label.lower()


def outcome_bar(counts: dict[str, int], *, width: int = 720, height: int = 28) -> Markup:
    """A run's outcome counts as one bar, each outcome a part as wide as its share."""
    total = sum(counts.get(key, 0) for key, _, _ in OUTCOME_PARTS)
    words = ", ".join(
        f"{counts.get(key, 0):,} {_word(key, label, counts.get(key, 0))}"
        for key, label, _ in OUTCOME_PARTS
    )
    summary = f"Outcome of {_plural(total, 'row')}: {words}"
    parts = [
        f'<svg class="chart outcome-bar" role="img" aria-label="{escape(summary)}" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        'xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(summary)}</title>",
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#eef1f5" rx="4"/>',
    ]
    x = 0.0
    for key, label, colour in OUTCOME_PARTS:
        n = counts.get(key, 0)
        if not n or not total:
            continue
        w = width * n / total
        parts.append(
            f'<rect x="{x:.2f}" y="0" width="{w:.2f}" height="{height}" fill="{colour}" '
            f'data-outcome="{key}"><title>{escape(label)}: {n:,}</title></rect>'
        )
        x += w
    parts.append("</svg>")
    return Markup("".join(parts))  # nosec B704 # every value in it escaped above


def outcome_legend(counts: dict[str, int]) -> list[LegendItem]:
    return [
        LegendItem(label, colour, f"{counts.get(key, 0):,}") for key, label, colour in OUTCOME_PARTS
    ]


def day_legend() -> list[LegendItem]:
    return [LegendItem(label, colour, "") for _, label, colour in DAY_PARTS]


def daily_chart(days: Sequence[DayCounts], *, width: int = 900, height: int = 180) -> Markup:
    """A bar per day, stacked: succeeded (bottom), failed, other; the tallest day fills the
    height. Every seventh day and the last are labelled under their bar."""
    top, bottom, left = 12, 24, 36
    plot_h = height - top - bottom
    slot = (width - left) / max(len(days), 1)
    bar = max(slot * 0.7, 1.0)
    highest = max((d.total for d in days), default=0)
    scale = plot_h / highest if highest else 0.0
    total = sum(d.total for d in days)
    first = days[0].day.isoformat() if days else ""
    last = days[-1].day.isoformat() if days else ""
    summary = (
        f"Runs per day from {first} to {last}: {_plural(total, 'run')}, "
        f"{sum(d.succeeded for d in days):,} succeeded, {sum(d.failed for d in days):,} "
        f"failed or with errors, {sum(d.other for d in days):,} other"
    )
    parts = [
        f'<svg class="chart daily-chart" role="img" aria-label="{escape(summary)}" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        'xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(summary)}</title>",
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width}" y2="{top + plot_h}" '
        'stroke="#8c96a5" stroke-width="1"/>',
        f'<text x="{left - 6}" y="{top + 4}" text-anchor="end" font-size="11" '
        f'fill="#5a6473">{highest:,}</text>',
        f'<text x="{left - 6}" y="{top + plot_h}" text-anchor="end" font-size="11" '
        'fill="#5a6473">0</text>',
    ]
    for i, day in enumerate(days):
        x = left + i * slot + (slot - bar) / 2
        y = float(top + plot_h)
        tip = (
            f"{day.day.isoformat()}: {_plural(day.total, 'run')} ({day.succeeded:,} succeeded, "
            f"{day.failed:,} failed, {day.other:,} other)"
        )
        parts.append(f'<g data-day="{day.day.isoformat()}"><title>{escape(tip)}</title>')
        for key, _, colour in DAY_PARTS:
            n = getattr(day, key)
            if not n:
                continue
            h = n * scale
            y -= h
            parts.append(
                f'<rect x="{x:.2f}" y="{y:.2f}" width="{bar:.2f}" height="{h:.2f}" '
                f'fill="{colour}" data-part="{key}"/>'
            )
        parts.append("</g>")
        end = len(days) - 1
        if (i % 7 == 0 and end - i >= 4) or i == end:  # labels that do not overlap
            parts.append(
                f'<text x="{x + bar / 2:.2f}" y="{height - 6}" text-anchor="middle" '
                f'font-size="11" fill="#5a6473">{day.day.strftime("%d %b")}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))  # nosec B704 # every value in it escaped above
