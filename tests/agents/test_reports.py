"""Reading each agent's own report, for the outputs the end-to-end runs do not produce:
rounded token counts, costs, and the agent saying it failed while exiting 0."""
from __future__ import annotations

import json

from pytest_arena.agents.aider import parse_aider_output
from pytest_arena.agents.claude_code import parse_claude_result
from pytest_arena.agents.cline import parse_cline_events
from pytest_arena.agents.codex import parse_codex_events
from pytest_arena.agents.mini_swe import parse_trajectory
from pytest_arena.agents.opencode import parse_opencode_events


def test_aider_sums_its_rounded_per_reply_token_lines_and_keeps_the_session_cost():
    stdout = (
        "Applied edit to graph.py\n"
        "Tokens: 2.3k sent, 850 received. Cost: $0.0120 message, $0.0120 session.\n"
        "Tokens: 1.1M sent, 1.2k received. Cost: $1.50 message, $1.51 session.\n"
    )
    assert parse_aider_output(stdout) == {
        "prompt_tokens": 2_300 + 1_100_000, "completion_tokens": 850 + 1_200, "calls": 2, "cost_usd": 1.51,
    }
    assert parse_aider_output("litellm.APIConnectionError: refused\n") is None


def test_cline_error_finish_is_a_crash_even_with_usage():
    lines = [
        {"type": "agent_event", "event": {"type": "usage", "inputTokens": 50, "outputTokens": 5}},
        {"type": "run_result", "finishReason": "error", "error": {"message": "Provider returned 500"},
         "usage": {"inputTokens": 50, "outputTokens": 5, "cacheReadTokens": 20, "cacheWriteTokens": 0,
                   "totalCost": 0.001}},
    ]
    report, crash = parse_cline_events("\n".join(json.dumps(line) for line in lines))
    assert report["prompt_tokens"] == 70 and report["cached_tokens"] == 20 and report["calls"] == 1
    assert crash == "cline finished with 'error': Provider returned 500"
    assert parse_cline_events("Warning: AI SDK\n") == (None, "cline printed no run_result event")


def test_mini_distinguishes_giving_up_from_an_exception():
    gave_up = {"info": {"exit_status": "LimitsExceeded", "model_stats": {"api_calls": 3, "instance_cost": 0.2}},
               "messages": [{"role": "assistant", "extra": {"response": {"usage": {"prompt_tokens": 9,
                                                                                   "completion_tokens": 2}}}}]}
    report, crash = parse_trajectory(gave_up)
    assert crash is None
    assert report == {"prompt_tokens": 9, "completion_tokens": 2, "cost_usd": 0.2, "calls": 3,
                      "exit_status": "LimitsExceeded"}
    broke = {"info": {"exit_status": "APIConnectionError", "model_stats": {"api_calls": 1}},
             "messages": [{"role": "exit", "extra": {"exception_str": "Connection refused"}}]}
    assert parse_trajectory(broke)[1] == "mini-swe-agent stopped with APIConnectionError: Connection refused"


def test_claude_code_is_error_with_exit_0_is_a_crash():
    result = {"type": "result", "subtype": "success", "is_error": True, "api_error_status": 529,
              "num_turns": 1, "total_cost_usd": 0, "result": "Overloaded",
              "usage": {"input_tokens": 0, "output_tokens": 0}}
    report, crash = parse_claude_result(json.dumps(result))
    assert crash == "claude-code reported an error (HTTP 529): Overloaded"
    assert report["calls"] == 1


def test_codex_turn_failed_is_a_crash_and_turn_usage_is_summed():
    lines = [
        {"type": "turn.completed", "usage": {"input_tokens": 300, "cached_input_tokens": 100, "output_tokens": 30,
                                             "reasoning_output_tokens": 7}},
        {"type": "turn.failed", "error": {"message": "stream disconnected before completion"}},
    ]
    report, crash = parse_codex_events("\n".join(json.dumps(line) for line in lines))
    assert report == {"prompt_tokens": 300, "completion_tokens": 30, "cached_tokens": 100,
                      "reasoning_tokens": 7, "turns": 1}
    assert crash == "codex: stream disconnected before completion"


def test_opencode_error_event_is_a_crash():
    error = {"type": "error", "error": {"name": "APIError", "data": {"message": "unknown run x", "statusCode": 404}}}
    report, crash = parse_opencode_events(json.dumps(error))
    assert crash == "opencode error: unknown run x"
    assert report["calls"] == 0
