"""The deterministic strategies on requests shaped like what each real agent sends.

Request shapes follow docs/AGENT-PROTOCOLS.md (measured traffic): aider sends no tools and text edit
formats with few-shot examples; cline 25 tools (and, in its text protocol, tool results inside user
messages); mini-swe-agent one ``bash`` tool, or none in text mode; opencode/claude-code/codex tool
roles after the front door's translation.
"""
from __future__ import annotations

import asyncio
import json

import pytest

from pytest_arena.router.contracts import CanonicalRequest, Message, ToolCall, ToolSpec
from pytest_arena.router.strategies import (
    Decision,
    StrategyContext,
    decide,
    get_strategy,
    param_specs,
    split_forcing,
    strategy_names,
    validate_params,
    warm_up,
)
from pytest_arena.router.strategies.text import CLOUD, LOCAL

TASK = "Create a file hello.txt containing the word hi"


def run(name: str, req: CanonicalRequest, **params) -> Decision:
    ctx = StrategyContext(params=validate_params(name, params))
    return asyncio.run(decide(name, req, ctx))


def request(messages: list[Message], tools: list[ToolSpec] | None = None,
            protocol: str = "openai-chat") -> CanonicalRequest:
    return CanonicalRequest(protocol=protocol, model="fake-model", messages=messages,
                            tools=tools or [], stream=True)


def tools(*names: str) -> list[ToolSpec]:
    return [ToolSpec(name, parameters={"type": "object"}) for name in names]


# ----------------------------------------------------------------------------- agent-shaped requests
AIDER_WHOLE_SYSTEM = (
    "Act as an expert software developer.\nTake requests for changes to the supplied code.\n"
    "If the request is ambiguous, ask questions.\n\nOnce you understand the request you MUST:\n"
    "1. Determine if any code changes are needed.\n2. Explain any needed changes.\n"
    "3. If changes are needed, output a copy of each file that needs changes.\n\n"
    "To suggest changes to a file you MUST return the entire content of the updated file.\n"
    "You MUST use this *file listing* format:\n\npath/to/filename.js\n```\n// entire file\n```\n")
AIDER_DIFF_SYSTEM = (
    "Act as an expert software developer.\nAlways use best practices when coding.\n"
    "Respect and use existing conventions, libraries, etc that are already present in the code "
    "base.\nTake requests for changes to the supplied code.\n"
    "3. Describe each change with a *SEARCH/REPLACE block* per the examples below.\n")
AIDER_ARCHITECT_SYSTEM = (
    "Act as an expert architect engineer and provide direction to your editor engineer.\n"
    "Study the change request and the current code.\n"
    "Describe how to modify the code to complete the request.\n"
    "The editor engineer will rely solely on your instructions, so make them unambiguous.\n")
AIDER_EDITOR_DIFF_SYSTEM = (
    "Act as an expert software developer who edits source code.\n"
    "Describe each change with a *SEARCH/REPLACE block* per the examples below.\n")
AIDER_EDITOR_WHOLE_SYSTEM = (
    "Act as an expert software developer and make changes to source code.\n"
    "Output a copy of each file that needs changes.\n")
AIDER_ASK_SYSTEM = ("Act as an expert code analyst.\nAnswer questions about the supplied code.\n"
                    "Always reply to the user in English.\n")


def aider(system: str, task: str = TASK, examples: str = "whole") -> CanonicalRequest:
    """aider's message layout: system, few-shot example, code-base switch, files, the request."""
    example = {
        "whole": [Message("user", "Change the greeting to be more casual"),
                  Message("assistant", "Ok, I will:\n\n1. Switch the greeting text from \"Hello\" to "
                          "\"Hey\".\n\nshow_greeting.py\n```\nprint('Hey')\n```\n")],
        "diff": [Message("user", "Change get_factorial() to use math.factorial"),
                 Message("assistant", "mathweb/flask/app.py\n```python\n<<<<<<< SEARCH\nfrom flask "
                         "import Flask\n=======\nimport math\nfrom flask import Flask\n>>>>>>> "
                         "REPLACE\n```\n")],
        "none": [],
    }[examples]
    return request([
        Message("system", system), *example,
        Message("user", "I switched to a new code base. Please don't consider the above files."),
        Message("assistant", "Ok."),
        Message("user", "I have *added these files to the chat* so you can go ahead and edit them."),
        Message("assistant", "Ok, any changes I propose will be to those files."),
        Message("user", task),
    ])


