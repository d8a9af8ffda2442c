"""The README and docs/ point only at files the repository holds: every relative link resolves,
and every Markdown file they name (in a link or in backticks) is one of the repository's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")
NAMED_PAGE = re.compile(r"[\w./-]*\b[\w-]+\.md\b")
HELD = {p.name for p in ROOT.rglob("*.md") if ".venv" not in p.parts}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page: Path) -> None:
    broken = []
    for target in LINK.findall(page.read_text(encoding="utf-8")):
        if re.match(r"[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue  # a URL, or an anchor on this page
        if not (page.parent / target.split("#", 1)[0]).exists():
            broken.append(target)
    assert not broken, f"{page.relative_to(ROOT)} links to files not in the repository: {broken}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_named_markdown_files_are_in_the_repository(page: Path) -> None:
    text = re.sub(r"\]\([^)]*\)|https?://\S+", "", page.read_text(encoding="utf-8"))
    named = {Path(m).name for m in NAMED_PAGE.findall(text)}
    missing = sorted(named - HELD)
    assert not missing, f"{page.relative_to(ROOT)} names pages the repository lacks: {missing}"
