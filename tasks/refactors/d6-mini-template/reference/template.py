"""A small text template engine: variables, filters, if/elif/else, for loops, comments."""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Union


class TemplateError(Exception):
    """A malformed template, or a value that cannot be rendered."""


_IDENTIFIER = r"[A-Za-z][A-Za-z0-9_]*"  # no leading underscore: keeps dunders out of reach
_NAME = re.compile(rf"{_IDENTIFIER}(?:\.(?:{_IDENTIFIER}|\d+))*")
_LOOP_HEAD = re.compile(rf"({_IDENTIFIER})\s+in\s+(\S+)")
_TAG_OPEN = re.compile(r"\{\{|\{%|\{#")
_TAG_CLOSE = {"{{": "}}", "{%": "%}", "{#": "#}"}
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;"})
_FILTERS = {
    "escape": lambda text: text.translate(_ESCAPES),
    "upper": str.upper,
    "lower": str.lower,
}
_UNDEFINED = object()


@dataclass(frozen=True)
class _Text:
    text: str


@dataclass(frozen=True)
class _Var:
    path: tuple[str, ...]
    filters: tuple[str, ...]


@dataclass(frozen=True)
class _Condition:
    path: tuple[str, ...]
    negated: bool


@dataclass(frozen=True)
class _If:
    branches: tuple[tuple[_Condition, tuple["_Node", ...]], ...]
    otherwise: tuple["_Node", ...]


@dataclass(frozen=True)
class _For:
    item: str
    path: tuple[str, ...]
    body: tuple["_Node", ...]
    line: int


_Node = Union[_Text, _Var, _If, _For]


@dataclass(frozen=True)
class _Token:
    kind: str  # "text", "var" or "tag"
    content: str
    line: int

    @property
    def word(self) -> str:
        return self.content.split(None, 1)[0] if self.content else ""

    @property
    def rest(self) -> str:
        parts = self.content.split(None, 1)
        return parts[1] if len(parts) > 1 else ""