CLINE_TOOLS = tools("editor", "run_commands", "read_files", "search_codebase", "fetch_web_content",
                    "ask_question", "spawn_agent", *(f"team_{i}" for i in range(18)))
CLINE_SYSTEM = "You are Cline, a highly skilled software engineer. " + "Use the tools. " * 300


def cline_first(task: str = TASK) -> CanonicalRequest:
    return request([Message("system", CLINE_SYSTEM), Message("user", f"<task>\n{task}\n</task>")],
                   CLINE_TOOLS)


def cline_after_tool(result: str) -> CanonicalRequest:
    call = ToolCall("call_1", "run_commands", json.dumps({"commands": ["pytest -q"]}))
    return request([Message("system", CLINE_SYSTEM), Message("user", f"<task>\n{TASK}\n</task>"),
                    Message("assistant", "", [call]),
                    Message("tool", result, tool_call_id="call_1", name="run_commands")],
                   CLINE_TOOLS)


def cline_text_protocol(result: str, header: str = "[execute_command for 'pytest -q'] Result:"
                        ) -> CanonicalRequest:
    """cline's/Roo Code's text protocol: tools described in the prompt, results in user turns."""
    return request([
        Message("system", "You are Cline, a highly skilled software engineer. Tool use is "
                "formatted using XML-style tags."),
        Message("user", f"<task>\n{TASK}\n</task>\n<environment_details>\n# cwd\n</environment_details>"),
        Message("assistant", "<execute_command>\n<command>pytest -q</command>\n</execute_command>"),
        Message("user", f"{header}\n\nCommand executed.\nOutput:\n{result}"),
    ])


MINI_SYSTEM = "You are a helpful assistant that can interact with a computer."
MINI_INSTANCE = ("Please solve this issue: " + TASK + "\n\n<instructions>\n" + "Follow the steps. " * 150
                 + "\n</instructions>")


def mini_swe(observation: str | None = None) -> CanonicalRequest:
    messages = [Message("system", MINI_SYSTEM), Message("user", MINI_INSTANCE)]
    if observation is not None:
        messages += [Message("assistant", "THOUGHT: list files",
                             [ToolCall("call_b", "bash", '{"command": "ls"}')]),
                     Message("tool", observation, tool_call_id="call_b")]
    return request(messages, tools("bash"))


def mini_swe_text_mode(observation: str) -> CanonicalRequest:
    return request([
        Message("system", MINI_SYSTEM), Message("user", MINI_INSTANCE),
        Message("assistant", "THOUGHT: look\n\n```mswea_bash_command\nls\n```"),
        Message("user", f"<returncode>0</returncode>\n<output>\n{observation}\n</output>"),
    ])


def claude_code_after_tool(result: str) -> CanonicalRequest:
    return request([
        Message("system", "You are Claude Code, Anthropic's official CLI for Claude. " * 200),  # ~11.6k chars
        Message("user", TASK),
        Message("assistant", "", [ToolCall("toolu_1", "Write", '{"file_path": "hello.txt"}')]),
        Message("tool", result, tool_call_id="toolu_1"),
    ], tools(*(f"T{i}" for i in range(24))), protocol="anthropic")


def opencode_first(task: str = TASK) -> CanonicalRequest:
    return request([Message("system", "You are opencode, an interactive CLI tool. " * 50),
                    Message("user", task)],
                   tools("bash", "edit", "glob", "grep", "read", "skill", "task", "todowrite",
                         "webfetch", "write"))


# ----------------------------------------------------------------------------- interface
def test_eight_strategies_each_have_params_and_decide():
    assert strategy_names() == ("always-local", "always-cloud", "rules", "heuristic",
                                "llm-classifier", "embedding-knn", "cascade", "phase-aware")
    assert all(callable(get_strategy(name).decide) for name in strategy_names())


def test_original_constants_are_the_defaults():
    defaults = {name: get_strategy(name).defaults() for name in strategy_names()}
    assert defaults["heuristic"]["heuristic.threshold"] == 12
    assert defaults["heuristic"]["legacy.threshold"] == 25
    assert defaults["cascade"]["cascade.threshold"] == 15
    assert defaults["rules"] == {"rules.token_limit": 4000, "rules.code_blocks": 3}
    assert defaults["embedding-knn"]["knn.k"] == 5
    assert defaults["llm-classifier"]["classifier.max_tokens"] == 4
    assert all(spec.doc for spec in param_specs().values())


@pytest.mark.parametrize("side", ["local", "cloud"])
def test_always_strategies(side):
    decision = run(f"always-{side}", opencode_first())
    assert (decision.choice, decision.confidence) == (side, 1.0)
    assert decision.reason == f"control: always-{side}"


