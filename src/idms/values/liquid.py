"""Liquid templates, bounded: the one place idms makes a Liquid environment.

A template comes from whoever writes a job, a saved template or a query, and is rendered once per
row (a mapping) or once per run (a query's filter value), inside a run that holds a worker. So
every template works within limits, and going past one fails the render with a sentence naming
the limit (the row fails; the run goes on):

- a loop, or loops nested in one another, runs at most :data:`LOOP_ITERATIONS` times;
- the output, and any text a ``replace`` or ``join`` would make, is at most
  :data:`OUTPUT_CHARACTERS` characters; the variables a template assigns hold at most
  :data:`VARIABLE_BYTES` bytes;
- blocks nest, and contexts are extended, at most :data:`NESTING` deep;
- a render takes at most :data:`RENDER_SECONDS` seconds: the clock is read at each turn of a loop
  and at each filter, so a render past its time stops there.

No other module imports ``liquid`` (tests/architecture/test_liquid_one_place.py).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, TextIO

from liquid import Environment, RenderContext, Undefined
from liquid.ast import BlockNode
from liquid.builtin.tags.for_tag import ForNode, ForTag
from liquid.builtin.tags.tablerow_tag import TablerowNode, TablerowTag
from liquid.exceptions import (
    BlockNestingError,
    ContextDepthError,
    LiquidError,
    LocalNamespaceLimitError,
    LoopIterationLimitError,
    OutputStreamLimitError,
    ResourceLimitError,
)
from liquid.template import BoundTemplate
from liquid.token import Token

from idms import jsontext

LOOP_ITERATIONS = 10_000
OUTPUT_CHARACTERS = 1_000_000
VARIABLE_BYTES = 1_000_000
NESTING = 30
RENDER_SECONDS = 2.0

_DEADLINE: ContextVar[float | None] = ContextVar("idms_liquid_deadline", default=None)


class TemplateError(ValueError):
    """A template that does not parse, fails, or goes past a limit; ``message`` says which, in
    words for the person who wrote it. ``code``: ``template_invalid``, ``template_failed`` or
    ``template_limit``."""

    def __init__(self, message: str, code: str = "template_failed") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class _TooSlow(ResourceLimitError):
    """The render went past its time."""


class _TooLong(ResourceLimitError):
    """A filter would make a text past the output limit."""


def _limit_sentence(exc: LiquidError) -> str | None:
    """The limit ``exc`` reports, in words; None for an error that is no limit."""
    if isinstance(exc, LoopIterationLimitError):
        return f"it loops more than {LOOP_ITERATIONS:,} times (the limit of a template)"
    if isinstance(exc, OutputStreamLimitError | _TooLong):
        return (
            f"it makes a text longer than {OUTPUT_CHARACTERS:,} characters "
            "(the limit of a template)"
        )
    if isinstance(exc, LocalNamespaceLimitError):
        return f"its variables hold more than {VARIABLE_BYTES:,} bytes (the limit of a template)"
    if isinstance(exc, ContextDepthError | BlockNestingError):
        return f"it nests more than {NESTING} levels deep (the limit of a template)"
    if isinstance(exc, _TooSlow):
        return f"it took longer than {RENDER_SECONDS:g} seconds to render (the limit of a template)"
    return None


def _check_clock() -> None:
    deadline = _DEADLINE.get()
    if deadline is not None and time.monotonic() > deadline:
        raise _TooSlow("render time limit reached", token=None)


class _ClockedBlock(BlockNode):
    """A loop's body: it reads the clock each time it is rendered, i.e. at each turn."""

    __slots__ = ()

    def render_to_output(self, context: RenderContext, buffer: TextIO) -> int:
        _check_clock()
        return super().render_to_output(context, buffer)


def _clocked(block: BlockNode) -> BlockNode:
    return _ClockedBlock(block.token, block.nodes)


class _ClockedForNode(ForNode):
    def __init__(
        self,
        token: Token,
        expression: Any,
        block: BlockNode,
        default: BlockNode | None = None,
    ) -> None:
        super().__init__(token, expression, _clocked(block), default)


class _ClockedTablerowNode(TablerowNode):
    def __init__(self, token: Token, expression: Any, block: BlockNode) -> None:
        super().__init__(token, expression, _clocked(block))


class _ClockedForTag(ForTag):
    node_class = _ClockedForNode


class _ClockedTablerowTag(TablerowTag):
    node_class = _ClockedTablerowNode


def _sized(text: Any) -> int:
    return len(text) if isinstance(text, str) else len(str(text))


