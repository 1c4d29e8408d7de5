"""opencode (npm ``opencode-ai``): a custom ``@ai-sdk/openai-compatible`` provider over OpenAI
chat completions (SSE, 10 tools, plus one tool-less title call per session).

The provider config travels in ``OPENCODE_CONFIG_CONTENT`` (a copy is kept in the cell's log dir
for reading), so nothing is written into the workspace or the user's ``~/.config/opencode``.
``--auto`` is needed: without it a headless run rejects every tool call whose permission is
"ask" ("The user rejected permission to use this specific tool call", measured on 1.18.33).
``--format json`` prints one event per line; each ``step_finish`` carries that step's tokens and cost.
"""
from __future__ import annotations

import json
from typing import Any

from pytest_arena.agents.base import AgentRunContext
from pytest_arena.agents.installers import InstalledAgent, Invocation, PinnedPackage, cell_endpoints
from pytest_arena.agents.process import ProcessResult, base_env, json_lines

PROVIDER_ID = "arena"


def opencode_config(base_url: str, api_key: str, model: str, seed: int) -> dict[str, Any]:
    return {
        "$schema": "https://opencode.ai/config.json",
        "provider": {
            PROVIDER_ID: {
                "npm": "@ai-sdk/openai-compatible",  # bundled: nothing is installed at run time
                "name": "pytest-arena router",
                "options": {"baseURL": base_url, "apiKey": api_key},  # sent as Authorization: Bearer
                # options are sent in the request body: the seed reaches the router
                "models": {model: {"name": model, "tool_call": True, "options": {"seed": seed}}},
            }
        },
        "model": f"{PROVIDER_ID}/{model}",
        "autoupdate": False,
        "share": "disabled",
    }


def parse_opencode_events(stdout: str) -> tuple[dict[str, Any] | None, str | None]:
    steps = 0
    prompt = completion = cached = reasoning = 0
    cost = 0.0
    errors: list[str] = []
    for event in json_lines(stdout):
        part = event.get("part") or {}
        if event.get("type") == "step_finish":
            tokens = part.get("tokens") or {}
            cache = tokens.get("cache") or {}
            steps += 1
            cached += int(cache.get("read") or 0)
            prompt += int(tokens.get("input") or 0) + int(cache.get("read") or 0) + int(cache.get("write") or 0)
            completion += int(tokens.get("output") or 0)
            reasoning += int(tokens.get("reasoning") or 0)
            cost += float(part.get("cost") or 0.0)
        elif event.get("type") == "error":
            error = event.get("error") or {}
            message = (error.get("data") or {}).get("message") if isinstance(error, dict) else None
            errors.append(str(message or (error.get("name") if isinstance(error, dict) else error) or event))
    if not steps and not errors:
        return None, "opencode printed no step_finish event"
    report = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "cached_tokens": cached,
        "reasoning_tokens": reasoning,
        "cost_usd": cost,
        "calls": steps,  # agent steps; the tool-less title call is not reported by opencode
    }
    crash = f"opencode error: {errors[-1][:300]}" if errors else None
    return report, crash


class OpencodeAgent(InstalledAgent):
    name = "opencode"
    pinned = PinnedPackage("npm", "opencode-ai", "1.18.33", "opencode")

    def prepare(self, ctx: AgentRunContext) -> list[Invocation]:
        exe = self.executable(ctx.install_root)
        endpoints = cell_endpoints(ctx)
        config = json.dumps(opencode_config(endpoints.openai_base, endpoints.api_key, endpoints.model, int(ctx.seed)))
        ctx.log_dir.mkdir(parents=True, exist_ok=True)
        (ctx.log_dir / "opencode.config.json").write_text(config, "utf-8")
        env = base_env(ctx.home, {
            "OPENCODE_CONFIG_CONTENT": config,
            "OPENCODE_DISABLE_MODELS_FETCH": "1",  # models.dev is not reachable and not needed
            "OPENCODE_DISABLE_AUTOUPDATE": "1",
            # No provider-auth plugins (not needed for a custom provider), no language-server
            # downloads. 1.18.33 also npm-installs @opencode-ai/plugin into every fresh config
            # dir and has no switch for it: offline npm makes that fail at once instead of
            # fetching from the registry in every cell (opencode carries on without it).
            "OPENCODE_DISABLE_DEFAULT_PLUGINS": "1",
            "OPENCODE_DISABLE_LSP_DOWNLOAD": "1",
            "npm_config_offline": "true",
        })
        argv = [exe, "run", "-m", f"{PROVIDER_ID}/{endpoints.model}",
                "--format", "json", "--auto", ctx.prompt]
        return [Invocation(self.name, argv, env)]

    def read_report(self, ctx: AgentRunContext, proc: ProcessResult) -> tuple[dict[str, Any] | None, str | None]:
        return parse_opencode_events(proc.read("stdout"))
