"""The command-line reference (``docs/reference/cli.md``), generated from the code that defines the
options: the plugin's own ``pytest_addoption`` (the ``--arena-*`` options) and the argparse parser of
every ``python -m pytest_arena`` command (and of ``python -m pytest_arena.router``), so a new option
is documented the moment it exists and ``python -m pytest_arena schema --check`` fails until the page
says so. The tables are rendered from the option objects, not from argparse's help text, whose
layout changes between Python versions."""
from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, cast

import pytest

__all__ = ["commands_markdown", "pytest_options_markdown"]


@dataclass(frozen=True)
class Option:
    """One option as a reader needs it: how to write it, what it takes, its default and meaning."""

    names: tuple[str, ...]  # ("--arena-set",), or ("paths",) for a positional argument
    takes: str  # the argument's metavar or choices; "" for a flag
    default: str  # as Markdown; "" when there is none worth showing
    help: str


class _RecordingGroup:
    def __init__(self, into: list[Option]) -> None:
        self._into = into

    def addoption(self, *names: str, **attrs: Any) -> None:
        self._into.append(_option(names, attrs))


class _RecordingParser:
    """Stands in for ``pytest.Parser`` while the plugin's ``pytest_addoption`` declares its options."""

    def __init__(self) -> None:
        self.options: list[Option] = []

    def getgroup(self, name: str, description: str = "") -> _RecordingGroup:
        return _RecordingGroup(self.options)

    def addoption(self, *names: str, **attrs: Any) -> None:
        self.options.append(_option(names, attrs))


def _option(names: tuple[str, ...], attrs: dict[str, Any]) -> Option:
    action = attrs.get("action")
    flag = action in ("store_true", "store_false")
    if flag:
        takes = ""
    elif attrs.get("choices"):
        takes = "|".join(str(c) for c in attrs["choices"])
    else:
        takes = attrs.get("metavar") or names[-1].lstrip("-").upper().replace("-", "_")
    default = attrs.get("default")
    shown = "" if flag or default in (None, [], "") else f"`{default}`"
    if action == "append":
        takes += " (repeatable)"
    return Option(names, takes, shown, _expand(str(attrs.get("help") or ""), attrs))


def _expand(text: str, attrs: dict[str, Any]) -> str:
    """argparse's ``%(default)s``-style help placeholders, filled as ``--help`` would fill them."""
    if "%(" not in text:
        return text
    try:
        return text % {key: value for key, value in attrs.items()}
    except (KeyError, ValueError, TypeError):
        return text


def pytest_options() -> list[Option]:
    """The options the plugin adds to pytest, in declaration order. The plugin is loaded the way pytest
    loads it, through its ``pytest11`` entry point (docgen sits beside the commands, above the plugin)."""
    plugin = next(ep for ep in entry_points(group="pytest11") if ep.name == "arena").load()
    recorder = _RecordingParser()
    plugin.pytest_addoption(cast(pytest.Parser, recorder))
    return recorder.options


class _Captured(Exception):
    def __init__(self, parser: argparse.ArgumentParser) -> None:
        super().__init__(parser.prog)
        self.parser = parser


@contextmanager
def _capturing_parsers() -> Iterator[None]:
    """While active, the first ``parse_args`` of any parser raises ``_Captured`` carrying the parser:
    a command's ``main`` builds its parser as it always does and stops right there, having run nothing."""
    original_parse, original_known = argparse.ArgumentParser.parse_args, argparse.ArgumentParser.parse_known_args

    def capture(self: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> Any:
        raise _Captured(self)

    argparse.ArgumentParser.parse_args = capture  # type: ignore[method-assign]
    argparse.ArgumentParser.parse_known_args = capture  # type: ignore[method-assign]
    try:
        yield
    finally:
        argparse.ArgumentParser.parse_args = original_parse  # type: ignore[method-assign]
        argparse.ArgumentParser.parse_known_args = original_known  # type: ignore[method-assign]


def command_parser(main: Callable[[list[str]], object]) -> argparse.ArgumentParser:
    """The argparse parser ``main`` builds, taken from it before it parses (so nothing runs)."""
    with _capturing_parsers():
        try:
            main([])
        except _Captured as captured:
            return captured.parser
    raise RuntimeError(f"{main.__module__}.main returned without parsing its arguments")


def parser_options(parser: argparse.ArgumentParser) -> list[Option]:
    options = []
    for action in parser._actions:  # argparse keeps no public list; this one has been stable since 2.7
        if isinstance(action, argparse._HelpAction) or action.help == argparse.SUPPRESS:
            continue
        names = tuple(action.option_strings) or (action.dest,)
        flag = action.nargs == 0
        if flag:
            takes = ""
        elif action.choices:
            takes = "|".join(str(c) for c in action.choices if str(c))
        elif action.option_strings:
            takes = str(action.metavar or action.dest.upper())
        else:
            takes = str(action.metavar or action.dest) + (" ..." if action.nargs in ("+", "*") else "")
        if isinstance(action, argparse._AppendAction):
            takes += " (repeatable)"
        default = action.default
        shown = "" if flag or default in (None, [], "") or not action.option_strings else f"`{default}`"
        help_text = _expand(action.help or "", {**vars(action), "prog": parser.prog})
        if action.required and action.option_strings:
            help_text = "required. " + help_text
        options.append(Option(names, takes, shown, help_text))
    return options


def _table(options: list[Option]) -> list[str]:
    lines = ["| option | takes | default | meaning |", "|---|---|---|---|"]
    for option in options:
        names = ", ".join(f"`{name}`" for name in option.names)
        takes = f"`{option.takes}`" if option.takes else ""
        lines.append(f"| {names} | {_cell(takes)} | {_cell(option.default)} | {_cell(option.help)} |")
    return lines


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def pytest_options_markdown() -> str:
    """The ``--arena-*`` options as a Markdown table."""
    return "\n".join(_table(pytest_options())) + "\n"


def commands_markdown() -> str:
    """One section per ``python -m pytest_arena`` command (and the router's own command): its
    purpose and its arguments."""
    from pytest_arena.__main__ import COMMANDS

    sections: list[str] = []
    for name, (module_name, summary) in COMMANDS.items():
        module = importlib.import_module(module_name)
        parser = command_parser(module.main)
        sections.append(_command_section(f"python -m pytest_arena {name}", summary, parser))
    from pytest_arena.router.__main__ import build_parser

    sections.append(_command_section("python -m pytest_arena.router", "the router alone, with the run given by "
                                     "flags (--strategy, --local, --cloud) rather than a config", build_parser()))
    return "\n".join(sections)


def _command_section(command: str, summary: str, parser: argparse.ArgumentParser) -> str:
    description = parser.description if parser.description and "\n" not in parser.description.strip() else summary
    positionals = " ".join(str(a.metavar or a.dest) + (" ..." if a.nargs in ("+", "*") else "")
                           for a in parser._actions if not a.option_strings)
    usage = f"{command} {positionals} [options]" if positionals else f"{command} [options]"
    sentence = description.strip().rstrip(".")
    lines = [f"### `{command}`", "", sentence[:1].upper() + sentence[1:] + ".", "", "```", usage, "```", ""]
    options = parser_options(parser)
    lines += _table(options) if options else ["No options."]
    return "\n".join(lines) + "\n"
