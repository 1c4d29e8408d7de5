"""The scripted stand-in drives each agent through the agent's own tools, from the real tool
definitions each agent sends (captured in tests/fakes/agent_tools.json).

An agent loop is simulated by executing each emitted call for real: shell commands run in bash
and in dash (/bin/sh), write/editor/read calls act on real files in a temp workspace.
"""
from __future__ import annotations

import asyncio
import json
import subprocess
import time
from pathlib import Path

import pytest

from pytest_arena.router.backends.base import CallContext
from pytest_arena.router.backends.scripted import SUBMIT_COMMAND, ScriptedBackend, prompt_text
from pytest_arena.router.contracts import (
    BackendSpec,
    CanonicalRequest,
    Finish,
    Message,
    RunSpec,
    ScriptedPlan,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolSpec,
    Usage,
)
from pytest_arena.router.errors import ConfigError

AGENTS = json.loads((Path(__file__).parents[1] / "fakes" / "agent_tools.json").read_text())

TRICKY = (
    "it's a \"quote\" \\ backslash $HOME `date` $(echo no) %s %d\n"
    "\ttab, unicode: héllo ✓ 日本語\n"
    "'''single''' and EOF\nEOF\n"
    "no trailing newline"
)


def tools_of(agent: str) -> list[ToolSpec]:
    return [ToolSpec(t["name"], t["description"], t["parameters"]) for t in AGENTS[agent]["tools"]]


def scripted_backend() -> ScriptedBackend:
    return ScriptedBackend(BackendSpec(kind="scripted", model="scripted", label="scripted"))


def call_context(plan: ScriptedPlan | None) -> CallContext:
    spec = BackendSpec(kind="scripted", model="scripted", label="scripted")
    run = RunSpec(run_id="r1", strategy="always-cloud", local=spec, cloud=spec, scripted=plan)
    return CallContext(run=run, side="cloud", guards=None, started=time.monotonic())


def answer(req: CanonicalRequest, plan: ScriptedPlan | None) -> list:
    async def collect():
        return [ev async for ev in scripted_backend().stream(req, call_context(plan))]

    return asyncio.run(collect())


def tool_call_of(events: list) -> ToolCall | None:
    deltas = [e for e in events if isinstance(e, ToolCallDelta)]
    if not deltas:
        return None
    assert len(deltas) == 1 and deltas[0].id and deltas[0].name
    return ToolCall(deltas[0].id, deltas[0].name, deltas[0].arguments)


def text_of(events: list) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def finish_of(events: list) -> Finish:
    assert isinstance(events[-1], Finish) and isinstance(events[-2], Usage)
    return events[-1]


def run_shell(command: str, cwd: Path, shell: str = "bash") -> str:
    done = subprocess.run([shell, "-c", command], cwd=cwd, capture_output=True, timeout=10)
    assert done.returncode == 0, done.stderr
    return done.stdout.decode()


def execute(tc: ToolCall, workspace: Path, shell: str) -> str:
    """Do what the agent would do with this call; return the tool result text."""
    args = json.loads(tc.arguments)
    if tc.name in ("Read", "read"):
        return Path(args.get("file_path") or args["filePath"]).read_text()
    if tc.name in ("Write", "write"):
        target = Path(args.get("file_path") or args["filePath"])
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(args["content"].encode())
        return "File written"
    if tc.name == "editor":
        target = Path(args["path"])
        if args.get("old_text") is None:
            assert not target.exists(), "cline's editor only creates missing files without old_text"
            target.write_bytes(args["new_text"].encode())
        else:
            old = target.read_text()
            assert old.count(args["old_text"]) == 1
            target.write_bytes(old.replace(args["old_text"], args["new_text"]).encode())
        return "ok"
    command = {"exec_command": lambda: args["cmd"], "bash": lambda: args["command"],
               "Bash": lambda: args["command"], "run_commands": lambda: " && ".join(args["commands"])}[tc.name]()
    return run_shell(command, workspace, shell)


