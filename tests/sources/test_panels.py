"""Panel definitions: every problem reported at once; the panel's source has the right keys."""

from __future__ import annotations

import pytest

from idms.errors import PanelDefinitionError
from idms.sources.panels import panel_source, parse_panel

GOOD = """
name: Volunteering
kind: multi
fields:
  - {name: Role, type: string, length: 60, required: true}
  - {name: Skills, type: multiselect, lookup: VOLUNTEER_SKILL}
  - {name: Hours, type: decimal}
"""


def test_good_panel_becomes_a_source() -> None:
    source = panel_source(parse_panel(GOOD))
    assert source.name == "Volunteering"
    assert source.panel_kind == "multi"
    assert source.identity == ("ImisId", "Ordinal")
    assert source.field_names[:2] == ["ImisId", "Ordinal"]
    assert source.field("Skills").appendable
    assert source.field("Role").required_on_insert


@pytest.mark.parametrize(
    ("kind", "identity"),
    [("single", ("ImisId",)), ("multi", ("ImisId", "Ordinal")), ("standalone", ("Ordinal",))],
)
def test_identity_by_kind(kind: str, identity: tuple[str, ...]) -> None:
    text = GOOD.replace("kind: multi", f"kind: {kind}")
    assert panel_source(parse_panel(text)).identity == identity


def test_every_problem_is_listed() -> None:
    bad = """
name: 9bad name
kind: multi
fields:
  - {name: Role, type: string}
  - {name: role, type: string}
  - {name: Ordinal, type: integer}
  - {name: Level, type: code}
  - {name: Hours, type: decimal, length: 5}
"""
    with pytest.raises(PanelDefinitionError) as info:
        parse_panel(bad)
    problems = info.value.problems
    assert any("name: '9bad name'" in p for p in problems)
    assert any("used twice" in p for p in problems)
    assert any("'Ordinal' is reserved" in p for p in problems)
    assert any("needs a lookup table" in p for p in problems)
    assert any("length applies to string fields only" in p for p in problems)
    assert info.value.exit_code == 2


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("name: [unclosed", "not valid YAML"),
        ("- a list", "must be a mapping"),
        ("name: P\nkind: triple\nfields: [{name: A}]", "kind"),
        ("name: P\nkind: single\nfields: []", "fields"),
        ("name: P\nkind: single\nfields: [{name: A, type: blob}]", "fields.0.type"),
        ("name: Contact\nkind: single\nfields: [{name: A}]", "already the name of a source"),
    ],
)
def test_malformed(text: str, fragment: str) -> None:
    with pytest.raises(PanelDefinitionError) as info:
        parse_panel(text, reserved_names={"Contact"})
    assert fragment in str(info.value)