def _guard_replace(call: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(call)
    def replace(val: Any, seq: Any = "", sub: Any = "", *args: Any, **kwargs: Any) -> Any:
        _check_clock()
        text, old, new = str(val), str(seq), str(sub)
        count = text.count(old) if old else len(text) + 1
        if len(text) + count * (len(new) - len(old)) > OUTPUT_CHARACTERS:
            raise _TooLong("replace would exceed the output limit", token=None)
        return call(val, seq, sub, *args, **kwargs)

    return replace


def _guard_join(call: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(call)
    def join(left: Any, separator: Any = " ", *args: Any, **kwargs: Any) -> Any:
        _check_clock()
        if isinstance(left, list | tuple):
            size = sum(_sized(item) for item in left) + max(len(left) - 1, 0) * _sized(separator)
            if size > OUTPUT_CHARACTERS:
                raise _TooLong("join would exceed the output limit", token=None)
        return call(left, separator, *args, **kwargs)

    return join


def _guard(call: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(call)
    def clocked(*args: Any, **kwargs: Any) -> Any:
        _check_clock()
        return call(*args, **kwargs)

    return clocked


def _plain(value: Any) -> Any:
    """``value`` with Liquid's undefined as None (inside lists and objects too)."""
    if isinstance(value, Undefined):
        return None
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _array(value: Any) -> list[Any]:
    """iDMS's ``array`` filter: the value as a list (a list as it is, nothing as an empty list,
    anything else as a list of one)."""
    value = _plain(value)
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def _json(value: Any, indent: Any = None) -> str:
    """iDMS's ``json`` filter: the value as JSON text (``| json: 2`` indents it)."""
    text = jsontext.dumps(_plain(value), indent=bool(indent))
    if len(text) > OUTPUT_CHARACTERS:
        raise _TooLong("json would exceed the output limit", token=None)
    return text


class _BoundedEnvironment(Environment):
    loop_iteration_limit = LOOP_ITERATIONS
    output_stream_limit = OUTPUT_CHARACTERS
    local_namespace_limit = VARIABLE_BYTES
    context_depth_limit = NESTING
    block_nesting_limit = NESTING

    def setup_tags_and_filters(self, *, extra: bool = False) -> None:
        super().setup_tags_and_filters(extra=extra)
        self.add_tag(_ClockedForTag)
        self.add_tag(_ClockedTablerowTag)
        # Templates come as text in a job: there is nothing to include or render from.
        for tag in ("include", "render", "extends", "block", "macro", "call"):
            self.tags.pop(tag, None)
        # Beyond Liquid, the filters iDMS documents for workflow templates.
        self.filters["array"] = _array
        self.filters["json"] = _json
        special = {"replace": _guard_replace, "join": _guard_join}
        for name, call in list(self.filters.items()):
            self.filters[name] = special.get(name, _guard)(call)


_ENVIRONMENT = _BoundedEnvironment()


class Template:
    """A parsed template, rendered within the limits (:func:`compile_template`)."""

    def __init__(self, bound: BoundTemplate) -> None:
        self._bound = bound

    def render(self, **scope: Any) -> str:
        """The template's text for ``scope``; TemplateError (``template_limit`` when a limit
        stopped it) otherwise."""
        token = _DEADLINE.set(time.monotonic() + RENDER_SECONDS)
        try:
            return self._bound.render(**scope)
        except LiquidError as exc:
            limit = _limit_sentence(exc)
            if limit is not None:
                raise TemplateError(f"the template stopped: {limit}", "template_limit") from None
            raise TemplateError(f"the template failed ({exc})") from None
        except RecursionError:
            raise TemplateError(
                f"the template stopped: it nests more than {NESTING} levels deep "
                "(the limit of a template)",
                "template_limit",
            ) from None
        finally:
            _DEADLINE.reset(token)


def compile_template(text: str) -> Template:
    """Parse ``text`` as a Liquid template; TemplateError (``template_invalid``) when it does
    not parse, saying why."""
    try:
        bound = _ENVIRONMENT.from_string(text)
    except LiquidError as exc:
        limit = _limit_sentence(exc)
        why = limit if limit is not None else str(exc)
        raise TemplateError(f"the template does not parse: {why}", "template_invalid") from None
    except RecursionError:
        raise TemplateError(
            f"the template does not parse: it nests more than {NESTING} levels deep",
            "template_invalid",
        ) from None
    return Template(bound)


def render_template(text: str, **scope: Any) -> str:
    """Parse and render ``text`` once (a query's filter value)."""
    return compile_template(text).render(**scope)