def _tokenize(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while True:
        match = _TAG_OPEN.search(source, pos)
        if match is None:
            if pos < len(source):
                tokens.append(_Token("text", source[pos:], 0))
            return tokens
        if match.start() > pos:
            tokens.append(_Token("text", source[pos:match.start()], 0))
        opener = match.group()
        line = source.count("\n", 0, match.start()) + 1
        close = source.find(_TAG_CLOSE[opener], match.end())
        if close < 0:
            raise TemplateError(f"line {line}: {opener!r} is never closed with {_TAG_CLOSE[opener]!r}")
        pos = close + 2
        if opener != "{#":
            content = source[match.end():close].strip()
            if not content:
                raise TemplateError(f"line {line}: empty tag {opener} {_TAG_CLOSE[opener]}")
            tokens.append(_Token("var" if opener == "{{" else "tag", content, line))


def _parse_name(text: str, line: int) -> tuple[str, ...]:
    if not _NAME.fullmatch(text):
        raise TemplateError(f"line {line}: {text!r} is not a valid variable name")
    return tuple(text.split("."))


def _parse_var(token: _Token) -> _Var:
    name, *filters = (part.strip() for part in token.content.split("|"))
    for name_of_filter in filters:
        if not name_of_filter:
            raise TemplateError(f"line {token.line}: '|' must be followed by a filter name")
        if name_of_filter not in _FILTERS:
            raise TemplateError(
                f"line {token.line}: unknown filter {name_of_filter!r} (known: {', '.join(_FILTERS)})"
            )
    return _Var(_parse_name(name, token.line), tuple(filters))


def _parse_condition(token: _Token) -> _Condition:
    words = token.rest.split()
    if len(words) == 2 and words[0] == "not":
        return _Condition(_parse_name(words[1], token.line), negated=True)
    if len(words) == 1:
        return _Condition(_parse_name(words[0], token.line), negated=False)
    raise TemplateError(f"line {token.line}: expected '{token.word} <name>' or '{token.word} not <name>'")


def _expect_bare(token: _Token) -> None:
    if token.rest:
        raise TemplateError(f"line {token.line}: '{token.word}' takes no arguments, got {token.rest!r}")


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.pos = 0

    def parse(self) -> tuple[_Node, ...]:
        nodes = self._nodes()
        if self.pos < len(self.tokens):
            stray = self.tokens[self.pos]
            owner = "a for" if stray.word == "endfor" else "an if"
            raise TemplateError(f"line {stray.line}: '{stray.word}' outside {owner} block")
        return nodes

    def _nodes(self) -> tuple[_Node, ...]:
        """Nodes up to the end or up to (not consuming) an elif/else/endif/endfor tag."""
        nodes: list[_Node] = []
        while self.pos < len(self.tokens):
            token = self.tokens[self.pos]
            if token.kind == "text":
                nodes.append(_Text(token.content))
            elif token.kind == "var":
                nodes.append(_parse_var(token))
            elif token.word == "if":
                nodes.append(self._if(token))
                continue
            elif token.word == "for":
                nodes.append(self._for(token))
                continue
            elif token.word in ("elif", "else", "endif", "endfor"):
                return tuple(nodes)
            else:
                raise TemplateError(f"line {token.line}: unknown tag {token.word!r}")
            self.pos += 1
        return tuple(nodes)

    def _closing_tag(self, opening: _Token) -> _Token:
        if self.pos >= len(self.tokens):
            end = "endif" if opening.word == "if" else "endfor"
            raise TemplateError(f"line {opening.line}: '{opening.word}' block is never closed with '{end}'")
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def _if(self, opening: _Token) -> _If:
        condition = _parse_condition(opening)
        self.pos += 1
        branches = []
        while True:
            body = self._nodes()
            tag = self._closing_tag(opening)
            branches.append((condition, body))
            if tag.word == "elif":
                condition = _parse_condition(tag)
            elif tag.word == "else":
                _expect_bare(tag)
                otherwise = self._nodes()
                end = self._closing_tag(opening)
                if end.word != "endif":
                    raise TemplateError(f"line {end.line}: '{end.word}' after 'else' (expected 'endif')")
                _expect_bare(end)
                return _If(tuple(branches), otherwise)
            elif tag.word == "endif":
                _expect_bare(tag)
                return _If(tuple(branches), ())
            else:
                raise TemplateError(f"line {tag.line}: '{tag.word}' closes an 'if' block (expected 'endif')")

    def _for(self, opening: _Token) -> _For:
        head = _LOOP_HEAD.fullmatch(opening.rest)
        if head is None:
            raise TemplateError(f"line {opening.line}: expected 'for <item> in <name>'")
        path = _parse_name(head.group(2), opening.line)
        self.pos += 1
        body = self._nodes()
        end = self._closing_tag(opening)
        if end.word != "endfor":
            raise TemplateError(f"line {end.line}: '{end.word}' inside a 'for' block (expected 'endfor')")
        _expect_bare(end)
        return _For(head.group(1), path, body, opening.line)


def _resolve(path: tuple[str, ...], scope: Mapping[str, Any]) -> Any:
    value = scope.get(path[0], _UNDEFINED)
    for segment in path[1:]:
        if value is _UNDEFINED:
            return value
        if isinstance(value, Mapping) and segment in value:
            value = value[segment]
        elif segment.isdigit():
            index = int(segment)
            value = value[index] if isinstance(value, (list, tuple)) and index < len(value) else _UNDEFINED
        else:
            value = getattr(value, segment, _UNDEFINED)
    return value


def _render(nodes: tuple[_Node, ...], scope: dict[str, Any], out: list[str]) -> None:
    for node in nodes:
        if isinstance(node, _Text):
            out.append(node.text)
        elif isinstance(node, _Var):
            value = _resolve(node.path, scope)
            text = "" if value is _UNDEFINED or value is None else str(value)
            for name in node.filters:
                text = _FILTERS[name](text)
            out.append(text)
        elif isinstance(node, _If):
            for condition, body in node.branches:
                value = _resolve(condition.path, scope)
                truthy = value is not _UNDEFINED and bool(value)
                if truthy != condition.negated:
                    _render(body, scope, out)
                    break
            else:
                _render(node.otherwise, scope, out)
        else:
            value = _resolve(node.path, scope)
            if value is _UNDEFINED or value is None:
                continue
            try:
                items = list(value)
            except TypeError:
                raise TemplateError(
                    f"line {node.line}: cannot loop over {'.'.join(node.path)} "
                    f"(a {type(value).__name__} is not iterable)"
                ) from None
            for index, item in enumerate(items):
                inner = dict(scope)
                inner[node.item] = item
                inner["loop"] = {"index": index + 1, "first": index == 0, "last": index == len(items) - 1}
                _render(node.body, inner, out)


class Template:
    def __init__(self, source: str) -> None:
        self.source = source
        self._nodes = _Parser(_tokenize(source)).parse()

    def render(self, context: Mapping[str, Any] | None = None, **kwargs: Any) -> str:
        scope = dict(context or {})
        scope.update(kwargs)
        out: list[str] = []
        _render(self._nodes, scope, out)
        return "".join(out)


def render(source: str, context: Mapping[str, Any] | None = None, **kwargs: Any) -> str:
    return Template(source).render(context, **kwargs)
