"""The scripted stand-in: an offline "model" that drives an agent to write ``ScriptedPlan.files``.

It needs no network and is labelled ``scripted`` everywhere: its answers are harness checks, not
model results. It speaks through the agent's own protocol, choosing from the tools the request
offers (names and JSON schemas as the real agents send them, see AGENT-PROTOCOLS.md):

- a file-write tool (claude-code ``Write``, opencode ``write``, generic ``write_file``...): one file
  per turn, preceded by the agent's read tool when the file already exists, because claude-code
  and opencode refuse to overwrite a file the conversation has not read;
- cline's ``editor`` (creates a missing file; replacing an existing one needs its old text);
- a shell tool (codex ``exec_command``, mini-swe-agent/opencode ``bash``, cline ``run_commands``):
  all remaining files in one POSIX ``sh`` command that reproduces the exact bytes;
- mini-swe-agent's completion command once the files are written, when its prompt asks for it;
- no tools (aider): aider's whole-file listing format, all files in one reply;
- then the plan's final message, as text.

It is stateless: progress is read from the conversation in the request (which planned writes an
earlier assistant turn already made), so a hybrid run whose other turns went to another model
still converges. The filesystem is consulted only to pick the move an agent's protocol requires
(read-before-overwrite), never to judge progress.

Token counts are an honest approximation, not a tokenizer: one token per 4 characters (rounded
up) of the request's message text, tool calls and tool definitions, and of the reply.
"""
from __future__ import annotations

import json
import os
import shlex
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

from pytest_arena.router.backends.base import Backend, CallContext
from pytest_arena.router.contracts import (
    CanonicalRequest,
    Event,
    Finish,
    ScriptedPlan,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolSpec,
    Usage,
)
from pytest_arena.router.errors import ConfigError

# mini-swe-agent ends a run when the model runs exactly this command (its prompt says so).
SUBMIT_MARKER = "COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"
SUBMIT_COMMAND = f"echo {SUBMIT_MARKER}"

# Tool names by what they do, compared case-insensitively; each also needs the argument roles below.
_WRITE_TOOLS = ("write", "write_file", "write_to_file", "create_file", "file_write", "writefile")
_EDITOR_TOOLS = ("editor",)  # create-or-replace: an existing file needs old_text
_READ_TOOLS = ("read", "read_file")
_SHELL_TOOLS = (
    "bash", "exec_command", "run_commands", "shell", "execute_command", "run_command",
    "run_shell_command", "shell_command", "terminal",
)

# Argument roles by property name (lower-cased).
_PATH_KEYS = frozenset({"path", "file_path", "filepath", "absolute_path", "filename", "file"})
_CONTENT_KEYS = frozenset({"content", "contents", "file_text", "text", "new_text", "data"})
_OLD_TEXT_KEYS = frozenset({"old_text", "old_string", "old_str"})
_COMMAND_KEYS = frozenset({"command", "cmd", "commands", "script"})
_WORKDIR_KEYS = frozenset({"workdir", "cwd", "working_directory"})

CHARS_PER_TOKEN = 4


