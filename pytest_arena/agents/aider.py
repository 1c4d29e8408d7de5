"""aider (pip ``aider-chat``): text edit formats over OpenAI chat completions, no tools.

aider edits only the files named on its command line. The task's prompt names the files to
change; they are exactly the task's reference files, so those are passed (also for D5/D6, where
the original passed none). aider creates a named file that does not exist yet.

Its chat, input and LLM histories go to the cell's log dir / home, never into the workspace.
"""
from __future__ import annotations

import json
import re
from typing import Any

from pytest_arena.agents.base import AgentRunContext
from pytest_arena.agents.installers import InstalledAgent, Invocation, PinnedPackage, cell_endpoints
from pytest_arena.agents.process import ProcessResult, base_env

# "Tokens: 2.3k sent, 120 received. Cost: $0.01 message, $0.02 session."  (one line per reply)
_TOKENS_LINE = re.compile(r"^Tokens: ([\d.]+)([kM]?) sent, ([\d.]+)([kM]?) received\.(.*)$", re.M)
_SESSION_COST = re.compile(r"\$([\d.]+) session")
_API_ERROR = re.compile(r"^(litellm\.\w+Error.*|.*APIConnectionError.*|.*AuthenticationError.*)$", re.M)
_SCALE = {"": 1, "k": 1_000, "M": 1_000_000}


def _count(number: str, suffix: str) -> int:
    return int(round(float(number) * _SCALE[suffix]))


def parse_aider_output(stdout: str) -> dict[str, Any] | None:
    """aider's own per-reply token lines, summed (aider rounds to 0.1k above 1,000)."""
    lines = _TOKENS_LINE.findall(stdout)
    if not lines:
        return None
    report: dict[str, float] = {
        "prompt_tokens": sum(_count(sent, s1) for sent, s1, _, _, _ in lines),
        "completion_tokens": sum(_count(got, s2) for _, _, got, s2, _ in lines),
        "calls": len(lines),
    }
    costs = _SESSION_COST.findall(lines[-1][4])
    if costs:
        report["cost_usd"] = float(costs[-1])
    return report


class AiderAgent(InstalledAgent):
    name = "aider"
    pinned = PinnedPackage("pip", "aider-chat", "0.86.2", "aider")

    def prepare(self, ctx: AgentRunContext) -> list[Invocation]:
        exe = self.executable(ctx.install_root)
        endpoints = cell_endpoints(ctx)
        model = f"openai/{endpoints.model}"
        # aider takes sampling parameters only from a model-settings file.
        settings = ctx.home / "aider.model.settings.yml"
        ctx.home.mkdir(parents=True, exist_ok=True)
        # A JSON string is a valid YAML scalar, whatever the model name holds (":", "!").
        settings.write_text(f"- name: {json.dumps(model)}\n  extra_params:\n    seed: {int(ctx.seed)}\n", "utf-8")
        argv = [
            exe,
            "--model", model,
            "--openai-api-base", endpoints.openai_base,
            "--openai-api-key", endpoints.api_key,
            "--yes-always", "--no-git", "--no-check-update", "--no-show-model-warnings",
            "--analytics-disable", "--no-pretty", "--no-auto-commits",
            "--model-settings-file", str(settings),
            "--chat-history-file", str(ctx.log_dir / "aider.chat.history.md"),
            "--llm-history-file", str(ctx.log_dir / "aider.llm.history.txt"),
            "--input-history-file", str(ctx.home / "aider.input.history"),
            "--message", ctx.prompt,
            *sorted(ctx.task.files("reference")),
        ]
        env = base_env(ctx.home, {"LITELLM_LOCAL_MODEL_COST_MAP": "True"})
        return [Invocation(self.name, argv, env)]

    def read_report(self, ctx: AgentRunContext, proc: ProcessResult) -> tuple[dict[str, Any] | None, str | None]:
        stdout = proc.read("stdout")
        report = parse_aider_output(stdout)
        crash = None
        if report is None:
            errors = _API_ERROR.findall(stdout + "\n" + proc.tail("stderr"))
            crash = "aider got no model reply" + (f": {errors[-1].strip()[:300]}" if errors else "")
        return report, crash
