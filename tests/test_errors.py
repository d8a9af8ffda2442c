"""The exception tree: one root, exit codes per branch, suggestions for unknown names; every
exception class of the package drawn in the tree, or named here as internal control flow."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import idms
import idms.errors as errors
from idms.errors import (
    EXIT_FAILED,
    EXIT_INVALID,
    IdmsError,
    InvalidInputError,
    RetryableTargetError,
    TargetError,
    UnknownFieldError,
    UnknownSourceError,
)

# Exceptions that never leave the code that raises them: each is caught nearby and turned into a
# row outcome, an HTTP answer or a decision, so no caller ever sees it. Keyed "module.QualName".
INTERNAL = {
    "idms.jobs.mapping.MappingError": "a cell that cannot be mapped: the runner records it as "
    "the row's error",
    "idms.io.csv._Undecodable": "the line source's signal that the bytes do not fit the "
    "encoding: the reader retries or reports it",
    "idms.io.csv._RowTooLong": "the line source's signal that a row passed its size limit: the "
    "reader reports it with the row's number",
    "idms.sandbox.http.ApiError": "the sandbox's error answer: its app turns it into the HTTP "
    "response",
    "idms.server.errors.ApiError": "the API's error answer: its app turns it into the HTTP "
    "response",
    "idms.schedules.claim.LostLead": "another scheduler took the lead: the tick's batch is dropped",
    "idms.jobs.undo_rows.NotUndone": "a row undo cannot put back: the undo records it as the row's "
    "skip, with the reason",
    "idms.workflows.hooks._Refused": "a webhook's run was refused: the delivery's id is let "
    "go and the refusal answered",
    "idms.runs.leases.Interrupted": "a run asked to stop (cancelled, or its lease let go of): the "
    "runner ends the run cancelled or leaves it resumable",
    "idms.values.liquid.TemplateError": "a template that fails or passes a limit: the mapping "
    "records it as the row's error",
    "idms.values.liquid._TooSlow": "python-liquid's signal that a render ran out of time: turned "
    "into a TemplateError",
    "idms.values.liquid._TooLong": "python-liquid's signal that a filter's result is too long: "
    "turned into a TemplateError",
    "idms.io.csv.CellError": "a cell the file cannot hold as asked: Convert turns it into a "
    "StepFailed naming the row and column",
    "idms.workflows.actions.delta_hashing._Repeated": "a key met twice: the step fails saying "
    "where it was first",
    "idms.ui.refusals.UiRefusal": "a request the web UI refuses: its handler answers with a page "
    "(the status, a title and the words), never a traceback",
    "idms.ui.refusals.SignInNeeded": "no live session: the UI's handler sends a GET to the "
    "sign-in page",
    "idms.ui.refusals.RoleRefused": "a role too low for the page: the UI's handler answers 403 "
    "with a page saying which role is needed",
    "idms.ui.refusals.NotThere": "what a page asked for is not there: the UI's handler answers "
    "404 with a page saying so",
    "idms.ui.refusals.CsrfRefused": "a form without its token: the UI's handler answers 403 with "
    "a page saying so",
}
# Modules that cannot be imported outside the tool that runs them.
NOT_IMPORTABLE = re.compile(r"\.migrations\.env$|\.__main__$")  # Alembic's env: only in a migration


def package_modules() -> list[str]:
    """Every module of idms, found on disk: pkgutil.walk_packages skips the namespace packages
    (folders without ``__init__.py``, such as ``idms.targets``)."""
    root = Path(idms.__file__).parent
    names = []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        if not NOT_IMPORTABLE.search(name):
            names.append(name)
    return names


def exception_classes() -> dict[str, type[BaseException]]:
    """Every exception class defined in idms (at module level or inside a class)."""
    found: dict[str, type[BaseException]] = {}

    def collect(namespace: dict[str, object], module: str) -> None:
        for value in namespace.values():
            if isinstance(value, type) and value.__module__ == module:
                if issubclass(value, BaseException):
                    found[f"{module}.{value.__qualname__}"] = value
                collect(dict(vars(value)), module)

    for name in package_modules():
        collect(dict(vars(importlib.import_module(name))), name)
    return found


def drawn_tree() -> dict[str, str | None]:
    """The tree drawn in errors.py's docstring: each class name with the name drawn above it."""
    block = (errors.__doc__ or "").split("::", 1)[1].strip("\n").split("\n\n", 1)[0]
    indent = len(block) - len(block.lstrip(" "))
    parents: dict[str, str | None] = {}
    chain: list[str] = []
    for line in block.splitlines():
        match = re.match(r"(\s*[│├└─ ]*)([A-Za-z_]\w*)", line)
        assert match, f"not a line of the tree: {line!r}"
        depth = (len(match.group(1)) - indent) // 4
        del chain[depth:]
        parents[match.group(2)] = chain[-1] if chain else None
        chain.append(match.group(2))
    return parents


def test_every_exception_class_is_drawn_in_the_tree_or_internal() -> None:
    classes = exception_classes()
    tree = drawn_tree()
    assert "idms.errors.IdmsError" in classes, "the walk finds the package's exceptions"
    assert "idms.targets.imis.client.ImisRefused" in classes, "namespace packages too"
    unknown = sorted(q for q, c in classes.items() if c.__name__ not in tree and q not in INTERNAL)
    assert not unknown, (
        f"draw these in the tree of idms/errors.py, or list them in INTERNAL with a reason: "
        f"{unknown}"
    )
    assert not set(INTERNAL) - set(classes), "no longer defined: drop it from INTERNAL"
    for qualified in INTERNAL:
        cls = classes[qualified]
        assert not issubclass(cls, IdmsError), f"{qualified} reaches callers: draw it in the tree"
        assert cls.__name__ not in tree, f"{qualified} is both drawn and listed as internal"


def test_the_tree_is_drawn_as_the_classes_descend() -> None:
    classes = exception_classes()
    by_name: dict[str, list[type[BaseException]]] = {}
    for cls in classes.values():
        by_name.setdefault(cls.__name__, []).append(cls)
    tree = drawn_tree()
    assert [n for n, parent in tree.items() if parent is None] == ["IdmsError"]
    for name, parent in tree.items():
        assert name in by_name, f"{name} is drawn in the tree but no class has that name"
        for cls in by_name[name]:
            if parent is not None:
                assert cls.__bases__[0].__name__ == parent, f"{cls} is drawn under {parent}"


def test_exit_codes_by_branch() -> None:
    assert InvalidInputError("x").exit_code == EXIT_INVALID
    assert UnknownSourceError("Contcat", ["Contact"]).exit_code == EXIT_INVALID
    assert TargetError("x").exit_code == EXIT_FAILED
    assert issubclass(RetryableTargetError, TargetError)


def test_suggestions() -> None:
    err = UnknownSourceError("Contcat", ["Contact", "Activity"])
    assert err.suggestion == "Contact"
    assert "Did you mean 'Contact'?" in str(err)
    field = UnknownFieldError("Contact", "Emial", ["Email"])
    assert field.suggestion == "Email"
    assert "Did you mean 'Email'?" in str(field)
    none = UnknownSourceError("zzzzzz", ["Contact"])
    assert none.suggestion is None
    assert "Did you mean" not in str(none)
