"""Settings: flags beat IDMS_* variables beat defaults; bad values are refused with exit 2."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from idms.config import Platform, Settings
from idms.errors import EXIT_INVALID, ConfigError
from idms_env import idms_settings_in_environment


def test_defaults() -> None:
    s = Settings.load(environ={})
    assert s.workspace == Path("idms-data")
    assert s.target == "embedded"
    assert s.platform is Platform.EMS
    assert s.lockout_threshold == 5
    assert s.password_min_length == 6
    assert s.store_url.endswith("idms-data/imis.db")
    assert s.suite_url.endswith("idms-data/suite.db")


def test_environment_then_flags(tmp_path: Path) -> None:
    env = {
        "IDMS_WORKSPACE": str(tmp_path / "env"),
        "IDMS_PLATFORM": "2017",
        "IDMS_LOCKOUT_THRESHOLD": "3",
        "IDMS_TARGET": "sqlite:///" + str(tmp_path / "x.db"),
    }
    s = Settings.load(environ=env)
    assert s.workspace == tmp_path / "env"
    assert s.platform is Platform.IMIS_2017
    assert s.lockout_threshold == 3
    assert s.store_url == "sqlite:///" + str(tmp_path / "x.db")
    flagged = Settings.load(
        workspace=tmp_path / "flag", platform="EMS", target="embedded", environ=env
    )
    assert flagged.workspace == tmp_path / "flag"
    assert flagged.platform is Platform.EMS
    assert flagged.store_url.endswith("flag/imis.db")


def test_postgres_url_uses_psycopg() -> None:
    s = Settings.load(target="postgresql://u@h/db", environ={})
    assert s.store_url == "postgresql+psycopg://u@h/db"


@pytest.mark.parametrize(
    ("kwargs", "env", "fragment"),
    [
        ({"platform": "2019"}, {}, "Unknown platform '2019'"),
        ({"target": "mysql://x"}, {}, "Unknown target 'mysql://x'"),
        ({}, {"IDMS_LOCKOUT_THRESHOLD": "five"}, "must be a whole number"),
        ({}, {"IDMS_LOCKOUT_THRESHOLD": "0"}, "at least 1"),
    ],
)
def test_bad_settings_are_refused(
    kwargs: dict[str, str], env: dict[str, str], fragment: str
) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.load(environ=env, **kwargs)  # type: ignore[arg-type]
    assert fragment in str(info.value)
    assert info.value.exit_code == EXIT_INVALID


def test_remote_target_has_no_store() -> None:
    s = Settings.load(target="imis+https://example.org/", environ={})
    with pytest.raises(ConfigError, match="remote iMIS"):
        _ = s.store_url


def test_secrets_in_settings_are_never_printed() -> None:
    key = "c2VjcmV0LWtleS1zZWNyZXQta2V5LXNlY3JldC1rZXktMTI="
    settings = Settings.load(
        environ={
            "IDMS_SECRET_KEY": key,
            "IDMS_SMTP_URL": "smtp://user:Pa55word@mail.example.org:25",
        }
    )
    assert settings.secret_key == key
    assert key not in repr(settings)
    assert "Pa55word" not in repr(settings)


# ---- every IDMS_* variable: documented, and cleared for every test --------------------------

ROOT = Path(__file__).resolve().parents[1]
VARIABLE = re.compile(r"\bIDMS_[A-Z][A-Z0-9_]*")
# Read by idms but not settings a user sets, so not in the settings table; each with its reason.
NOT_SETTINGS: dict[str, str] = {}


def variables_in_source() -> dict[str, set[str]]:
    """Every ``IDMS_*`` name in a string literal (f-strings included) of src/idms, with the
    modules it appears in."""
    found: dict[str, set[str]] = {}
    package = ROOT / "src" / "idms"
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                for name in VARIABLE.findall(node.value):
                    found.setdefault(name, set()).add(str(path.relative_to(package)))
    return found


def test_every_idms_variable_read_by_the_code_is_documented() -> None:
    read = variables_in_source()
    assert "IDMS_WORKSPACE" in read, "the scan finds the variables the settings read"
    docs = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    documented = set(VARIABLE.findall("\n".join(p.read_text(encoding="utf-8") for p in docs)))
    missing = {n: sorted(where) for n, where in read.items() if n not in documented}
    missing = {n: where for n, where in missing.items() if n not in NOT_SETTINGS}
    assert not missing, f"read by idms but in neither README.md nor docs/: {missing}"
    assert not set(NOT_SETTINGS) - set(read), "no longer read: drop it from NOT_SETTINGS"


def test_no_idms_setting_from_the_shell_reaches_a_test() -> None:
    # tests/conftest.py clears them all before every test (IDMS_TEST_* excepted: the services).
    assert idms_settings_in_environment() == []
    assert Settings.load() == Settings.load(environ={})


def test_the_readme_settings_table_names_each_variable_once() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text[text.index("## Settings") :].split("\n\n", 2)[1]
    rows = [line for line in table.splitlines() if line.startswith("|")]
    named = [name for row in rows for name in VARIABLE.findall(row)]
    assert "IDMS_WORKSPACE" in named, "the table is where the test looks"
    twice = sorted({name for name in named if named.count(name) > 1})
    assert not twice, f"listed more than once in README's settings table: {twice}"
