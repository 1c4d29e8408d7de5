"""A reader, a checker and a small evaluator for SBPL, the language of macOS Seatbelt profiles.

Why it exists: the ``seatbelt`` kind generates its profile, and nobody can run ``sandbox-exec`` on
the Linux machines that build and test this project. What *can* be checked here is the profile's
text: that it reads as SBPL (balanced parentheses, string literals that end where they should,
known operation names; ``check``), and what it decides for the operations an agent may try
(``decide``). The evaluator covers the subset of SBPL the generator emits (and that an independent
generator emits for the same policy, which is how the tests compare the two):

- rules ``(allow|deny OPERATION... FILTER... (with MODIFIER...))``; a rule with no filter matches
  every request of its operations; several filters match when any one does;
- operations by exact name, ``X*`` for every operation starting with ``X``, and ``default``;
- filters ``literal``, ``subpath``, ``regex`` (also ``path``, ``path-regex``) on a path;
  ``remote ip "localhost:PORT"`` and ``remote unix-socket (FILTER)`` on a connection;
  ``global-name``, ``global-name-prefix``, ``global-name-regex`` on a Mach service;
  ``vnode-type`` when the request says what it touches; ``require-all``, ``require-any``,
  ``require-not``. A rule the request reaches whose filter the evaluator does not know is an
  error, never a guess.

Which of several matching rules wins: SBPL's documented reading is that the *last* matching rule
wins. Some Seatbelt users report that a rule naming one operation exactly is not overridden by a
later wildcard rule (``file-write-unlink`` against a later ``file-write*``). ``decide`` answers
under either reading (``semantics="last"`` or ``"specific"``); the generated profile is written so
that both give the same answer, and the tests hold it to that.
"""
from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, TypeAlias

__all__ = [
    "OPERATIONS", "Query", "Regex", "Rule", "SbplError", "Symbol", "check", "decide", "read",
]


class SbplError(ValueError):
    """Text that is not SBPL (as far as this reader knows it), or a request it cannot evaluate."""


class Symbol(str):
    """A bare word: ``allow``, ``file-read*``, ``CHARACTER-DEVICE``."""


class Regex(str):
    """A ``#"..."`` literal: the characters between the quotes, backslashes kept."""


Form: TypeAlias = "str | int | list[Form]"  # str covers Symbol and Regex too

# Operation names SBPL knows, as public profiles use them (Apple's, Chromium's, and the Seatbelt
# users' tools). An operation outside this set makes ``sandbox-exec`` refuse the whole profile.
OPERATIONS = frozenset({
    "default",
    "file*", "file-chroot", "file-clone", "file-ioctl", "file-issue-extension", "file-link", "file-map-executable",
    "file-mknod", "file-mount", "file-read*", "file-read-data", "file-read-metadata", "file-read-xattr",
    "file-revoke", "file-search", "file-test-existence", "file-unmount", "file-write*", "file-write-create",
    "file-write-data", "file-write-flags", "file-write-mode", "file-write-owner", "file-write-setugid",
    "file-write-times", "file-write-unlink", "file-write-xattr",
    "network*", "network-bind", "network-inbound", "network-outbound",
    "process*", "process-exec", "process-exec*", "process-exec-interpreter", "process-fork", "process-info*",
    "process-info-codesignature", "process-info-dirtycontrol", "process-info-listpids", "process-info-pidinfo",
    "process-info-pidfdinfo", "process-info-pidfileportinfo", "process-info-setcontrol", "process-info-rusage",
    "signal", "sysctl*", "sysctl-read", "sysctl-write",
    "mach*", "mach-bootstrap", "mach-host*", "mach-lookup", "mach-priv*", "mach-priv-host-port",
    "mach-priv-task-port", "mach-register", "mach-task-name",
    "ipc*", "ipc-posix*", "ipc-posix-sem", "ipc-posix-shm", "ipc-posix-shm*", "ipc-posix-shm-read*",
    "ipc-posix-shm-read-data", "ipc-posix-shm-read-metadata", "ipc-posix-shm-write-create",
    "ipc-posix-shm-write-data", "ipc-posix-shm-write-unlink", "ipc-sysv*", "ipc-sysv-msg", "ipc-sysv-sem",
    "ipc-sysv-shm",
    "iokit*", "iokit-get-properties", "iokit-open", "iokit-set-properties",
    "system*", "system-audit", "system-fsctl", "system-mac-syscall", "system-sched", "system-socket",
    "user-preference*", "user-preference-read", "user-preference-write",
    "appleevent-send", "distributed-notification-post", "lsopen", "nvram*", "pseudo-tty", "job-creation",
})
# Filters (and the words inside them) the checker accepts; the evaluator understands a subset.
_FILTERS = frozenset({
    "literal", "subpath", "regex", "path", "path-regex", "prefix", "vnode-type", "require-all", "require-any",
    "require-not", "remote", "local", "global-name", "global-name-prefix", "global-name-regex", "local-name",
    "target", "sysctl-name", "sysctl-name-prefix", "socket-domain", "socket-type", "socket-protocol",
    "iokit-registry-entry-class", "iokit-user-client-class", "extension", "ipc-posix-name", "mac-policy-name",
    "mac-syscall-number", "fsctl-command", "xattr", "preference-domain", "signing-identifier", "appleevent-destination",
})
_MODIFIERS = frozenset({"with"})


