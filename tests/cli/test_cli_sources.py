"""idms init and idms sources."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from typer.testing import Result

from idms.cli.gen_docs import render
from idms.sources.registry import builtin_sources

UNSUPPORTED_REASON = "not supported by iDMS or the iMIS REST API"

Invoke = Callable[..., Result]


def test_init_creates_the_workspace_and_is_idempotent(cli: Invoke, workspace: Path) -> None:
    first = cli("init")
    assert first.exit_code == 0, first.output
    for name in ("suite.db", "imis.db", "secret.key"):
        assert (workspace / name).exists()
        assert str(workspace / name) in first.stdout
    assert first.stdout.count("created") == 4
    key = (workspace / "secret.key").read_bytes()

    second = cli("init")
    assert second.exit_code == 0, second.output
    assert "created" not in second.stdout
    assert second.stdout.count("exists") == 4
    assert (workspace / "secret.key").read_bytes() == key  # the key is never replaced


def test_init_with_the_workspace_flag(cli: Invoke, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    result = cli("--workspace", str(elsewhere), "init")
    assert result.exit_code == 0, result.output
    assert (elsewhere / "imis.db").exists()


def test_sources_works_on_a_fresh_machine(cli: Invoke) -> None:
    result = cli("sources")
    assert result.exit_code == 0, result.output
    for source in builtin_sources():
        if source.available_on("ems", embedded=True):
            assert source.name in result.stdout


def test_sources_json_lists_at_least_12_sources(cli: Invoke) -> None:
    result = cli("sources", "--json")
    assert result.exit_code == 0, result.output
    defs = json.loads(result.stdout)
    assert len(defs) >= 12
    names = {d["name"] for d in defs}
    assert {"Contact", "Address", "Activity", "UserCredentials", "Gift"} <= names
    assert all({"fields", "actions", "keys", "platforms"} <= d.keys() for d in defs)


def test_sources_follows_the_platform(cli: Invoke) -> None:
    ems = {d["name"] for d in json.loads(cli("sources", "--json").stdout)}
    old = {d["name"] for d in json.loads(cli("--platform", "2017", "sources", "--json").stdout)}
    assert "Event" in ems
    assert "Event" not in old  # events are EMS-only
    listing = cli("--platform", "2017", "sources").stdout
    assert "iMIS 2017 rules" in listing


def test_one_source_marks_unsupported_fields_with_the_reason(cli: Invoke) -> None:
    result = cli("sources", "UserCredentials")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    for name in ("EffectiveDate", "ExpirationDate", "IsDisabled"):
        row = next(line for line in lines if line.split()[:1] == [name])
        assert "UNSUPPORTED" in row
        assert UNSUPPORTED_REASON in row
    password = next(line for line in lines if line.split()[:1] == ["Password"])
    assert "secret" in password
    locked = next(line for line in lines if line.split()[:1] == ["IsLockedOut"])
    assert "read-only" in locked
    # keys, actions, per-platform restriction with its note, required-on-insert, rules
    out = result.stdout
    assert "Match keys:" in out
    assert "Required on insert:" in out
    assert "iMIS 2017: no action" in out
    assert "can only unlock user accounts" in out
    assert "Usernames are unique without regard to case." in out


def test_one_source_by_label_any_case(cli: Invoke) -> None:
    result = cli("sources", "contact details")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Contact — Contact Details")


def test_one_source_json(cli: Invoke) -> None:
    result = cli("sources", "Contact", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["name"] == "Contact"
    assert any(f["name"] == "LastName" for f in data["fields"])


def test_unknown_source_suggests_the_closest(cli: Invoke) -> None:
    result = cli("sources", "Contcat")
    assert result.exit_code == 2
    assert "Did you mean 'Contact'" in result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.output


def test_sources_md_is_up_to_date() -> None:
    docs = Path(__file__).resolve().parents[2] / "docs" / "sources.md"
    assert docs.read_text(encoding="utf-8") == render(), (
        "docs/sources.md is stale: run python -m idms.cli.gen_docs > docs/sources.md"
    )


def test_sources_md_covers_every_builtin_source_and_field() -> None:
    text = render()
    for source in builtin_sources():
        assert f"## {source.name}\n" in text
        for field in source.fields:
            assert f"| `{field.name}` |" in text
        for rule in source.rules:
            assert rule.replace("|", "\\|") in text
