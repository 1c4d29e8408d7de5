"""mini-swe-agent (pip ``mini-swe-agent``, the ``mini`` CLI): one ``bash`` tool over OpenAI chat
completions (no streaming), finishing with ``echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT``.

``-c mini.yaml`` comes first because any ``-c`` replaces the default config. The trajectory
(``traj.json`` in the cell's log dir) holds the exit status, the call count and every reply's
usage.
"""
from __future__ import annotations

import json
from typing import Any

from pytest_arena.agents.base import AgentRunContext
from pytest_arena.agents.installers import InstalledAgent, Invocation, PinnedPackage, cell_endpoints
from pytest_arena.agents.process import ProcessResult, base_env
from pytest_arena.sandbox import leftovers

TRAJECTORY = "traj.json"
TRAJECTORY_MAX_BYTES = 64 << 20  # the agent wrote it: read within a bound
# Exit statuses of an agent that stopped by itself (anything else is an uncaught exception).
FINISHED_STATUSES = {"Submitted", "LimitsExceeded", "TimeExceeded", "RepeatedFormatError"}


def parse_trajectory(data: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    info = data.get("info") or {}
    stats = info.get("model_stats") or {}
    prompt = completion = 0
    for message in data.get("messages") or []:
        usage = ((message.get("extra") or {}).get("response") or {}).get("usage") or {}
        prompt += int(usage.get("prompt_tokens") or 0)
        completion += int(usage.get("completion_tokens") or 0)
    status = str(info.get("exit_status") or "")
    report = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "cost_usd": float(stats.get("instance_cost") or 0.0),
        "calls": int(stats.get("api_calls") or 0),
        "exit_status": status,
    }
    crash = None
    if status not in FINISHED_STATUSES:
        last = (data.get("messages") or [{}])[-1]
        detail = str((last.get("extra") or {}).get("exception_str") or last.get("content") or "")
        crash = f"mini-swe-agent stopped with {status or 'no exit status'}" + (f": {detail[:300]}" if detail else "")
    return report, crash


class MiniSweAgent(InstalledAgent):
    name = "mini-swe-agent"
    pinned = PinnedPackage("pip", "mini-swe-agent", "2.4.6", "mini")

    def prepare(self, ctx: AgentRunContext) -> list[Invocation]:
        endpoints = cell_endpoints(ctx)
        argv = [
            self.executable(ctx.install_root),
            "-m", f"openai/{endpoints.model}",
            "-t", ctx.prompt,
            "--yolo", "--exit-immediately",
            "-c", "mini.yaml",
            "-c", f"model.model_kwargs.api_base={endpoints.openai_base}",
            "-c", f"model.model_kwargs.api_key={endpoints.api_key}",
            "-c", f"model.model_kwargs.seed={int(ctx.seed)}",
            "-c", f"environment.cwd={ctx.workspace}",
            "-o", str(ctx.log_dir / TRAJECTORY),
        ]
        env = base_env(ctx.home, {
            "MSWEA_COST_TRACKING": "ignore_errors",  # unknown model names would make cost raise
            "MSWEA_CONFIGURED": "true",  # skips the first-run setup wizard
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # no fetch of litellm's price map
        })
        return [Invocation(self.name, argv, env)]

    def read_report(self, ctx: AgentRunContext, proc: ProcessResult) -> tuple[dict[str, Any] | None, str | None]:
        data = leftovers.read_bounded(ctx.log_dir / TRAJECTORY, TRAJECTORY_MAX_BYTES + 1)
        if data is None:  # absent, or not a regular file (never followed, never waited on)
            return None, "mini-swe-agent wrote no trajectory"
        if len(data) > TRAJECTORY_MAX_BYTES:
            return None, f"mini-swe-agent's trajectory is over {TRAJECTORY_MAX_BYTES >> 20} MiB: not read"
        try:
            return parse_trajectory(json.loads(data.decode("utf-8", "replace")))
        except ValueError as exc:
            return None, f"mini-swe-agent's trajectory is not JSON: {exc}"