# --- reading ------------------------------------------------------------------------------------

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


def read(text: str) -> list[Form]:
    """The top-level forms of ``text``: lists, ``Symbol``s, strings (escapes decoded), ``Regex``
    literals and integers. SbplError names the line of the first thing that is not SBPL."""
    forms: list[Form] = []
    stack: list[tuple[list[Form], int]] = []
    current = forms
    for kind, value, line in _tokens(text):
        if kind == "(":
            new: list[Form] = []
            current.append(new)
            stack.append((current, line))
            current = new
        elif kind == ")":
            if not stack:
                raise SbplError(f"line {line}: ')' closes nothing")
            current = stack.pop()[0]
        else:
            current.append(value)
    if stack:
        raise SbplError(f"line {stack[-1][1]}: '(' is never closed")
    return forms


def _tokens(text: str) -> Iterator[tuple[str, Form, int]]:
    i, line, n = 0, 1, len(text)
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            i += 1
        elif c in " \t\r\f":
            i += 1
        elif c == ";":
            while i < n and text[i] != "\n":
                i += 1
        elif c in "()":
            yield c, c, line
            i += 1
        elif c == '"':
            value, i, lines = _string(text, i + 1, line)
            yield "atom", value, line
            line += lines
        elif text.startswith('#"', i):
            end = text.find('"', i + 2)
            if end < 0:
                raise SbplError(f"line {line}: a regex literal is never closed")
            yield "atom", Regex(text[i + 2:end]), line
            line += text.count("\n", i, end)
            i = end + 1
        else:
            start = i
            while i < n and text[i] not in ' \t\r\f\n();"':
                i += 1
            word = text[start:i]
            yield "atom", (int(word) if re.fullmatch(r"-?\d+", word) else Symbol(word)), line


def _string(text: str, i: int, line: int) -> tuple[str, int, int]:
    """The string literal starting after its opening quote at ``i``: (value, index after it, lines it spans)."""
    out: list[str] = []
    lines = 0
    while i < len(text):
        c = text[i]
        if c == '"':
            return "".join(out), i + 1, lines
        if c == "\\":
            if i + 1 >= len(text):
                break
            nxt = text[i + 1]
            if nxt == "x":
                digits = re.match(r"[0-9a-fA-F]{1,2}", text[i + 2:i + 4])
                if not digits:
                    raise SbplError(f"line {line + lines}: \\x without hex digits in a string")
                out.append(chr(int(digits.group(), 16)))
                i += 2 + len(digits.group())
                continue
            out.append(_ESCAPES.get(nxt, nxt))
            lines += nxt == "\n"
            i += 2
            continue
        lines += c == "\n"
        out.append(c)
        i += 1
    raise SbplError(f"line {line}: a string literal is never closed")


# --- checking -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    action: Literal["allow", "deny"]
    operations: tuple[str, ...]
    filters: tuple[Form, ...]  # modifiers (``with``) left out

    def __str__(self) -> str:
        return f"({self.action} {' '.join(self.operations)} {' '.join(_show(f) for f in self.filters)})".replace(
            " )", ")")


