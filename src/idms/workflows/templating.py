"""Templates in a step's parameters: rendered with the suite's one Liquid environment
(:mod:`idms.values.liquid`, bounded), as iDMS's template engine renders them.

Only a string holding ``{{`` or ``{%`` is a template; everything else is taken as written (an
HTTP method can simply be ``GET``). What is in scope when a step runs:

* ``input`` — the pipeline object as it reaches the step (what the step before it left);
* ``trigger`` — what the trigger gave the run (the webhook's body, the manual run's input);
* ``steps`` — each earlier step's output, by step id (``steps.fetch.rows``);
* ``now`` — the time the step started (UTC, ISO 8601 text).

A string that is exactly one ``{{ expression }}`` gives the expression's own JSON value (an
array, an object, a number, true/false, null), so ``rows: "{{ input.members }}"`` passes the
array itself; any other template gives text. iDMS's ``array`` and ``json`` filters are there.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from idms import jsontext
from idms.values.liquid import TemplateError, compile_template

__all__ = ["TemplateError", "check_template", "is_template", "render_params", "render_value"]

_ONE_EXPRESSION = re.compile(r"^\s*\{\{-?\s*(?P<expr>(?:(?!\}\}|\{\{|\{%).)+?)\s*-?\}\}\s*$", re.S)


def is_template(value: Any) -> bool:
    """Whether ``value`` is a string the engine renders (it holds ``{{`` or ``{%``)."""
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def check_template(text: str) -> str | None:
    """Why ``text`` does not parse as a template, or None when it does."""
    try:
        compile_template(text)
    except TemplateError as exc:
        return exc.message.strip().splitlines()[0]  # the parser's picture of the line is not
    return None


def scope(
    data: Mapping[str, Any],
    trigger: Any,
    steps: Mapping[str, Any],
    now: datetime,
    **extra: Any,
) -> dict[str, Any]:
    """What a step's templates see (see the module docstring)."""
    return {
        "input": data,
        "trigger": trigger,
        "steps": dict(steps),
        "now": now.isoformat(),
        **extra,
    }


def render_value(text: str, names: Mapping[str, Any]) -> Any:
    """``text`` rendered with ``names`` in scope: the expression's JSON value when ``text`` is
    exactly one ``{{ expression }}``, else the text. TemplateError when it does not parse or
    fails."""
    match = _ONE_EXPRESSION.match(text)
    if match is not None:
        expr = match.group("expr")
        try:
            template = compile_template("{{ " + expr + " | json }}")
        except TemplateError:
            template = None  # not an expression the json filter can end: render it as text
        if template is not None:
            return jsontext.loads(template.render(**names))
    return compile_template(text).render(**names)


def render_params(
    params: Any, names: Mapping[str, Any], *, literal: frozenset[str] = frozenset()
) -> Any:
    """Every template in ``params`` (strings, inside lists and objects too) rendered; the
    top-level keys in ``literal`` are left for the action to render itself (per row).
    TemplateError names where the failing template is (``with.url: …``)."""
    if isinstance(params, dict):
        return {
            key: value if key in literal else _render(value, names, f"with.{key}")
            for key, value in params.items()
        }
    return _render(params, names, "with")


def _render(value: Any, names: Mapping[str, Any], where: str) -> Any:
    if isinstance(value, str):
        if not is_template(value):
            return value
        try:
            return render_value(value, names)
        except TemplateError as exc:
            raise TemplateError(f"{where}: {exc.message}", exc.code) from None
    if isinstance(value, dict):
        return {k: _render(v, names, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_render(v, names, f"{where}[{i}]") for i, v in enumerate(value)]
    return value
