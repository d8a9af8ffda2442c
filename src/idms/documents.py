"""The one reader of the YAML and JSON documents people hand idms: job files, templates, saved
queries, panel definitions (anything a person writes; not what idms stores for itself).

A document is plain data, and reading one costs about as much as its text is long:

* YAML aliases (``*name``, and the ``<<: *name`` merges built on them) are refused. An alias makes
  one value stand for another, so a 500-byte "billion laughs" (nine levels of ten aliases each)
  stands for a billion values once anything walks it (validation, JSON, a template's
  ``to_document``): past 4 GB of memory before this rule. Anchors without aliases are harmless
  and allowed.
* Nesting is bounded (:data:`MAX_DEPTH` levels, far more than any job needs): a few kilobytes of
  ``[[[[...`` would otherwise exhaust Python's recursion in the parser or in validation.
* Only plain data comes back (PyYAML's safe loader: no Python objects).

A document's problems are worded by where they are and what is wrong, never by quoting the text
read: a file read as a job may be no job at all (a password file, a key), and then its "keys"
are lines of it and a syntax error's excerpt is a line of it. So a syntax error says its line and
column, not the excerpt (:func:`read_yaml`, :func:`read_json`), and an unknown key is named only
when it could be a setting's name (:func:`describe_problems`).

Every module reads YAML through :func:`read_yaml` or :func:`read_document`
(``tests/architecture/test_documents.py`` holds them to it). Problems are :class:`DocumentError`
(an :class:`~idms.errors.InvalidInputError`), whose message is a predicate ("is not valid YAML:
...", "uses the YAML alias *x (line 3), ...") that callers put after the document's name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Any

import yaml
from yaml.events import AliasEvent, CollectionStartEvent
from yaml.nodes import Node

from idms.errors import InvalidInputError, printable

__all__ = [
    "MAX_DEPTH",
    "DocumentError",
    "describe_problems",
    "read_document",
    "read_json",
    "read_yaml",
    "shown_key",
]

MAX_DEPTH = 64  # levels of nested mappings and lists; a job uses four or five


class DocumentError(InvalidInputError):
    """A document is not valid YAML or JSON, uses a YAML alias, or nests too deeply."""


class _PlainLoader(yaml.SafeLoader):
    """PyYAML's pure-Python safe loader, refusing aliases and counting depth as nodes are
    composed (the C loader cannot be told to; documents are small)."""

    _depth = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        if self.check_event(AliasEvent):
            event = self.get_event()  # type: ignore[no-untyped-call]
            line = event.start_mark.line + 1
            raise DocumentError(
                f"uses the YAML alias *{printable(str(event.anchor))} (line {line}), which idms "
                f"does not accept: an alias can make a few lines stand for billions of values. "
                f"Write the value out in full where it is needed."
            )
        if not self.check_event(CollectionStartEvent):
            return super().compose_node(parent, index)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                line = self.peek_event().start_mark.line + 1  # type: ignore[no-untyped-call]
                raise DocumentError(
                    f"nests lists and mappings more than {MAX_DEPTH} levels deep (line {line})."
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def read_yaml(text: str) -> Any:
    """The plain data of a YAML document (JSON is YAML too); :class:`DocumentError` if it is not
    valid YAML, uses an alias or nests too deeply."""
    loader: _PlainLoader | None = None
    try:
        loader = _PlainLoader(text)
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        raise DocumentError(f"is not valid YAML{_where_wrong(exc)}") from None
    except RecursionError:  # deeper than the interpreter allows, before MAX_DEPTH was reached
        raise DocumentError(
            f"nests lists and mappings more than {MAX_DEPTH} levels deep."
        ) from None
    finally:
        if loader is not None:
            loader.dispose()


def read_json(text: str | bytes) -> Any:
    """The data of a JSON document; :class:`DocumentError` if it is not valid JSON or nests more
    than :data:`MAX_DEPTH` levels deep."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DocumentError(f"is not valid JSON{_where_wrong(exc)}") from None
    except RecursionError:
        raise DocumentError(f"nests lists and objects more than {MAX_DEPTH} levels deep.") from None
    _check_depth(data)
    return data


def read_document(text: str) -> Any:
    """A YAML or JSON document: JSON when it starts with ``{``, YAML otherwise."""
    if text.lstrip().startswith("{"):
        return read_json(text)
    return read_yaml(text)


def _check_depth(data: Any) -> None:
    """Refuse JSON data nested deeper than :data:`MAX_DEPTH` (without recursion)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > MAX_DEPTH:
            raise DocumentError(f"nests lists and objects more than {MAX_DEPTH} levels deep.")
        stack.extend((child, depth + 1) for child in children)


def _where_wrong(exc: yaml.YAMLError | json.JSONDecodeError) -> str:
    """`` (line L, column C): what is wrong``, without the excerpt of the text a parser's own
    message quotes (for a file that is no document, a line of that file)."""
    line = column = None
    what = ""
    if isinstance(exc, json.JSONDecodeError):
        line, column, what = exc.lineno, exc.colno, exc.msg
    elif isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        if mark is not None:
            line, column = mark.line + 1, mark.column + 1
        what = exc.problem or ""
    at = f" (line {line}, column {column})" if line is not None else ""
    # What a parser quotes of the text (a token, a character) goes too.
    what = re.sub(r"'[^']*'|\"[^\"]*\"", "…", what)
    return f"{at}: {what}" if what else at


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,39}")


def shown_key(key: object) -> str | None:
    """``key`` if a message may name it (it looks like a setting's name), else None."""
    return key if isinstance(key, str) and _NAME.fullmatch(key) else None


def describe_problems(
    errors: Iterable[Any],
    *,
    unknown: str,
    location: Callable[[Any], str],
    message: Callable[[Any], str],
) -> list[str]:
    """Pydantic's errors as problems, each ``where: what`` (``location`` and ``message`` word
    one error). An unknown key is ``KEY: {unknown}`` when it could be a setting's name, and
    ``where: has a key that {unknown}`` once per place otherwise; the list has no repeats."""
    problems: list[str] = []
    for error in errors:
        if error["type"] == "extra_forbidden":
            *parent, key = error["loc"] or ("",)
            if shown_key(key) is None:
                where = location({**error, "loc": tuple(parent)})
                text = f"{where}: has a key that {unknown}"
            else:
                text = f"{location(error)}: {unknown}"
        else:
            text = f"{location(error)}: {message(error)}"
        if text not in problems:
            problems.append(text)
    return problems