def estimate_tokens(text: str) -> int:
    """The documented approximation: ceil(len(text) / 4)."""
    return -(-len(text) // CHARS_PER_TOKEN)


# ----------------------------------------------------------------------------- the plan's files
@dataclass(frozen=True, slots=True)
class PlannedFile:
    rel_path: str
    abs_path: str
    content: str

    @property
    def shell_write(self) -> str:
        """A POSIX sh command writing exactly ``content``: printf is a builtin (no argv size
        limit), and single quotes keep every byte literal except ' itself, which shlex escapes."""
        return f"printf '%s' {shlex.quote(self.content)} > {shlex.quote(self.abs_path)}"

    @property
    def whole_listing(self) -> str:
        """aider's whole-file format: filename line, fence, content, fence. aider ends the file
        with a newline either way, so content without one cannot be reproduced byte for byte."""
        body = self.content if self.content.endswith("\n") or not self.content else self.content + "\n"
        return f"{self.rel_path}\n```\n{body}```\n"


def planned_files(plan: ScriptedPlan) -> list[PlannedFile]:
    root = os.path.abspath(plan.workspace)  # agents' write tools want absolute paths
    return [PlannedFile(rel, os.path.normpath(os.path.join(root, rel)), content) for rel, content in plan.files.items()]


def shell_script(files: list[PlannedFile]) -> str:
    parts = []
    for parent in dict.fromkeys(os.path.dirname(f.abs_path) for f in files):
        parts.append(f"mkdir -p {shlex.quote(parent)}")
    parts.extend(f.shell_write for f in files)
    return " && ".join(parts)


# ----------------------------------------------------------------------------- offered tools
@dataclass(frozen=True, slots=True)
class OfferedTools:
    write: ToolSpec | None = None
    editor: ToolSpec | None = None
    read: ToolSpec | None = None
    shell: ToolSpec | None = None


def _properties(tool: ToolSpec) -> dict[str, Any]:
    props = (tool.parameters or {}).get("properties")
    return props if isinstance(props, dict) else {}


def _has_role(tool: ToolSpec, keys: frozenset[str]) -> bool:
    return any(name.lower() in keys for name in _properties(tool))


def classify_tools(tools: list[ToolSpec]) -> OfferedTools:
    by_name = {t.name.lower(): t for t in tools}

    def first(names: tuple[str, ...], *roles: frozenset[str]) -> ToolSpec | None:
        for name in names:
            tool = by_name.get(name)
            if tool is not None and all(_has_role(tool, r) for r in roles):
                return tool
        return None

    return OfferedTools(
        write=first(_WRITE_TOOLS, _PATH_KEYS, _CONTENT_KEYS),
        editor=first(_EDITOR_TOOLS, _PATH_KEYS, _CONTENT_KEYS),
        read=first(_READ_TOOLS, _PATH_KEYS),
        shell=first(_SHELL_TOOLS, _COMMAND_KEYS),
    )


def _schema_types(prop: dict[str, Any]) -> set[str]:
    types: set[str] = set()
    declared = prop.get("type")
    if isinstance(declared, str):
        types.add(declared)
    elif isinstance(declared, list):
        types.update(t for t in declared if isinstance(t, str))
    for alt in prop.get("anyOf", []) + prop.get("oneOf", []):
        if isinstance(alt, dict):
            types |= _schema_types(alt)
    return types


def _placeholder(prop: dict[str, Any]) -> Any:
    """A value for a required property whose meaning we do not know: the schema's own choice first."""
    if "default" in prop:
        return prop["default"]
    if prop.get("enum"):
        return prop["enum"][0]
    if "const" in prop:
        return prop["const"]
    types = _schema_types(prop)
    for typ, value in (("string", ""), ("boolean", False), ("integer", 0), ("number", 0),
                       ("array", []), ("object", {}), ("null", None)):
        if typ in types:
            return value
    return ""


def build_arguments(tool: ToolSpec, *, path: str | None = None, content: str | None = None,
                    old_text: str | None = None, command: str | None = None,
                    workdir: str | None = None) -> dict[str, Any]:
    """Arguments from the tool's JSON schema: known roles get their values, other required
    properties get the schema's default (or a neutral value), optional unknowns are left out."""
    required = set((tool.parameters or {}).get("required") or [])
    args: dict[str, Any] = {}
    for key, prop in _properties(tool).items():
        prop = prop if isinstance(prop, dict) else {}
        role = key.lower()
        if role in _PATH_KEYS and path is not None:
            args[key] = path
        elif role in _CONTENT_KEYS and content is not None:
            args[key] = content
        elif role in _OLD_TEXT_KEYS and old_text is not None:
            args[key] = old_text
        elif role in _COMMAND_KEYS and command is not None:
            if "array" in _schema_types(prop):
                # cline's run_commands takes a list of command lines; other arrays are argv.
                args[key] = [command] if role == "commands" else ["sh", "-c", command]
            else:
                args[key] = command
        elif role in _WORKDIR_KEYS and workdir is not None:
            args[key] = workdir
        elif key in required:
            args[key] = _placeholder(prop)
    return args


# ----------------------------------------------------------------------------- progress
def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


@dataclass(frozen=True, slots=True)
class PastCall:
    name: str
    args: Any  # parsed JSON arguments (a string when they were not JSON)


def past_tool_calls(req: CanonicalRequest) -> list[PastCall]:
    calls = []
    for msg in req.messages:
        if msg.role != "assistant":
            continue
        for tc in msg.tool_calls:
            try:
                args = json.loads(tc.arguments) if tc.arguments else {}
            except ValueError:
                args = tc.arguments
            calls.append(PastCall(tc.name, args))
    return calls


def _role_values(args: Any, keys: frozenset[str]) -> list[str]:
    if not isinstance(args, dict):
        return []
    return [v for k, v in args.items() if k.lower() in keys and isinstance(v, str)]


def _names_file(value: str, file: PlannedFile, workspace: str) -> bool:
    return os.path.normpath(os.path.join(os.path.abspath(workspace), value)) == file.abs_path


@dataclass(slots=True)
class Progress:
    plan: ScriptedPlan
    calls: list[PastCall]
    assistant_texts: list[str]

    @classmethod
    def of(cls, req: CanonicalRequest, plan: ScriptedPlan) -> Progress:
        texts = [m.content for m in req.messages if m.role == "assistant" and m.content]
        return cls(plan, past_tool_calls(req), texts)

    def written(self, file: PlannedFile) -> bool:
        """An earlier turn wrote exactly these bytes to this file: by a write tool, a shell
        command, or a whole-file listing."""
        for call in self.calls:
            if any(file.shell_write in s for s in _strings(call.args)):
                return True
            paths = _role_values(call.args, _PATH_KEYS)
            if any(_names_file(p, file, self.plan.workspace) for p in paths) and \
                    file.content in _role_values(call.args, _CONTENT_KEYS):
                return True
        return any(file.whole_listing in text for text in self.assistant_texts)

    def was_read(self, file: PlannedFile, read_tool: ToolSpec) -> bool:
        return any(
            call.name == read_tool.name
            and any(_names_file(p, file, self.plan.workspace) for p in _role_values(call.args, _PATH_KEYS))
            for call in self.calls
        )

    def submitted(self) -> bool:
        return any(SUBMIT_COMMAND in s for call in self.calls for s in _strings(call.args))


def asks_for_submit_command(req: CanonicalRequest) -> bool:
    return any(SUBMIT_MARKER in m.content for m in req.messages if m.role in ("system", "user"))


# ----------------------------------------------------------------------------- the decision
@dataclass(frozen=True, slots=True)
class ScriptedReply:
    text: str = ""
    tool_call: ToolCall | None = None


def next_reply(req: CanonicalRequest, plan: ScriptedPlan) -> ScriptedReply:
    """The deterministic next move for this conversation."""
    files = planned_files(plan)
    progress = Progress.of(req, plan)
    pending = [f for f in files if not progress.written(f)]
    offered = classify_tools(req.tools)
    call_id = f"call_scripted_{sum(1 for m in req.messages if m.role == 'assistant')}"

    def call(tool: ToolSpec, **roles: Any) -> ScriptedReply:
        args = build_arguments(tool, **roles)
        return ScriptedReply(tool_call=ToolCall(call_id, tool.name, json.dumps(args, ensure_ascii=False)))

    if pending:
        file = pending[0]
        exists = os.path.exists(file.abs_path)
        if offered.write is not None:
            if exists and offered.read is not None and not progress.was_read(file, offered.read):
                return call(offered.read, path=file.abs_path)
            return call(offered.write, path=file.abs_path, content=file.content)
        if offered.editor is not None and not exists:
            return call(offered.editor, path=file.abs_path, content=file.content)
        if offered.shell is not None:
            return call(offered.shell, command=shell_script(pending), workdir=os.path.abspath(plan.workspace))
        if offered.editor is not None:
            with open(file.abs_path, encoding="utf-8", newline="") as fh:
                current = fh.read()
            if current:
                return call(offered.editor, path=file.abs_path, content=file.content, old_text=current)
        # No usable tool (aider, or an agent's side call): aider's whole-file listing.
        return ScriptedReply(text="".join(f.whole_listing for f in pending))
    if offered.shell is not None and asks_for_submit_command(req) and not progress.submitted():
        return call(offered.shell, command=SUBMIT_COMMAND, workdir=os.path.abspath(plan.workspace))
    return ScriptedReply(text=plan.final_message)


def prompt_text(req: CanonicalRequest) -> str:
    """Everything the request shows the model, as the token approximation counts it."""
    parts = []
    for msg in req.messages:
        parts.append(msg.content)
        for tc in msg.tool_calls:
            parts.append(tc.name + tc.arguments)
    for tool in req.tools:
        parts.append(tool.name + tool.description + json.dumps(tool.parameters, sort_keys=True))
    return "".join(parts)


class ScriptedBackend(Backend):
    """Backend for ``BackendSpec(kind="scripted")``: answers from ``call.run.scripted``."""

    local = True
    output_capped = False  # it writes whole files; no model runs that a cap could cut

    async def stream(self, req: CanonicalRequest, call: CallContext) -> AsyncIterator[Event]:
        plan = call.run.scripted
        if plan is None:
            raise ConfigError(
                f"run {call.run.run_id}: backend {self.spec.label!r} is scripted but the run has no "
                "scripted plan (RunSpec.scripted); the plugin fills it from the task's reference files"
            )
        reply = next_reply(req, plan)
        if reply.tool_call is not None:
            tc = reply.tool_call
            yield ToolCallDelta(index=0, id=tc.id, name=tc.name, arguments=tc.arguments)
            completion = tc.name + tc.arguments
        else:
            yield TextDelta(reply.text)
            completion = reply.text
        yield Usage(prompt=estimate_tokens(prompt_text(req)), completion=estimate_tokens(completion))
        yield Finish("tool_calls" if reply.tool_call is not None else "stop", model=self.spec.model)