def drive(agent: str, plan: ScriptedPlan, *, shell: str = "bash", system: str | None = None,
          user: str | None = None, max_turns: int = 12) -> list[list]:
    """Run the agent loop against the backend until it answers with text; return every answer.
    The first messages are the agent's real ones where captured."""
    system = system or AGENTS[agent].get("system", "You are a coding agent.")
    user = user or AGENTS[agent].get("first_user", "Solve the task.")
    messages = [Message("system", system), Message("user", user)]
    answers = []
    for _ in range(max_turns):
        req = CanonicalRequest(protocol=AGENTS[agent]["protocol"], model="m", messages=list(messages),
                               tools=tools_of(agent), stream=True)
        events = answer(req, plan)
        answers.append(events)
        tc = tool_call_of(events)
        if tc is None:
            return answers
        result = execute(tc, Path(plan.workspace), shell)
        messages += [Message("assistant", tool_calls=[tc]), Message("tool", result, tool_call_id=tc.id, name=tc.name)]
    raise AssertionError(f"{agent}: no final answer after {max_turns} turns")


def files_on_disk(workspace: Path, plan: ScriptedPlan) -> dict[str, bytes]:
    return {rel: (workspace / rel).read_bytes() for rel in plan.files}


def expected_bytes(plan: ScriptedPlan) -> dict[str, bytes]:
    return {rel: content.encode() for rel, content in plan.files.items()}


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    (ws / "pkg").mkdir(parents=True)
    (ws / "pkg" / "solution.py").write_text("def solve():\n    raise NotImplementedError\n")
    return ws


def two_file_plan(ws: Path) -> ScriptedPlan:
    return ScriptedPlan(
        files={"pkg/solution.py": "def solve():\n    return 42\n", "pkg/new_dir/notes.txt": TRICKY},
        workspace=str(ws), final_message="Finished: wrote 2 files.",
    )


# ----------------------------------------------------------------------------- file-write tools
def test_claude_code_reads_an_existing_file_before_writing_it_then_writes_new_ones(workspace):
    plan = two_file_plan(workspace)
    answers = drive("claude-code", plan)
    calls = [tool_call_of(a) for a in answers[:-1]]
    assert [c.name for c in calls] == ["Read", "Write", "Write"]
    assert json.loads(calls[0].arguments) == {"file_path": str(workspace / "pkg/solution.py")}
    assert json.loads(calls[2].arguments) == {"file_path": str(workspace / "pkg/new_dir/notes.txt"), "content": TRICKY}
    assert files_on_disk(workspace, plan) == expected_bytes(plan)
    assert text_of(answers[-1]) == "Finished: wrote 2 files."
    assert [finish_of(a).reason for a in answers] == ["tool_calls"] * 3 + ["stop"]


def test_opencode_uses_its_write_tool_with_filePath(workspace):
    plan = two_file_plan(workspace)
    answers = drive("opencode", plan)
    calls = [tool_call_of(a) for a in answers[:-1]]
    assert [c.name for c in calls] == ["read", "write", "write"]
    assert set(json.loads(calls[1].arguments)) == {"filePath", "content"}
    assert files_on_disk(workspace, plan) == expected_bytes(plan)


def test_cline_creates_missing_files_with_editor_and_overwrites_existing_ones_with_run_commands(workspace):
    plan = ScriptedPlan(files={"fresh.py": "x = 1\n", "pkg/solution.py": TRICKY}, workspace=str(workspace))
    answers = drive("cline", plan)
    calls = [tool_call_of(a) for a in answers[:-1]]
    assert [c.name for c in calls] == ["editor", "run_commands"]
    assert json.loads(calls[0].arguments) == {"path": str(workspace / "fresh.py"), "new_text": "x = 1\n"}
    commands = json.loads(calls[1].arguments)["commands"]
    assert isinstance(commands, list) and len(commands) == 1
    assert files_on_disk(workspace, plan) == expected_bytes(plan)
    assert text_of(answers[-1]) == plan.final_message


# ----------------------------------------------------------------------------- shell tools
@pytest.mark.parametrize("shell", ["bash", "sh"])
def test_codex_writes_every_file_in_one_exec_command_with_exact_bytes(workspace, shell):
    plan = ScriptedPlan(
        files={"pkg/solution.py": TRICKY, "empty.txt": "", "-dash.txt": "-n -e\\n",
               "a/b/c/deep.txt": "100% \\\\ '\n\n"},
        workspace=str(workspace),
    )
    answers = drive("codex", plan, shell=shell)
    assert len(answers) == 2
    args = json.loads(tool_call_of(answers[0]).arguments)
    assert set(args) == {"cmd", "workdir"} and args["workdir"] == str(workspace)
    assert files_on_disk(workspace, plan) == expected_bytes(plan)
    assert finish_of(answers[1]).reason == "stop"


