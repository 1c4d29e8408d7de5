"""cline (npm ``cline``): the ``openai-compatible`` provider over OpenAI chat completions (SSE,
about 25 tools), run headless with a positional prompt (act mode, auto-approve on).

Two processes per cell: ``cline auth`` writes the provider (run-scoped base URL) into a data dir
inside the cell's home, then ``cline ... --json`` runs the task and prints NDJSON events that end
with a ``run_result`` carrying cline's own usage. Measured on 3.0.65: cline does not honour its
own ``-t`` timeout (the harness's hard kill bounds a cell), and it refuses a one-word prompt as
"Unknown command or unquoted prompt" (task prompts are sentences).
"""
from __future__ import annotations

import json
import math
from typing import Any

from pytest_arena.agents.base import AgentRunContext
from pytest_arena.agents.installers import InstalledAgent, Invocation, PinnedPackage, cell_endpoints
from pytest_arena.agents.process import ProcessResult, base_env, json_lines

AUTH_TIMEOUT_S = 60.0


def parse_cline_events(stdout: str) -> tuple[dict[str, Any] | None, str | None]:
    """cline's ``run_result`` event -> (usage report, crash signature)."""
    run_result = None
    calls = 0
    for event in json_lines(stdout):
        if event.get("type") == "run_result":
            run_result = event
        elif event.get("type") == "agent_event" and (event.get("event") or {}).get("type") == "usage":
            calls += 1  # one usage event per model reply
    if run_result is None:
        return None, "cline printed no run_result event"
    usage = run_result.get("aggregateUsage") or run_result.get("usage") or {}
    report = {
        "prompt_tokens": int(usage.get("inputTokens") or 0)
        + int(usage.get("cacheReadTokens") or 0) + int(usage.get("cacheWriteTokens") or 0),
        "completion_tokens": int(usage.get("outputTokens") or 0),
        "cached_tokens": int(usage.get("cacheReadTokens") or 0),
        "cost_usd": float(usage.get("totalCost") or 0.0),
        "calls": calls,
        "iterations": int(run_result.get("iterations") or 0),
        "finish_reason": run_result.get("finishReason"),
    }
    crash = None
    if run_result.get("finishReason") != "completed":
        detail = run_result.get("error") or run_result.get("text") or ""
        if isinstance(detail, dict):
            detail = detail.get("message") or json.dumps(detail)
        crash = f"cline finished with {run_result.get('finishReason')!r}" + (f": {str(detail)[:300]}" if detail else "")
    return report, crash


class ClineAgent(InstalledAgent):
    name = "cline"
    pinned = PinnedPackage("npm", "cline", "3.0.65", "cline")

    def prepare(self, ctx: AgentRunContext) -> list[Invocation]:
        endpoints = cell_endpoints(ctx)
        exe = self.executable(ctx.install_root)
        config_dir = ctx.home / "cline"
        data_dir = config_dir / "data"
        isolation = ["--config", str(config_dir), "--data-dir", str(data_dir)]
        env = base_env(ctx.home)
        auth = [exe, "auth", "-p", "openai-compatible", "-k", endpoints.api_key, "-m", endpoints.model,
                "-b", endpoints.openai_base, *isolation]
        run = [exe, *isolation, "-c", str(ctx.workspace), "-P", "openai-compatible", "-m", endpoints.model,
               "--json", "-t", str(math.ceil(ctx.timeout_s)), ctx.prompt]
        return [
            Invocation("cline-auth", auth, env, timeout_s=AUTH_TIMEOUT_S),
            Invocation(self.name, run, env),
        ]

    def read_report(self, ctx: AgentRunContext, proc: ProcessResult) -> tuple[dict[str, Any] | None, str | None]:
        return parse_cline_events(proc.read("stdout"))