def test_unknown_strategy_is_refused_with_the_known_names():
    with pytest.raises(ValueError, match="unknown routing strategy 'heuristc'.*heuristic"):
        asyncio.run(decide("heuristc", opencode_first(), StrategyContext(params={})))


# ----------------------------------------------------------------------------- forcing
@pytest.mark.parametrize("model, expected", [
    ("gpt-5.5!cloud", ("gpt-5.5", "cloud")),
    ("qwen3.6:35b!local", ("qwen3.6:35b", "local")),
    ("fake!local:latest", ("fake:latest", "local")),  # an Ollama client appended a tag
    ("router/heuristic", ("router/heuristic", None)),
])
def test_split_forcing(model, expected):
    assert split_forcing(model) == expected


def test_both_forcing_suffixes_is_an_error():
    with pytest.raises(ValueError, match="both !local and !cloud"):
        split_forcing("m!local!cloud")


def test_forced_call_skips_the_strategy_and_its_model_calls():
    async def classifier_must_not_run(req):
        raise AssertionError("the classifier was called for a forced request")

    req = cline_first("Design the architecture of a distributed scheduler")
    req.force = "local"
    ctx = StrategyContext(params={}, complete=classifier_must_not_run)
    decision = asyncio.run(decide("cascade", req, ctx))
    assert decision.choice == "local" and decision.meta == {"forced": True}
    assert "!local" in decision.reason


# ----------------------------------------------------------------------------- params
def test_validate_params_merges_over_defaults():
    merged = validate_params("cascade", {"cascade.threshold": 8, "heuristic.threshold": 14.5})
    assert merged["cascade.threshold"] == 8 and merged["heuristic.threshold"] == 14.5
    assert merged["legacy.threshold"] == 25 and merged["classifier.max_tokens"] == 4
    assert validate_params("always-local", None) == {}


@pytest.mark.parametrize("name, params, message", [
    ("heuristic", {"heuristic.treshold": 10}, "unknown strategy param 'heuristic.treshold'"),
    ("heuristic", {"knn.k": 3}, "'knn.k' does not apply to strategy 'heuristic'.*embedding-knn"),
    ("embedding-knn", {"knn.k": 0}, "'knn.k' must be >= 1"),
    ("embedding-knn", {"knn.k": 2.5}, "'knn.k' must be an integer"),
    ("heuristic", {"heuristic.threshold": True}, "must be a number"),
    ("heuristic", {"heuristic.threshold": "12"}, "must be a number, got '12' \\(str\\)"),
    ("heuristic", {"heuristic.agent_markers": "goose"}, "list of non-empty strings"),
    ("rules", {"rules.token_limit": -1}, "'rules.token_limit' must be >= 0"),
    ("nope", {}, "unknown routing strategy 'nope'"),
])
def test_validate_params_names_the_bad_key(name, params, message):
    with pytest.raises(ValueError, match=message):
        validate_params(name, params)


# ----------------------------------------------------------------------------- keyword matching
def test_keywords_match_whole_words_only():
    # Substring matching (the original) found "plan" in "explanation" and "long" in "belong".
    text = "give me an explanation of where this belongs; the planner is prolonged".lower()
    assert CLOUD.found(text) == []
    assert CLOUD.found("we need a plan. it is a long task") == ["long", "plan"]
    assert CLOUD.found("Explain\n  WHY it fails".lower()) == ["explain why"]
    assert LOCAL.found("fix the typo in 'recieve'") == ["typo", "fix the typo"]
    assert LOCAL.found("the reformatted output") == []


def test_substring_false_positive_no_longer_sends_a_request_to_the_cloud():
    # With substring matching: 2 cloud keywords ("plan", "long") -> 28 >= 25 -> cloud.
    req = request([Message("user", "Add an explanation comment to the function where it belongs.")])
    decision = run("heuristic", req)
    assert decision.choice == "local"
    assert decision.meta["cloud_keywords"] == [] and decision.meta["path"] == "legacy"


# ----------------------------------------------------------------------------- rules
def test_rules_local_for_a_small_plain_request():
    decision = run("rules", request([Message("user", "Make the CLI print its version")]))
    assert (decision.choice, decision.confidence) == ("local", 0.6)


def test_rules_local_keyword_confidence():
    decision = run("rules", request([Message("user", "Fix the typo in the README")]))
    assert (decision.choice, decision.confidence) == ("local", 0.85)


