"""Below the command line, messages name no command-line flag: the same error reaches an HTTP
client, a schedule's log and a notification, where ``--input FILE`` means nothing. What to type
on the command line goes in the error's ``hint`` (``IdmsError(message, hint=...)``), which only
the command line shows.

Every string literal of the package outside ``idms.cli`` counts, except docstrings, ``hint=``
arguments, and the few functions that read the command line's own flags for it (listed below,
each with why).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import idms

ROOT = Path(idms.__file__).parent
FLAG = re.compile(r"(?<![\w-])--[a-z]")

# (module, function): messages about flags the user typed, in code only the command line calls.
CLI_ONLY = {
    ("jobs/assemble.py", "flags_document"),  # idms import's --map, --set, --match, --option
    ("demo/generate.py", "_refuse_filled"),  # idms demo
    # the sign-in page with no users yet: the first account can only be made on the command line
    ("ui/pages/signin.py", "first_admin_command"),
}


def flagged(source: str, module: str) -> list[str]:
    """The string literals of ``source`` (module ``module``) that name a flag."""
    tree = ast.parse(source)
    spared: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            spared.add(id(body[0].value))  # a docstring
        if isinstance(node, ast.keyword) and node.arg == "hint":
            spared.update(id(sub) for sub in ast.walk(node.value))
    found: list[str] = []

    def visit(node: ast.AST, function: str) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            function = node.name
        if (module, function) in CLI_ONLY:
            return
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in spared
            and FLAG.search(node.value)
        ):
            found.append(f"{module}:{node.lineno} ({function}): {node.value!r}")
        for child in ast.iter_child_nodes(node):
            visit(child, function)

    visit(tree, "")
    return found


def test_no_message_below_the_command_line_names_a_flag() -> None:
    found: list[str] = []
    for path in sorted(ROOT.rglob("*.py")):
        module = path.relative_to(ROOT).as_posix()
        if module.startswith("cli/") or "/migrations/" in module:
            continue
        found += flagged(path.read_text(encoding="utf-8"), module)
    assert found == [], "\n".join(found)


def test_the_check_sees_a_flag_in_a_message_only() -> None:
    source = (
        '"""Use --input."""\n'
        "def f():\n"
        '    """--x"""\n'
        '    raise E(f"give one with --input {x}", hint="Give --input FILE.")\n'
        "def flags_document():\n"
        '    raise E("--map: write COLUMN=FIELD")\n'
    )
    assert flagged(source, "jobs/prepare.py") == [
        "jobs/prepare.py:4 (f): 'give one with --input '",
        "jobs/prepare.py:6 (flags_document): '--map: write COLUMN=FIELD'",
    ]
    # Spared only where it reads the command line's own flags.
    assert flagged(source, "jobs/assemble.py") == [
        "jobs/assemble.py:4 (f): 'give one with --input '"
    ]
