"""codex (npm ``@openai/codex``): OpenAI Responses only (SSE, ``wire_api = "responses"``;
``"chat"`` is refused by 0.171.0).

``CODEX_HOME`` is a folder in the cell's home holding a ``config.toml`` whose provider points at
the run-scoped router URL. ``codex exec --json`` prints JSONL events; ``turn.completed`` carries
codex's own token usage (it reports no cost).
"""
from __future__ import annotations

import json
from typing import Any

from pytest_arena.agents.base import AgentRunContext
from pytest_arena.agents.installers import InstalledAgent, Invocation, PinnedPackage, cell_endpoints
from pytest_arena.agents.process import ProcessResult, base_env, json_lines

PROVIDER_ID = "arena"
KEY_ENV = "ARENA_ROUTER_API_KEY"


def codex_config_toml(base_url: str, model: str) -> str:
    quote = json.dumps  # a JSON string is a valid TOML basic string
    return "\n".join([
        f"model = {quote(model)}",
        f"model_provider = {quote(PROVIDER_ID)}",
        "",
        f"[model_providers.{PROVIDER_ID}]",
        f"name = {quote('pytest-arena router')}",
        f"base_url = {quote(base_url)}",
        f"env_key = {quote(KEY_ENV)}",
        'wire_api = "responses"',
        "",
    ])


def parse_codex_events(stdout: str) -> tuple[dict[str, Any] | None, str | None]:
    turns = 0
    prompt = completion = cached = reasoning = 0
    failure = None
    for event in json_lines(stdout):
        kind = event.get("type")
        if kind == "turn.completed":
            usage = event.get("usage") or {}
            turns += 1
            prompt += int(usage.get("input_tokens") or 0)  # includes the cached part
            cached += int(usage.get("cached_input_tokens") or 0)
            completion += int(usage.get("output_tokens") or 0)
            reasoning += int(usage.get("reasoning_output_tokens") or 0)
        elif kind == "turn.failed":
            failure = str((event.get("error") or {}).get("message") or "turn failed")
        elif kind == "error":
            failure = str(event.get("message") or "error")
    if not turns and failure is None:
        return None, "codex printed no turn.completed event"
    report = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "cached_tokens": cached,
        "reasoning_tokens": reasoning,
        "turns": turns,  # codex reports per turn (a turn spans several model calls), no cost
    }
    return report, (f"codex: {failure[:300]}" if failure else None)


class CodexAgent(InstalledAgent):
    name = "codex"
    pinned = PinnedPackage("npm", "@openai/codex", "0.171.0", "codex")

    def prepare(self, ctx: AgentRunContext) -> list[Invocation]:
        exe = self.executable(ctx.install_root)
        endpoints = cell_endpoints(ctx)
        codex_home = ctx.home / "codex"
        codex_home.mkdir(parents=True, exist_ok=True)
        (codex_home / "config.toml").write_text(codex_config_toml(endpoints.openai_base, endpoints.model), "utf-8")
        env = base_env(ctx.home, {"CODEX_HOME": str(codex_home), KEY_ENV: endpoints.api_key})
        argv = [exe, "exec", "--skip-git-repo-check",
                "--dangerously-bypass-approvals-and-sandbox", "--json", ctx.prompt]
        return [Invocation(self.name, argv, env)]

    def read_report(self, ctx: AgentRunContext, proc: ProcessResult) -> tuple[dict[str, Any] | None, str | None]:
        return parse_codex_events(proc.read("stdout"))
