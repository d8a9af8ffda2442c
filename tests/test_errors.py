"""The exception tree: one root, exit codes per branch, suggestions for unknown names."""

from __future__ import annotations

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


def test_every_error_descends_from_the_root_and_is_drawn_in_the_tree() -> None:
    doc = errors.__doc__ or ""
    classes = [v for v in vars(errors).values() if isinstance(v, type) and issubclass(v, Exception)]
    assert classes
    for cls in classes:
        assert issubclass(cls, IdmsError), cls
        assert cls.__name__ in doc, f"{cls.__name__} missing from the tree in the docstring"


def test_exit_codes_by_branch() -> None:
    assert InvalidInputError("x").exit_code == EXIT_INVALID
    assert UnknownSourceError("Contcat", ["Contact"]).exit_code == EXIT_INVALID
    assert TargetError("x").exit_code == EXIT_FAILED
    assert issubclass(RetryableTargetError, TargetError)


def test_suggestions() -> None:
    err = UnknownSourceError("Contcat", ["Contact", "Activity"])
    assert err.suggestion == "Contact"
    assert "Did you mean 'Contact'?" in str(err)
    field = UnknownFieldError("Contact", "Emial", ["Email", "FirstName"])
    assert field.suggestion == "Email"
    assert "Did you mean 'Email'?" in str(field)
    none = UnknownSourceError("zzzzzz", ["Contact"])
    assert none.suggestion is None
    assert "Did you mean" not in str(none)
