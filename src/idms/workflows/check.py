"""A workflow document checked whole before it is saved or run: its shape
(:func:`idms.workflows.model.parse_workflow`) and each step's parameters against its action,
with every problem listed by where it is (``steps[2].with.url: …``).

A parameter whose value is a template (``{{ … }}`` or ``{% … %}``) is checked for template
syntax only: its type is known when the step runs and renders it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from idms.documents import DocumentError, read_document
from idms.workflows.actions import actions
from idms.workflows.actions.base import ActionSpec
from idms.workflows.model import (
    Step,
    WorkflowDoc,
    WorkflowInvalid,
    parse_workflow,
    problems_of,
    sequence_problems,
)
from idms.workflows.templating import check_template, is_template


def read_workflow(text: str, *, where: str = "the workflow file") -> dict[str, Any]:
    """A workflow document (YAML or JSON) from text, as data; WorkflowInvalid when it is not
    a YAML/JSON mapping (no aliases, bounded nesting: :mod:`idms.documents`)."""
    try:
        raw = read_document(text)
    except DocumentError as exc:
        raise WorkflowInvalid([f"{where} {exc.message}"]) from None
    if not isinstance(raw, dict):
        raise WorkflowInvalid([f"{where} must be a mapping with name, trigger and steps"])
    return raw


def check_workflow(document: Any) -> WorkflowDoc:
    """``document`` as a :class:`WorkflowDoc` whose every step names a known action with
    parameters it takes; :class:`WorkflowInvalid` listing every problem otherwise."""
    problems: list[str] = []
    doc: WorkflowDoc | None = None
    try:
        doc = parse_workflow(document)
    except WorkflowInvalid as exc:
        problems.extend(exc.problems)
        # The shape is wrong somewhere: still check each step that can be read, so the one
        # answer lists everything.
        steps = document.get("steps") if isinstance(document, dict) else None
        if isinstance(steps, list):
            readable: list[tuple[int, Step]] = []
            for index, raw in enumerate(steps):
                try:
                    readable.append((index, Step.model_validate(raw)))
                except ValidationError:
                    continue  # its problems are listed already
            problems.extend(sequence_problems(readable))
            ids = [step.id for _, step in readable]
            for index, step in readable:
                problems.extend(step_problems(step, index, ids))
        raise WorkflowInvalid(_unique(problems)) from None
    ids = [step.id for step in doc.steps]
    for index, step in enumerate(doc.steps):
        problems.extend(step_problems(step, index, ids))
    if problems:
        raise WorkflowInvalid(problems)
    return doc


def step_problems(step: Step, index: int, ids: list[str]) -> list[str]:
    """What is wrong with step ``index``'s action and parameters (``ids``: every step's id, in
    order, for parameters that name a step)."""
    where = f"steps[{index}]"
    known = actions()
    spec = known.get(step.action)
    if spec is None:
        names = ", ".join(sorted(known)) or "none"
        return [f"{where}.action: no action {step.action!r} (the actions: {names})"]
    problems: list[str] = []
    for key, value in _templates(step.with_, f"{where}.with"):
        why = check_template(value)
        if why is not None:
            problems.append(f"{key}: {why}")
    problems.extend(param_problems(spec, step.with_, where, steps_context(ids, step.id)))
    return problems


def steps_context(ids: list[str], current: str) -> dict[str, Any]:
    """What a parameters model may know of the workflow when it is checked: the steps after
    this one (a step to go to must be one of them: forward only)."""
    position = ids.index(current) if current in ids else len(ids)
    return {"steps": list(ids), "later_steps": ids[position + 1 :]}


def param_problems(
    spec: ActionSpec, params: dict[str, Any], where: str, context: dict[str, Any] | None = None
) -> list[str]:
    """``params`` checked against ``spec.params``: a value written as a template stands for a
    value of any type (it is known when the step runs), so only what is written as it is gets
    checked."""
    try:
        spec.params.model_validate(stand_ins(spec, params), context=context)
    except ValidationError as exc:
        kept = [e for e in exc.errors() if not _at_template(params, e.get("loc", ()))]
        if not kept:
            return []
        narrowed = ValidationError.from_exception_data(exc.title, kept)  # type: ignore[arg-type]
        return [
            f"{where}.with: {line.removeprefix('(top level): ')}"
            if line.startswith("(top level): ")
            else f"{where}.with.{line}"
            for line in problems_of(narrowed)
        ]
    return []


def stand_ins(spec: ActionSpec, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` with each top-level value that is a template replaced by what its field
    would take (its default, or a value of its type)."""
    out = dict(params)
    fields = spec.params.model_fields
    for key, value in params.items():
        if key in fields and is_template(value):
            field = fields[key]
            if not field.is_required():
                out.pop(key)
            else:
                out[key] = _sample(field.annotation)
    return out


def _at_template(params: Any, loc: Any) -> bool:
    """Whether the place ``loc`` of an error is (inside) a template in ``params``."""
    here = params
    for part in loc:
        if is_template(here):
            return True
        found = (isinstance(here, dict) and part in here) or (
            isinstance(here, list) and isinstance(part, int) and part < len(here)
        )
        if not found:
            return False
        here = here[part]
    return is_template(here)


def _sample(annotation: Any) -> Any:
    """A value of type ``annotation`` (to stand in for a template when a field is required)."""
    from typing import get_args, get_origin

    candidates: list[Any] = [annotation, *get_args(annotation)]
    for kind in candidates:
        origin = get_origin(kind) or kind
        if origin is str:
            return ""
        if origin is bool:
            return False
        if origin is int:
            return 0
        if origin is float:
            return 0.0
        if origin is list:
            return []
        if origin is dict:
            return {}
        if isinstance(origin, type) and issubclass(origin, BaseModel):
            return origin.model_construct()
    literal = get_args(annotation)
    return literal[0] if literal else None


def _templates(value: Any, where: str) -> list[tuple[str, str]]:
    if isinstance(value, str):
        return [(where, value)] if is_template(value) else []
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in _templates(v, f"{where}.{k}")]
    if isinstance(value, list):
        return [t for i, v in enumerate(value) for t in _templates(v, f"{where}[{i}]")]
    return []


def _unique(lines: list[str]) -> list[str]:
    return list(dict.fromkeys(lines))