def _show(form: Form) -> str:
    if isinstance(form, list):
        return "(" + " ".join(_show(f) for f in form) + ")"
    if isinstance(form, Regex):
        return f'#"{form}"'
    if isinstance(form, Symbol | int):
        return str(form)
    return '"' + form.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def check(text: str) -> list[Rule]:
    """Read ``text`` as a Seatbelt profile: ``(version 1)`` first, then rules whose operations are
    known and whose filters are well formed. Returns the rules in order; SbplError otherwise."""
    forms = read(text)
    if not forms or forms[0] != [Symbol("version"), 1]:
        raise SbplError("a profile starts with (version 1)")
    found: list[Rule] = []
    for form in forms[1:]:
        if not isinstance(form, list) or not form or form[0] not in ("allow", "deny"):
            raise SbplError(f"not a rule: {_show(form)[:120]}")
        operations: list[str] = []
        filters: list[Form] = []
        for item in form[1:]:
            if isinstance(item, Symbol) and not filters:
                if item not in OPERATIONS:
                    raise SbplError(f"unknown operation {item!r} in {_show(form)[:120]}")
                operations.append(str(item))
            elif isinstance(item, list) and item and item[0] in _MODIFIERS:
                continue
            elif isinstance(item, list):
                _check_filter(item)
                filters.append(item)
            else:
                raise SbplError(f"unexpected {_show(item)!r} in {_show(form)[:120]}")
        if not operations:
            raise SbplError(f"a rule without an operation: {_show(form)[:120]}")
        found.append(Rule(action="allow" if form[0] == "allow" else "deny", operations=tuple(operations),
                          filters=tuple(filters)))
    return found


def _check_filter(form: list[Form]) -> None:
    head = form[0] if form else None
    if not isinstance(head, Symbol) or head not in _FILTERS:
        raise SbplError(f"unknown filter {_show(form)[:120]}")
    args = form[1:]
    if head in ("literal", "subpath", "path", "prefix", "global-name", "global-name-prefix", "local-name"):
        if len(args) != 1 or not isinstance(args[0], str) or isinstance(args[0], Symbol | Regex):
            raise SbplError(f"{head} takes one string: {_show(form)[:120]}")
    elif head in ("regex", "path-regex", "global-name-regex"):
        if len(args) != 1 or not isinstance(args[0], str) or isinstance(args[0], Symbol):
            raise SbplError(f"{head} takes one regex: {_show(form)[:120]}")
        try:
            re.compile(args[0])
        except re.error as exc:
            raise SbplError(f"bad regex in {_show(form)[:120]}: {exc}") from None
    elif head in ("require-all", "require-any", "require-not"):
        if not args or (head == "require-not" and len(args) != 1):
            raise SbplError(f"{head} needs filters: {_show(form)[:120]}")
        for arg in args:
            if not isinstance(arg, list):
                raise SbplError(f"{head} takes filters: {_show(form)[:120]}")
            _check_filter(arg)
    elif head in ("remote", "local"):
        if not args or args[0] not in ("ip", "ip4", "ip6", "tcp", "tcp4", "tcp6", "udp", "udp4", "udp6",
                                       "unix-socket"):
            raise SbplError(f"{head} takes a protocol: {_show(form)[:120]}")
        if args[0] == "unix-socket":
            for arg in args[1:]:
                if not isinstance(arg, list):
                    raise SbplError(f"unix-socket takes path filters: {_show(form)[:120]}")
                _check_filter(arg)
        elif len(args) > 2 or (len(args) == 2 and not _HOST_PORT.fullmatch(str(args[1]))):
            raise SbplError(f'{head} {args[0]} takes "localhost:PORT" or "*:PORT": {_show(form)[:120]}')


_HOST_PORT = re.compile(r"(localhost|\*):(\*|\d{1,5})")