def test_rules_each_trigger_raises_confidence():
    blocks = "```py\nx\n```\n" * 3
    one = run("rules", request([Message("user", "Design the cache layer")]))
    three = run("rules", request([Message("system", "s" * 20000),
                                  Message("user", "Design the cache layer\n" + blocks)]))
    assert one.choice == three.choice == "cloud"
    assert one.confidence == pytest.approx(0.65) and three.confidence == pytest.approx(0.95)


def test_rules_send_agent_traffic_to_the_cloud_by_prompt_size_alone():
    # claude-code's ~11.6k-character system prompt (~2900 tokens) plus one file read.
    decision = run("rules", claude_code_after_tool("line of a source file\n" * 300))
    assert decision.choice == "cloud" and "prompt ~" in decision.reason


# ----------------------------------------------------------------------------- heuristic: detection
@pytest.mark.parametrize("req, signal", [
    (cline_first(), "25 tools offered"),
    (mini_swe(), "1 tools offered"),
    (mini_swe_text_mode("a.py"), "marker 'you are a helpful assistant that can interact with a computer'"),
    (aider(AIDER_WHOLE_SYSTEM), "marker 'act as an expert software developer'"),
    (aider(AIDER_ARCHITECT_SYSTEM.upper(), examples="none"), "marker 'act as an expert architect engineer'"),
    (cline_text_protocol("1 passed"), "marker 'cline'"),
])
def test_agent_calls_are_detected_structurally_first_then_by_marker(req, signal):
    decision = run("heuristic", req)
    assert decision.meta["path"] == "agent"
    assert signal in decision.meta["agent_signal"]


def test_tool_turns_mark_an_agent_call_even_without_tools_offered():
    req = claude_code_after_tool("done")
    req.tools = []
    assert run("heuristic", req).meta["agent_signal"] == "assistant tool calls"
    req.messages = [Message("user", "hi"), Message("tool", "done", tool_call_id="x")]
    assert run("heuristic", req).meta["agent_signal"] == "tool messages"


def test_generic_words_do_not_mark_an_agent_call():
    # The original's case-sensitive markers included "Continue" and "Cursor".
    req = request([Message("system", "Continue until done. Keep the cursor position."),
                   Message("user", "hello")])
    decision = run("heuristic", req)
    assert decision.meta["path"] == "legacy"
    assert decision.reason.startswith("heuristic[not-agent -> legacy]: ")


def test_extra_agent_markers_param():
    req = request([Message("system", "You are Goose, a coding agent."), Message("user", "hello")])
    assert run("heuristic", req).meta["path"] == "legacy"
    marked = run("heuristic", req, **{"heuristic.agent_markers": ["Goose"]})
    assert marked.meta["path"] == "agent" and "goose" in marked.meta["agent_signal"].lower()


# ----------------------------------------------------------------------------- heuristic: score
def test_first_call_of_a_tool_agent_goes_to_the_cloud():
    for req in (cline_first(), opencode_first(), mini_swe()):
        decision = run("heuristic", req)
        assert decision.choice == "cloud", decision.reason
        assert "first call +15" in decision.meta["adjustments"]


def test_small_tool_result_goes_local():
    for req in (cline_after_tool("1 passed in 0.01s"), mini_swe("hello.txt"),
                claude_code_after_tool("File created successfully at: hello.txt")):
        decision = run("heuristic", req)
        assert decision.choice == "local", decision.reason
        assert decision.meta["delta_kind"] == "tool"
        assert decision.meta["adjustments"] == ["tool result -12", "after a tool call -8"]


def test_tool_results_in_user_messages_are_recognised():
    long_output = "E   AssertionError: expected 3 got 4\n" * 120  # ~1100 tokens
    for req in (cline_text_protocol(long_output), mini_swe_text_mode(long_output),
                cline_text_protocol(long_output, header="[read_file for 'src/app.py'] Result:")):
        decision = run("heuristic", req)
        assert decision.meta["delta_kind"] == "tool-result-in-user"
        assert decision.choice == "local", decision.reason


def test_the_same_long_text_as_a_real_user_turn_still_goes_to_the_cloud():
    # Without the tool-result recognition the original sent every 720+ token cline output here.
    long_output = "E   AssertionError: expected 3 got 4\n" * 120
    req = cline_text_protocol(long_output, header="Here is what I see when I run the tests:")
    decision = run("heuristic", req)
    assert decision.meta["delta_kind"] == "user" and decision.choice == "cloud"


