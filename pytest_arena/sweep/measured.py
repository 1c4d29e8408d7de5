"""What a cell measures under: the settings that can change its result, and their sha.

Every row stores the sha of its cell's measured settings (``config_sha``); ``--arena-resume``
skips a cell only when its latest row has the sha the cell has now, so a run never mixes rows
measured under different settings. Every config field is exactly one of:

- measured: can change a cell's outcome, tokens or cost (guards, timeouts, scoring limits,
  sandbox, budgets per cell, prices, the fallback and router models, prompt-cache pricing);
- a cell axis: selects which cells exist; the cell key names the cell's own value (task, agent,
  strategy point, local and cloud model, seed), and the cell's own share of the rest (its
  strategy's effective params, its agent's expected outcome) is measured per cell;
- operational: how, where and how visibly a run proceeds, never its result (folders, ports,
  concurrency, retries, hosts, reports, switches for what is kept).

A cell's settings also hold its task's content (task_digest: workspace, tests, reference,
prompt) and task.yaml, so an edited task re-runs. An agent that never calls a model (oracle,
null) measures none of models/router/pricing/budget.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel

from pytest_arena.sweep.config.schema import ArenaConfig

OPERATIONAL = (
    "variant_tag", "out_dir", "resume", "failures_ok", "git_sha_pin", "hosts", "analysis",
    "models.local_base_url", "models.cloud_base_url", "models.anthropic_base_url",
    "router.port", "router.banner", "router.transcript", "router.local_concurrency", "router.cloud_concurrency",
    "router.max_retries", "pricing.scenarios", "budget.session_usd", "benchmark.tasks_dir", "benchmark.real_prs",
)
CELL_AXES = (
    "models.local", "models.cloud", "router.strategy", "router.params", "router.heuristic_threshold",
    "benchmark.task_classes", "benchmark.agents", "benchmark.tasks_per_class", "benchmark.task_ids",
    "benchmark.seeds", "benchmark.smoke", "benchmark.strategies", "benchmark.expect",
)
MEASURED = (
    "models.cloud_fallback", "models.router_classifier", "models.embedding",
    "router.prompt_cache", "router.classifier_timeout_s", "router.local_guards",
    "benchmark.timeout_s", "pricing.primary", "pricing.table", "scoring", "sandbox", "budget.cell_usd",
    "limits", "router.max_body_mb", "router.max_messages", "router.max_inflight_per_run",
)
LLM_ONLY = ("models.", "router.", "pricing.", "budget.")  # what an agent without a model never reaches


def leaves(value: Any, prefix: str = "") -> dict[str, Any]:
    """A config (or section) as dotted leaf paths; free-form dicts and lists are leaves."""
    if not isinstance(value, BaseModel):
        return {prefix.rstrip("."): value}
    out: dict[str, Any] = {}
    for name in type(value).model_fields:
        out.update(leaves(getattr(value, name), f"{prefix}{name}."))
    return out


def kind(path: str) -> str:
    """"operational", "axis", "measured", or "unclassified" (counted as measured: a new field
    re-runs cells until someone says it cannot change a result)."""
    for name, paths in (("operational", OPERATIONAL), ("axis", CELL_AXES), ("measured", MEASURED)):
        if any(path == p or path.startswith(p + ".") for p in paths):
            return name
    return "unclassified"


def measured_settings(config: ArenaConfig, cell, task, *, uses_llm: bool, pricing_sha256: str,
                      task_digest: str) -> dict[str, Any]:
    """The settings this cell's result depends on, as dotted paths (JSON values)."""
    settings = {path: _json(value) for path, value in leaves(config).items()
                if kind(path) in ("measured", "unclassified")
                and (uses_llm or not path.startswith(LLM_ONLY))}
    if "pricing.table" in settings:
        settings["pricing.table"] = f"sha256:{pricing_sha256}"  # the prices, wherever the file sits
    if uses_llm:
        settings["cell.strategy_params"] = _json(config.strategy_params(cell.strategy, dict(cell.strategy_params)))
    settings["cell.expect"] = cell.expect
    settings["task.yaml"] = task.spec.model_dump(mode="json")
    settings["task.content"] = task_digest
    _resolve_sandbox(settings)
    return settings


def _resolve_sandbox(settings: dict[str, Any]) -> None:
    """A cell is measured under the sandbox kind that runs it, not under the word ``auto``: the
    agents' kind is recorded as what ``auto`` resolves to here (as rows did before ``auto``
    existed, so earlier results stay resumable), the scoring kind only when the config names one
    (before ``sandbox.scoring`` existed scoring always chose for itself). A kind that cannot run
    here stays as written: the cell refuses to start and says why."""
    from pytest_arena.sandbox.kinds import AUTO, SandboxUnavailable, resolve_sandbox_kind

    if settings.get("sandbox.scoring") == AUTO:
        del settings["sandbox.scoring"]
    if settings.get("sandbox.agents") == AUTO:
        try:
            settings["sandbox.agents"] = resolve_sandbox_kind(AUTO, "agents").name
        except SandboxUnavailable:
            pass


def settings_sha(settings: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def changed_fields(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """``path old → new`` for every setting that differs."""
    return [f"{path} {json.dumps(old.get(path))} → {json.dumps(new.get(path))}"
            for path in sorted(old.keys() | new.keys()) if old.get(path) != new.get(path)]


def _json(value: Any) -> Any:
    return json.loads(json.dumps(value, default=lambda v: v.model_dump(mode="json")))