def test_mini_swe_agent_writes_with_bash_then_runs_its_completion_command(workspace):
    plan = two_file_plan(workspace)
    answers = drive("mini-swe-agent", plan, shell="sh")  # mini runs commands with subprocess(shell=True)
    calls = [tool_call_of(a) for a in answers[:-1]]
    assert [c.name for c in calls] == ["bash", "bash"]
    assert json.loads(calls[1].arguments) == {"command": SUBMIT_COMMAND}
    assert files_on_disk(workspace, plan) == expected_bytes(plan)


def test_a_bash_tool_without_the_completion_prompt_gets_no_completion_command(workspace):
    plan = two_file_plan(workspace)
    answers = drive("mini-swe-agent", plan, system="You run bash.", user="Plain bash-tool agent.")
    assert [tool_call_of(a).name for a in answers[:-1]] == ["bash"]
    assert text_of(answers[-1]) == plan.final_message
    assert files_on_disk(workspace, plan) == expected_bytes(plan)


# ----------------------------------------------------------------------------- aider (no tools)
def test_aider_gets_every_file_as_a_whole_file_listing_then_the_final_message(workspace):
    plan = ScriptedPlan(files={"pkg/solution.py": "def solve():\n    return 42\n", "b.txt": "no newline"},
                        workspace=str(workspace), final_message="All done.")
    req = CanonicalRequest(protocol="openai-chat", model="m", messages=[
        Message("system", AGENTS["aider"]["system"]), Message("user", "Make solve() return 42.")])
    events = answer(req, plan)
    assert text_of(events) == "pkg/solution.py\n```\ndef solve():\n    return 42\n```\nb.txt\n```\nno newline\n```\n"
    assert finish_of(events).reason == "stop"
    req.messages += [Message("assistant", text_of(events)), Message("user", "Lint errors? none.")]
    assert text_of(answer(req, plan)) == "All done."


# ----------------------------------------------------------------------------- progress logic
def test_progress_counts_only_exact_writes_of_the_planned_bytes(workspace):
    """A hybrid run: another model wrote the file wrongly, so the scripted side writes it again;
    a write with the planned bytes by any tool counts, whoever made it."""
    plan = ScriptedPlan(files={"out.txt": "right\n"}, workspace=str(workspace))
    target = str(workspace / "out.txt")
    wrong = ToolCall("c0", "write", json.dumps({"filePath": target, "content": "wrong\n"}))
    req = CanonicalRequest(protocol="openai-chat", model="m", tools=tools_of("opencode"), messages=[
        Message("user", "go"), Message("assistant", tool_calls=[wrong]), Message("tool", "ok", tool_call_id="c0")])
    again = tool_call_of(answer(req, plan))
    assert again.name == "write" and json.loads(again.arguments) == {"filePath": target, "content": "right\n"}
    relative = ToolCall("c1", "write_file", json.dumps({"path": "out.txt", "content": "right\n"}))
    req.messages += [Message("assistant", tool_calls=[relative]), Message("tool", "ok", tool_call_id="c1")]
    assert text_of(answer(req, plan)) == plan.final_message


def test_the_same_conversation_gets_the_same_answer_and_ids_are_unique_per_turn(workspace):
    plan = two_file_plan(workspace)
    req = CanonicalRequest(protocol="anthropic", model="m", tools=tools_of("claude-code"),
                           messages=[Message("user", "go")])
    first, second = answer(req, plan), answer(req, plan)
    assert first == second
    answers = drive("claude-code", plan)
    ids = [tool_call_of(a).id for a in answers[:-1]]
    assert len(set(ids)) == len(ids)