# --- evaluating ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Query:
    """One request a sandboxed process makes: an operation and what it touches."""

    operation: str  # e.g. "file-read-data", "network-outbound", "mach-lookup", "process-exec"
    path: str | None = None  # file operations, process-exec, a Unix socket's path
    remote: tuple[str, int] | None = None  # network-outbound over IP: (host, port)
    name: str | None = None  # mach-lookup: the service name
    vnode: str | None = None  # what the path is, for vnode-type filters: "REGULAR-FILE", "DIRECTORY", ...

    def __str__(self) -> str:
        what = self.path or self.name or (f"{self.remote[0]}:{self.remote[1]}" if self.remote else "")
        return f"{self.operation} {what}".strip()


_LOOPBACK = {"localhost", "127.0.0.1", "::1"}


def decide(profile: str | Sequence[Rule], query: Query,
           semantics: Literal["last", "specific"] = "last") -> tuple[str, Rule | None]:
    """What ``profile`` decides for ``query``: ("allow" or "deny", the rule that decided, None when
    nothing matched and the answer is the implicit deny). ``semantics``: "last", the last matching
    rule wins; "specific", a rule naming the operation exactly beats a wildcard one (the longer
    prefix beats the shorter, ``default`` loses to all), the last of equals winning."""
    found = check(profile) if isinstance(profile, str) else list(profile)
    best: tuple[float, int, Rule] | None = None
    for index, rule in enumerate(found):
        rank = max((_covers(op, query.operation) for op in rule.operations), default=-1.0)
        if rank < 0 or not (not rule.filters or any(_matches(f, query, rule) for f in rule.filters)):
            continue
        key = (rank if semantics == "specific" else 0.0, index)
        if best is None or key >= best[:2]:
            best = (key[0], key[1], rule)
    if best is None:
        return "deny", None
    return best[2].action, best[2]


def _covers(operation: str, asked: str) -> float:
    """How specifically ``operation`` names ``asked``: -1 not at all, 0 ``default``, the prefix's
    length for a wildcard, infinity for the exact name."""
    if operation == asked:
        return float("inf")
    if operation == "default":
        return 0.0
    if operation.endswith("*") and asked.startswith(operation[:-1]):
        return float(len(operation) - 1)
    return -1.0


def _matches(form: Form, query: Query, rule: Rule) -> bool:
    if not isinstance(form, list) or not form:
        raise SbplError(f"not a filter: {_show(form)} in {rule}")
    head, args = form[0], form[1:]
    if head in ("require-all", "require-any", "require-not"):
        results = (_matches(arg, query, rule) for arg in args)
        return all(results) if head == "require-all" else (
            any(results) if head == "require-any" else not next(results))
    if head in ("literal", "path", "subpath", "regex", "path-regex", "prefix"):
        path = query.path if query.remote is None else None
        if path is None or query.operation == "mach-lookup":
            return False
        return _path_matches(str(head), str(args[0]), path)
    if head == "vnode-type":
        if query.vnode is None:
            raise SbplError(f"{rule} needs to know what {query} touches (Query.vnode)")
        return str(args[0]) == query.vnode
    if head == "remote":
        protocol = args[0]
        if protocol == "unix-socket":
            if query.path is None or query.remote is not None:
                return False
            return not args[1:] or any(_matches(arg, query, rule) for arg in args[1:])
        if query.remote is None:
            return False
        host, _, port = str(args[1]).partition(":") if len(args) > 1 else ("*", "", "*")
        host_ok = host == "*" or (host == "localhost" and query.remote[0] in _LOOPBACK)
        return host_ok and (port == "*" or int(port) == query.remote[1])
    if head in ("global-name", "global-name-prefix", "global-name-regex", "local-name"):
        if query.name is None:
            return False
        value = str(args[0])
        if head == "global-name":
            return query.name == value
        if head == "global-name-prefix":
            return query.name.startswith(value)
        if head == "global-name-regex":
            return re.search(value, query.name) is not None
        return False  # local-name: a service of the process's own bootstrap, never a global lookup
    raise SbplError(f"the evaluator does not know the filter {_show(form)} of {rule}, which {query} reaches")


def _path_matches(kind: str, pattern: str, path: str) -> bool:
    if kind in ("literal", "path"):
        return path == pattern
    if kind == "prefix":
        return path.startswith(pattern)
    if kind == "subpath":
        base = pattern.rstrip("/") or "/"
        return path == base or path.startswith(base if base == "/" else base + "/")
    return re.search(pattern, path) is not None