def test_heuristic_confidence_and_meta_follow_the_original_formula():
    req = request([Message("system", "s"), Message("user", "x" * 240)], CLINE_TOOLS)
    decision = run("heuristic", req)  # 60 tokens -> 1, + 15 first call = 16
    assert decision.meta["score"] == pytest.approx(16.0)
    assert decision.meta["distance"] == pytest.approx(4.0)
    assert decision.confidence == pytest.approx(0.5 + 4 / 30)


def test_legacy_score_for_non_agent_calls():
    text = "Design a comprehensive architecture and explain why"  # 4 cloud keywords -> 56
    decision = run("heuristic", request([Message("user", text)]))
    assert decision.choice == "cloud" and decision.meta["threshold"] == 25
    assert decision.confidence == 1.0
    quick = run("heuristic", request([Message("user", "quick rename of a typo")]))
    assert quick.choice == "local" and quick.meta["score"] < 0


# ----------------------------------------------------------------------------- threshold sweeps
SWEEP_REQUESTS = [
    cline_first(), cline_first("Design a plugin architecture with a migration plan"),
    cline_after_tool("1 passed"), cline_after_tool("```\n" + "x\n" * 3000 + "```\n" * 3),
    cline_text_protocol("ok " * 2000), mini_swe("a.py"), mini_swe_text_mode("b " * 4000),
    claude_code_after_tool("security review: " + "performance critical " * 200),
    aider(AIDER_WHOLE_SYSTEM), aider(AIDER_DIFF_SYSTEM, "Refactor the entire parser step by step", "diff"),
    request([Message("user", "Compare two designs and explain why one is better " * 20)]),
    request([Message("user", "rename x")]),
    request([Message("user", "Why does this fail?\n```py\na = 1\n```\n```py\nb = a\n```")]),
]


def cloud_set(strategy: str, **params) -> set[int]:
    return {i for i, req in enumerate(SWEEP_REQUESTS) if run(strategy, req, **params).choice == "cloud"}


@pytest.mark.parametrize("strategy, key, values", [
    ("heuristic", "heuristic.threshold", [-30, -10, 0, 5, 12, 20, 40, 80]),
    ("heuristic", "legacy.threshold", [-30, 0, 10, 25, 50, 100]),
    ("phase-aware", "legacy.threshold", [-30, 0, 10, 25, 50, 100]),
    ("rules", "rules.token_limit", [0, 100, 1000, 4000, 20000, 10 ** 6]),
    ("rules", "rules.code_blocks", [1, 2, 3, 5, 100]),
])
def test_raising_a_threshold_never_sends_more_calls_to_the_cloud(strategy, key, values):
    sets = [cloud_set(strategy, **{key: value}) for value in values]
    for looser, stricter in zip(sets, sets[1:]):
        assert stricter <= looser
    assert sets[0] != sets[-1], "the sweep should change at least one decision"


# ----------------------------------------------------------------------------- phase-aware
@pytest.mark.parametrize("req, choice, phase", [
    (aider(AIDER_ARCHITECT_SYSTEM, "Add input validation to the form", examples="none"), "cloud", "architect"),
    (aider(AIDER_EDITOR_DIFF_SYSTEM, "Design notes from the architect: " * 50, "diff"), "local", "editor"),
    (aider(AIDER_EDITOR_WHOLE_SYSTEM, "Refactor the entire module as planned", "whole"), "local", "editor"),
    (aider(AIDER_WHOLE_SYSTEM), "local", "editor"),
    (aider(AIDER_DIFF_SYSTEM, examples="diff"), "local", "editor"),
    (aider("You are a coding assistant.", examples="diff"), "local", "editor"),  # few-shot only
    (aider(AIDER_ASK_SYSTEM, "quick question: what is this?", examples="none"), "local", "fallback"),
])
def test_phase_aware_matches_real_aider_prompts(req, choice, phase):
    decision = run("phase-aware", req)
    assert (decision.choice, decision.meta["phase"]) == (choice, phase), decision.reason


def test_phase_aware_ignores_the_word_editor_in_other_agents_prompts():
    # cline's tool is called "editor"; the original's bare "editor" marker made it an editor phase.
    req = cline_first("Design a comprehensive architecture and explain why")
    req.messages[0] = Message("system", CLINE_SYSTEM + " Use the editor tool to change files.")
    decision = run("phase-aware", req)
    assert decision.meta["phase"] == "fallback" and decision.choice == "cloud"


def test_warm_up_is_a_no_op_for_deterministic_strategies():
    for name in ("always-local", "rules", "heuristic", "phase-aware"):
        asyncio.run(warm_up(name, StrategyContext(params={})))
