"""Commands imported when they are used: ``idms sources`` loads the sources command only.

Typer builds every registered command (each parameter of each function) when the app starts,
and registering them means importing every command module, with what they import. A command
line runs one command, so the root group holds :class:`LazyCommands` instead: the commands'
names, in help order, and where each lives (``"module:attribute"``, a command function or a
Typer sub-app). One is imported and built the first time it is looked up; ``idms --help``,
which shows every command's summary, looks up all of them, and so shows what it always showed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from importlib import import_module
from typing import Any

import typer
from typer._click import Command  # Typer's own Click, which its groups hold
from typer.core import MarkupMode
from typer.main import get_command_from_info, get_group_from_info
from typer.models import CommandInfo, TyperInfo


class LazyCommands(MutableMapping[str, Command]):
    """A group's commands by name, each built from ``places[name]`` on first lookup.

    ``built`` holds commands registered the ordinary way (none need importing); they come
    first unless ``places`` names them too (``"name": ""`` keeps a built one in that place).
    The settings are the root Typer app's, which Typer hands down to registered commands.
    """

    def __init__(
        self,
        places: Mapping[str, str],
        built: Mapping[str, Command],
        *,
        pretty_exceptions_short: bool,
        rich_markup_mode: MarkupMode,
        suggest_commands: bool,
    ) -> None:
        self._order = list(dict.fromkeys([*(n for n in built if n not in places), *places]))
        self._places = {name: place for name, place in places.items() if place}
        self._built: dict[str, Command] = dict(built)
        self._settings: dict[str, Any] = {
            "pretty_exceptions_short": pretty_exceptions_short,
            "rich_markup_mode": rich_markup_mode,
        }
        self._suggest = suggest_commands

    def __getitem__(self, name: str) -> Command:
        command = self._built.get(name)
        if command is None:
            if name not in self._places:
                raise KeyError(name)
            command = self._built[name] = self._build(name, self._places[name])
        return command

    def _build(self, name: str, place: str) -> Command:
        module, _, attribute = place.partition(":")
        target = getattr(import_module(module), attribute)
        if isinstance(target, typer.Typer):  # as app.add_typer(target, name=name) does
            return get_group_from_info(
                TyperInfo(target, name=name), suggest_commands=self._suggest, **self._settings
            )
        # as app.command(name)(target) does
        return get_command_from_info(CommandInfo(name=name, callback=target), **self._settings)

    def __setitem__(self, name: str, command: Command) -> None:
        if name not in self._order:
            self._order.append(name)
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        if name not in self._order:
            raise KeyError(name)
        self._order.remove(name)
        self._built.pop(name, None)
        self._places.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._order))

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, name: object) -> bool:
        return name in self._order
