"""claude-code (npm ``@anthropic-ai/claude-code``): Anthropic Messages only (SSE, 24 tools).

``CLAUDE_CONFIG_DIR`` and HOME point into the cell's home, so ``~/.claude`` and ``~/.claude.json``
of the user are never read or written. ``IS_SANDBOX=1`` lets ``--dangerously-skip-permissions``
run as root (it is refused otherwise). ``--output-format json`` prints one result object with
claude-code's own usage, cost and turn count.
"""
from __future__ import annotations

from typing import Any

from pytest_arena.agents.base import AgentRunContext
from pytest_arena.agents.installers import InstalledAgent, Invocation, PinnedPackage, cell_endpoints
from pytest_arena.agents.process import ProcessResult, base_env, json_lines


def parse_claude_result(stdout: str) -> tuple[dict[str, Any] | None, str | None]:
    results = [obj for obj in json_lines(stdout) if obj.get("type") == "result"]
    result = results[-1] if results else None
    if result is None:
        return None, "claude-code printed no result object"
    usage = result.get("usage") or {}
    cached = int(usage.get("cache_read_input_tokens") or 0)
    report = {
        "prompt_tokens": int(usage.get("input_tokens") or 0) + cached
        + int(usage.get("cache_creation_input_tokens") or 0),
        "completion_tokens": int(usage.get("output_tokens") or 0),
        "cached_tokens": cached,
        "cost_usd": float(result.get("total_cost_usd") or 0.0),  # claude-code's own price table
        "calls": int(result.get("num_turns") or 0),  # one model reply per turn
        "subtype": result.get("subtype"),
    }
    crash = None
    if result.get("is_error"):
        status = result.get("api_error_status")
        crash = "claude-code reported an error" + (f" (HTTP {status})" if status else "")
        if result.get("result"):
            crash += f": {str(result['result'])[:300]}"
    elif result.get("subtype") != "success":
        crash = f"claude-code ended with {result.get('subtype')!r} ({result.get('terminal_reason') or 'no reason'})"
    return report, crash


class ClaudeCodeAgent(InstalledAgent):
    name = "claude-code"
    pinned = PinnedPackage("npm", "@anthropic-ai/claude-code", "2.1.197", "claude")

    def prepare(self, ctx: AgentRunContext) -> list[Invocation]:
        endpoints = cell_endpoints(ctx)
        env = base_env(ctx.home, {
            "ANTHROPIC_BASE_URL": endpoints.anthropic_base,
            "ANTHROPIC_API_KEY": endpoints.api_key,  # sent as x-api-key
            "CLAUDE_CONFIG_DIR": str(ctx.home / ".claude"),
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "DISABLE_AUTOUPDATER": "1",
            "IS_SANDBOX": "1",
        })
        argv = [self.executable(ctx.install_root), "-p", ctx.prompt, "--model", endpoints.model,
                "--dangerously-skip-permissions", "--output-format", "json"]
        return [Invocation(self.name, argv, env)]

    def read_report(self, ctx: AgentRunContext, proc: ProcessResult) -> tuple[dict[str, Any] | None, str | None]:
        return parse_claude_result(proc.read("stdout"))