# ----------------------------------------------------------------------------- usage, errors
def test_usage_counts_the_prompt_including_tool_definitions_and_the_reply(workspace):
    plan = two_file_plan(workspace)
    bare = CanonicalRequest(protocol="anthropic", model="m", messages=[Message("user", "go")])
    with_tools = CanonicalRequest(protocol="anthropic", model="m", messages=[Message("user", "go")],
                                  tools=tools_of("claude-code"))
    usage_bare = next(e for e in answer(bare, plan) if isinstance(e, Usage))
    usage_tools = next(e for e in answer(with_tools, plan) if isinstance(e, Usage))
    # claude-code's 24 tool definitions are tens of KB: a chars/4 count sees them.
    assert usage_tools.prompt - usage_bare.prompt > len(json.dumps(AGENTS["claude-code"]["tools"])) // 8
    assert usage_tools.prompt == -(-len(prompt_text(with_tools)) // 4)
    assert usage_bare.completion >= len(TRICKY) // 4 and usage_tools.completion > 0
    assert finish_of(answer(with_tools, plan)).model == "scripted"


def test_a_run_without_a_scripted_plan_is_a_config_error_naming_the_field():
    req = CanonicalRequest(protocol="openai-chat", model="m", messages=[Message("user", "go")])
    with pytest.raises(ConfigError, match=r"RunSpec\.scripted"):
        answer(req, None)


# ----------------------------------------------------------------------------- through the router
@pytest.fixture(scope="module")
def scripted_router():
    from pytest_arena.router.service import RouterSettings, start_router

    with start_router(RouterSettings()) as handle:
        yield handle


def register_scripted(router, run_id: str, plan: ScriptedPlan):
    spec = BackendSpec(kind="scripted", model="scripted", label="scripted")
    return router.register_run(RunSpec(run_id=run_id, strategy="always-cloud", local=spec, cloud=spec, scripted=plan))


def openai_tools(agent: str) -> list[dict]:
    return [{"type": "function", "function": {"name": t["name"], "description": t["description"],
                                              "parameters": t["parameters"]}} for t in AGENTS[agent]["tools"]]


def test_every_wire_protocol_carries_the_scripted_tool_calls_to_real_sdk_clients(scripted_router, workspace):
    """The router's front doors render the scripted events for the official SDKs each agent uses."""
    import anthropic
    import ollama
    import openai

    plan = ScriptedPlan(files={"fresh.txt": TRICKY}, workspace=str(workspace))
    target = str(workspace / "fresh.txt")
    ep = register_scripted(scripted_router, "scripted-wire", plan)
    user = [{"role": "user", "content": "Write fresh.txt"}]

    chat = openai.OpenAI(base_url=ep.openai_base, api_key=ep.api_key)
    stream = chat.chat.completions.create(model=ep.model, messages=user, tools=openai_tools("opencode"),
                                          stream=True, stream_options={"include_usage": True})
    chunks = list(stream)
    args = "".join(tc.function.arguments or "" for c in chunks for ch in c.choices for tc in ch.delta.tool_calls or [])
    assert json.loads(args) == {"filePath": target, "content": TRICKY}
    assert [ch.finish_reason for c in chunks for ch in c.choices if ch.finish_reason] == ["tool_calls"]
    assert chunks[-1].usage.prompt_tokens > 1000  # opencode's 10 tool definitions are counted

    claude = anthropic.Anthropic(base_url=ep.anthropic_base, api_key=ep.api_key)
    tools = [{"name": t["name"], "description": t["description"], "input_schema": t["parameters"]}
             for t in AGENTS["claude-code"]["tools"]]
    message = claude.messages.create(model=ep.model, max_tokens=1024, messages=user, tools=tools)
    assert message.stop_reason == "tool_use"
    assert [(b.name, b.input) for b in message.content if b.type == "tool_use"] == \
        [("Write", {"file_path": target, "content": TRICKY})]

    codex_tools = [{"type": "function", "name": t["name"], "description": t["description"],
                    "parameters": t["parameters"]} for t in AGENTS["codex"]["tools"]]
    response = chat.responses.create(model=ep.model, input="Write fresh.txt", tools=codex_tools)
    call = next(item for item in response.output if item.type == "function_call")
    assert call.name == "exec_command"
    run_shell(json.loads(call.arguments)["cmd"], workspace, "sh")
    assert (workspace / "fresh.txt").read_bytes() == TRICKY.encode()

    local = ollama.Client(host=ep.ollama_base, headers={"Authorization": f"Bearer {ep.api_key}"})
    (workspace / "fresh.txt").unlink()
    reply = local.chat(model=ep.model, messages=user, tools=openai_tools("cline"), stream=False)
    assert [(tc.function.name, dict(tc.function.arguments)) for tc in reply.message.tool_calls] == \
        [("editor", {"path": target, "new_text": TRICKY})]

    totals = scripted_router.finish_run("scripted-wire")
    assert totals.calls == 4 and totals.cloud_calls == 4 and totals.statuses == {"ok": 4}
    assert {rec.backend for rec in totals.records} == {"scripted"} and totals.cost_usd == 0
