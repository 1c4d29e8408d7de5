"""The sweep config: one pydantic model (``extra="forbid"``) that accepts the original project's
YAML layout unchanged, plus what a pytest run needs that the original passed on its command line.

Loading never raises a traceback at a user: every problem becomes one ``ConfigError`` naming the
file, the field and the fix.
"""
from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
import subprocess
import types
import itertools
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    ValidationError,
    field_validator,
    model_validator,
)

from pytest_arena.router.contracts import BackendSpec, LocalGuards

from pytest_arena.errors import ConfigError
from pytest_arena.yamlfile import read_yaml


def _known_strategy(name: Any) -> str:
    """``name`` if a strategy of that name is registered (shipped, or by a conftest or plugin);
    else ValueError naming the closest registered name, or all of them."""
    from pytest_arena.router.strategies import strategy_names

    names = strategy_names()
    if isinstance(name, str) and name in names:
        return name
    hint = difflib.get_close_matches(str(name), names, n=1)
    raise ValueError(f"unknown strategy {name!r}"
                     + (f"; did you mean {hint[0]!r}?" if hint else f"; choose one of: {', '.join(names)}"))


class _StrategyNamesInSchema:
    """In the JSON schema, a strategy name is one of the registered names (an enum editors offer)."""

    @staticmethod
    def __get_pydantic_json_schema__(core_schema: Any, handler: GetJsonSchemaHandler) -> dict[str, Any]:
        from pytest_arena.router.strategies import strategy_names

        schema = dict(handler(core_schema))
        schema["enum"] = list(strategy_names())
        return schema


# A routing strategy's name, checked against the registry (pytest_arena.router.strategies).
StrategyName = Annotated[str, AfterValidator(_known_strategy), _StrategyNamesInSchema()]
# One entry of benchmark.strategies: a name, or {name: {param: value or [values to sweep]}}.
StrategyEntry = StrategyName | dict[str, dict[str, Any]]  # entries checked by _check_strategy_entry


@dataclass(frozen=True, slots=True)
class StrategyPoint:
    """One operating point of a strategy: its name and the swept parameter values (full dotted
    names, in the config's order). Unparametrised strategies have no params and keep their name
    as the label, so their cell keys (and resumable rows) are the ones they always had."""

    strategy: str
    params: tuple[tuple[str, int | float], ...] = ()

    @property
    def label(self) -> str:
        """``cascade@threshold=15``: the strategy's own params lose their group prefix."""
        if not self.params:
            return self.strategy
        from pytest_arena.router.strategies import get_strategy

        own = get_strategy(self.strategy).param_groups[0]
        parts = [f"{key.removeprefix(own + '.')}={_format_value(value)}" for key, value in self.params]
        return f"{self.strategy}@{','.join(parts)}"

    @property
    def keyword(self) -> str:
        """The label spelt in characters ``-k`` accepts: ``cascade-threshold-15``."""
        return re.sub(r"[@=,]", "-", self.label)


def _format_value(value: int | float) -> str:
    return str(value) if isinstance(value, int) else format(value, "g")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=False)


# An explicitly empty list would select no cells (or no prices); leaving the field out is how a
# config asks for the default, so `[]` is refused instead of being read as "the default".
_EMPTY_AXIS_FIX = {
    "models.local": "name at least one local model, e.g. qwen3.6:35b or embedded/smollm2-135m",
    "benchmark.task_classes": "list at least one task class, or leave the field out for the default [puzzles, refactors]",
    "benchmark.agents": "list at least one agent, or leave the field out for the default [aider, opencode, cline]",
    "benchmark.task_ids": "list the task ids to run, or leave the field out to run every task of benchmark.task_classes",
    "benchmark.seeds": "list at least one seed, or leave the field out for the default [42]",
    "benchmark.strategies": "list at least one strategy, or leave the field out to use router.strategy",
    "pricing.scenarios": "list at least one pricing scenario, or leave the field out for the default six",
}


def empty_axis_message(field: str) -> str:
    return f"must not be empty: {_EMPTY_AXIS_FIX[field]}"


def http_url(value: str) -> str:
    """A base URL field's value, checked: the router's upstream client speaks http and https only."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an http(s) URL; write it with its scheme and host, "
                         "e.g. 'http://127.0.0.1:11434/v1'")
    return value


BaseUrl = Annotated[str, AfterValidator(http_url)]  # every base URL field of the config


class Models(_Strict):
    cloud: str = Field(description="cloud model: 'gpt-5.5', 'claude-sonnet-4-6', 'openai/<id>' or 'scripted' (offline stand-in)")
    local: str | list[str] = Field(
        description="local model(s): 'qwen3.6:35b' / 'ollama/<tag>' (Ollama), 'embedded/smollm2-135m' "
        "(the embedded offline model), 'openai/<id>' (an OpenAI-compatible local server at local_base_url); "
        "a list sweeps several local models")
    cloud_fallback: str | None = Field(
        default=None, description="explicit fallback cloud model, used only after retries on 5xx are exhausted; the row records the model that served")
    router_classifier: str = Field(default="qwen3:0.6b", description="model the llm-classifier and cascade strategies ask")
    embedding: str | None = Field(
        default=None, description="embedding model for embedding-knn (e.g. 'ollama/nomic-embed-text'); null uses the offline hashed embedding")
    local_base_url: BaseUrl = Field(default="http://127.0.0.1:11434/v1", description="where local models are served (Ollama or OpenAI-compatible)")
    cloud_base_url: BaseUrl = Field(default="https://api.openai.com/v1", description="OpenAI-compatible cloud endpoint")
    anthropic_base_url: BaseUrl = Field(default="https://api.anthropic.com", description="Anthropic endpoint for claude-* cloud models")

    @property
    def locals(self) -> list[str]:
        return [self.local] if isinstance(self.local, str) else list(self.local)

    @field_validator("local")
    @classmethod
    def _non_empty(cls, value):
        if isinstance(value, list) and not value:
            raise ValueError(empty_axis_message("models.local"))
        return value


class LocalGuardsConfig(_Strict):
    max_output_tokens: int | None = Field(default=4096, description="cap on a local call's output tokens (null disables)")
    wall_timeout_s: float | None = Field(default=180.0, description="wall limit of one local call, streamed body included (null disables)")
    repeat_penalty: float | None = Field(default=1.1, description="repeat penalty sent to local models")
    num_ctx: int | None = Field(default=32768, description="local context size: sent to Ollama as num_ctx with every call, and the embedded server's context")
    think: bool | None = Field(default=False, description="Ollama 'think' flag (null leaves the server default)")


class RouterConfig(_Strict):
    strategy: StrategyName = Field(default="heuristic", description="strategy when benchmark.strategies is not set")
    port: int = Field(default=8787, ge=0, le=65535, description="port of the standalone router (python -m pytest_arena router --config); pytest runs use an ephemeral port per worker")
    banner: bool = Field(default=True, description="expose routing facts in X-Arena-* response headers (never in model-visible text)")
    heuristic_threshold: float | None = Field(default=None, description="shorthand for params.heuristic.threshold")
    prompt_cache: bool = Field(default=False, description="price cached prompt tokens at the cache-read rate (true) or as uncached input (false) in the router's budget checks")
    params: dict[str, Any] = Field(
        default_factory=dict,
        description="strategy parameters by dotted name, e.g. {heuristic.threshold: 10, cascade.threshold: 20}; "
        "each strategy reads the ones it uses (defaults: the original's constants, router/strategies/params.py)")
    classifier_timeout_s: float = Field(default=10.0, gt=0, description="timeout of one classifier call")
    transcript: Literal["full", "meta", "off"] = Field(
        default="full", description="each cell's transcript.jsonl of routed calls: full (requests and responses), "
        "meta (each call's facts, no bodies) or off (no file)")

    @field_validator("transcript", mode="before")
    @classmethod
    def _yaml_off(cls, value: Any) -> Any:
        return "off" if value is False else value  # YAML reads a bare `off` as false
    local_guards: LocalGuardsConfig = Field(default_factory=LocalGuardsConfig)
    local_concurrency: int = Field(default=1, ge=1, description="concurrent calls per local backend (local servers usually serve one at a time)")
    cloud_concurrency: int = Field(default=8, ge=1, description="concurrent calls per cloud backend")
    max_retries: int = Field(default=3, ge=0, description="cloud retries on 429/5xx/connection reset")
    max_body_mb: float | None = Field(default=32, gt=0, description="a request body over it is refused (413, a 'rejected' call counted against the cell); null disables")
    max_messages: int | None = Field(default=10_000, gt=0, description="a request with more messages is refused (400, 'rejected'); null disables")
    max_inflight_per_run: int | None = Field(default=16, gt=0, description="calls of one cell in flight at once; one more is answered 429 (retry later); null disables")


class RealPrsData(_Strict):
    instances: str = Field(description="a SWE-bench JSONL export (e.g. of princeton-nlp/SWE-bench_Verified), relative to the config's folder")
    repos: str = Field(description="folder of clones of the instances' repositories (<owner>__<name>, <owner>/<name> or <name>), relative to the config's folder")


def _task_class_names(schema: dict[str, Any]) -> None:
    """benchmark.task_classes in the JSON schema: the registered classes' names, as an enum."""
    from pytest_arena.tasks.classes import task_classes

    schema["items"] = {"enum": [c.name for c in task_classes()], "type": "string"}


class BenchmarkConfig(_Strict):
    task_classes: list[str] = Field(
        default_factory=lambda: ["puzzles", "refactors"], json_schema_extra=_task_class_names,
        description="task classes to run (real-prs: SWE-bench-format instances, see README 'Real pull requests')")
    agents: list[str] = Field(default_factory=lambda: ["aider", "opencode", "cline"], description="agents: aider, mini-swe-agent, cline, opencode, claude-code, codex, oracle, null, or a registered one")
    tasks_per_class: dict[str, int] | None = Field(default=None, description="first N tasks of each class")
    task_ids: list[str] | None = Field(default=None, description="whitelist of task ids, in this order")
    seeds: list[int] = Field(default_factory=lambda: [42], description="one cell per seed; the seed reaches the router (seed/temperature fields) and the agent")
    smoke: bool = Field(default=False, description="first task of each class only")
    strategies: list[StrategyEntry] | None = Field(
        default=None,
        description="strategies to sweep (default: [router.strategy]); an entry {name: {param: [values]}} sweeps "
        "that strategy's params, one operating point (cell) per value, e.g. {cascade: {threshold: [5, 10, 15]}}; "
        "a bare param name is the strategy's own (threshold = cascade.threshold), dotted names reach the others "
        "it reads; several params give every combination")
    expect: dict[str, Literal["pass", "fail"]] = Field(
        default_factory=dict, description="expected outcome per agent, e.g. {null: fail}: such cells pass when the outcome matches")
    timeout_s: int | None = Field(default=None, gt=0, description="agent wall-time limit for every cell (default: each task's timeout_s)")
    tasks_dir: str = Field(default="tasks", description="folder of task folders, relative to the config's project root")
    real_prs: RealPrsData | None = Field(default=None, description="real-prs: your own SWE-bench instances instead of the shipped ones (tasks/real-prs)")

    @field_validator("agents", "expect", mode="before")
    @classmethod
    def _yaml_null_is_the_null_agent(cls, value):
        # In YAML, `agents: [oracle, null]` and `expect: {null: fail}` read the bare word as None.
        if isinstance(value, list):
            return ["null" if v is None else v for v in value]
        if isinstance(value, dict):
            return {("null" if k is None else k): v for k, v in value.items()}
        return value

    @field_validator("strategies", mode="before")
    @classmethod
    def _strategy_entries(cls, value):
        if isinstance(value, list):
            return [_check_strategy_entry(entry, i) for i, entry in enumerate(value)]
        return value

    @field_validator("task_classes")
    @classmethod
    def _registered_task_classes(cls, value: list[str]) -> list[str]:
        from pytest_arena.tasks.classes import check_task_class

        return [check_task_class(name) for name in value]

    @field_validator("task_classes", "agents", "task_ids", "seeds", "strategies")
    @classmethod
    def _non_empty_list(cls, value, info):
        if value is not None and not value:  # omitted (or null) means the default; [] is a mistake
            raise ValueError(empty_axis_message(f"benchmark.{info.field_name}"))
        return value


def _check_strategy_entry(entry: Any, index: int) -> Any:
    """A name stays a name; {name: {param: values}} comes back with full dotted param names and
    every value checked by the strategy's own param rules. ValueError names the entry."""
    from pytest_arena.router.strategies import get_strategy, param_specs, validate_params

    where = f"entry {index + 1}"

    def known(name: Any) -> str:
        try:
            return _known_strategy(name)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None

    if not isinstance(entry, dict):
        return known(entry)
    if len(entry) != 1:
        raise ValueError(f"{where}: a sweep entry names one strategy, e.g. {{cascade: {{threshold: [5, 10]}}}}; "
                         f"got {len(entry)} keys")
    (name, params), = entry.items()
    name = known(name)
    where = f"{where} ({name})"
    if params is None or params == {}:
        return name
    if not isinstance(params, dict):
        raise ValueError(f"{where}: the parameters must be a mapping like {{threshold: [5, 10]}}, got {params!r}")
    groups = get_strategy(name).param_groups
    if not groups:
        raise ValueError(f"{where}: {name} has no parameters to sweep; list it as a plain name")
    specs = param_specs()
    checked: dict[str, list] = {}
    for key, values in params.items():
        full = str(key) if "." in str(key) else f"{groups[0]}.{key}"
        if full not in specs:
            names = sorted(k.removeprefix(groups[0] + ".") for k in specs if k.split(".")[0] in groups)
            hint = difflib.get_close_matches(str(key), names, n=1)
            raise ValueError(f"{where}: unknown parameter {key!r}"
                             + (f"; did you mean {hint[0]!r}?" if hint else f"; {name} reads: {', '.join(names)}"))
        if specs[full].kind == "str-list":
            raise ValueError(f"{where}: {full} is a list of phrases and cannot be swept; set it in router.params")
        values = values if isinstance(values, list) else [values]
        if not values:
            raise ValueError(f"{where}: parameter {key!r} lists no values; give at least one")
        for value in values:
            try:
                validate_params(name, {full: value})
            except ValueError as exc:
                raise ValueError(f"{where}: {exc}") from None
        if len({_format_value(v) for v in values}) != len(values):
            raise ValueError(f"{where}: parameter {key!r} lists a value twice: {values}")
        if full in checked:
            raise ValueError(f"{where}: parameter {full!r} is given twice (as {key!r} and its full name)")
        checked[full] = values
    return {name: checked}


class PricingConfig(_Strict):
    primary: str = Field(default="openai-gpt5.5", description="scenario used for headline costs in reports")
    scenarios: list[str] = Field(
        default_factory=lambda: ["openai-gpt5.5", "openai-gpt5", "openai-gpt5-mini",
                                 "anthropic-claude-opus-4.7", "anthropic-claude-sonnet-4.6", "anthropic-claude-haiku-4.5"],
        description="scenarios priced in cost_by_scenario.csv")
    table: str | None = Field(default=None, description="path of a pricing table JSON (default: the shipped one)")

    @field_validator("scenarios")
    @classmethod
    def _non_empty_list(cls, value):
        if not value:
            raise ValueError(empty_axis_message("pricing.scenarios"))
        return value


class ScoringConfig(_Strict):
    skip: bool = Field(default=False, description="must stay false: every cell is scored")
    swebench_image: str = Field(default="hybrid-eval-python:latest", description="kept for the original's configs; real-prs scoring needs no image (see scoring.real_prs)")
    real_prs: Literal["local", "swebench-docker"] = Field(default="local", description="real-prs scoring: local (a cached env per instance, in the sandbox) or swebench-docker (the official harness; needs Docker, see README)")
    timeout_s: int | None = Field(default=None, gt=0, description="acceptance-test wall limit (default: each task's scoring_timeout_s)")
    memory_mb: int = Field(default=1024, gt=0, description="memory cap of the acceptance-test run")
    max_procs: int = Field(default=256, gt=0, description="process-count cap of the acceptance-test run")

    @field_validator("skip")
    @classmethod
    def _no_skip(cls, value):
        if value:
            raise ValueError("true is not supported: every cell is scored by its acceptance tests; select cells with -k instead")
        return value


def _agent_kind_field() -> Any:
    """sandbox.agents: a sandbox kind registered for agents (pytest_arena/sandbox/kinds.py), by
    default the strongest built-in one; in the JSON schema, the registered names as an enum."""
    from pytest_arena.sandbox.kinds import preferred_kind, sandbox_kinds

    kind = preferred_kind("agents")

    def names(schema: dict[str, Any]) -> None:
        schema["enum"] = [k.name for k in sandbox_kinds("agents")]

    return Field(
        default=kind.name, json_schema_extra=names,
        description=f"{kind.name}: every agent runs inside {kind.title} (workspace, private HOME, its own install; "
                    "the router as its only network peer) and a cell refuses to start without it; none: agents run "
                    "as plain subprocesses, each row records sandbox.agent='none' and the reports mark those cells")


class SandboxConfig(_Strict):
    agents: str = _agent_kind_field()

    @field_validator("agents")
    @classmethod
    def _registered_agent_kind(cls, value: str) -> str:
        from pytest_arena.sandbox.kinds import check_sandbox_kind

        return check_sandbox_kind(value, "agents")


class LimitsConfig(_Strict):
    """What the harness handles of each cell's leftovers (README "What an agent leaves behind")."""
    workspace_files: int = Field(default=20_000, gt=0, description="files, links and folders a workspace may hold when the agent ends")
    workspace_mb: float = Field(default=256, gt=0, description="MiB of regular files a workspace may hold when the agent ends")
    file_mb: float = Field(default=64, gt=0, description="the largest file: a workspace file over it fails the cell, and inside the agent's sandbox no file can grow past it (RLIMIT_FSIZE)")
    depth: int = Field(default=64, gt=0, description="folder depth a workspace may reach")

    def leftovers(self):
        from pytest_arena.sandbox.leftovers import Limits

        return Limits(files=self.workspace_files, total_bytes=int(self.workspace_mb * (1 << 20)),
                      file_bytes=int(self.file_mb * (1 << 20)), depth=self.depth)


class BudgetConfig(_Strict):
    cell_usd: float | None = Field(default=None, gt=0, description="cloud USD cap per cell")
    session_usd: float | None = Field(default=None, gt=0, description="cloud USD cap per pytest session (per xdist worker)")


class HostSettings(_Strict):
    """What differs on one worker host; unset fields fall back to its environment
    (ARENA_LOCAL_BASE_URL, ARENA_AGENTS_DIR, ARENA_LOCAL_CONCURRENCY), then to the config."""

    local_base_url: BaseUrl | None = Field(default=None, description="where this host serves its local models (models.local_base_url)")
    install_root: str | None = Field(default=None, description="this host's agent installs (default ~/.cache/pytest-arena/agents)")
    local_concurrency: int | None = Field(default=None, ge=1, description="concurrent calls to this host's local backend (router.local_concurrency)")


class HostsConfig(_Strict):
    artifacts_cap_mb: float = Field(
        default=8.0, ge=0, description="compressed size up to which a cell's folder travels to the controller; "
                                       "a bigger one stays on the host that ran it and the row's artifacts say where")
    workers: dict[str, HostSettings] = Field(
        default_factory=dict, description="per-host settings keyed by the xdist worker id: the --tx id (--tx id=gpu1//ssh=...) or gw0, gw1, ...")


class AnalysisConfig(_Strict):
    resamples: int = Field(default=10_000, ge=100, description="bootstrap resamples")
    seed: int = Field(default=20261127, description="bootstrap random seed (reports are reproducible)")
    legacy: bool = Field(default=False, description="also compute the original project's i.i.d. row bootstrap")
    charts: bool = Field(default=True, description="draw pareto.png and heatmap.png (needs matplotlib)")


class ArenaConfig(_Strict):
    variant_tag: str = Field(description="names this sweep: rows, cells and run ids carry it")
    out_dir: str = Field(description="results folder (relative to the pytest rootdir): raw.jsonl, ledger, cells, reports")
    models: Models
    router: RouterConfig = Field(default_factory=RouterConfig)
    benchmark: BenchmarkConfig = Field(default_factory=BenchmarkConfig)
    pricing: PricingConfig = Field(default_factory=PricingConfig)
    scoring: ScoringConfig = Field(default_factory=ScoringConfig)
    sandbox: SandboxConfig = Field(default_factory=SandboxConfig)
    budget: BudgetConfig = Field(default_factory=BudgetConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)  # what the harness handles of a cell's leftovers
    analysis: AnalysisConfig = Field(default_factory=AnalysisConfig)
    hosts: HostsConfig = Field(default_factory=HostsConfig)  # multi-host sweeps: artifact transfer, per-host settings
    resume: bool = Field(default=False, description="skip cells that already have a row measured under the same settings; "
                         "infra_error cells and cells whose measured settings changed re-run")
    failures_ok: bool = Field(default=False, description="exit 0 when every failed cell is a measurement (fail, "
                              "timeout, crash, ...), like --arena-failures-ok; infra errors and interrupted runs still fail")
    git_sha_pin: str | None = Field(default=None, description="refuse to run unless the pytest-arena checkout is at this commit")

    @field_validator("variant_tag")
    @classmethod
    def _tag(cls, value):
        if not re.fullmatch(r"[A-Za-z0-9._-]+", value):
            raise ValueError("use letters, digits, '.', '_' and '-' only (it names folders and cells)")
        return value

    @model_validator(mode="after")
    def _params_known(self):
        from pytest_arena.router.strategies import param_specs, strategy_names, validate_params

        specs = param_specs()
        for key in self.router.params:
            if key not in specs:
                hint = difflib.get_close_matches(key, list(specs), n=1)
                raise ValueError(f"router.params: unknown strategy param {key!r}"
                                 + (f"; did you mean {hint[0]!r}?" if hint else f"; known: {', '.join(sorted(specs))}"))
        for strategy in strategy_names():  # every strategy that reads a param checks its type and range
            try:
                validate_params(strategy, self.strategy_params(strategy))
            except ValueError as exc:
                raise ValueError(f"router.params: {exc}") from None
        return self

    @property
    def strategies(self) -> list[str]:
        """The strategy names the sweep uses (each once, in config order)."""
        return list(dict.fromkeys(point.strategy for point in self.strategy_points()))

    def strategy_points(self) -> list[StrategyPoint]:
        """Every operating point: a plain name is one point; a sweep entry one point per value
        (every combination when it sweeps several params). Repeats are dropped."""
        points: list[StrategyPoint] = []
        for entry in self.benchmark.strategies or [self.router.strategy]:
            if isinstance(entry, str):
                points.append(StrategyPoint(entry))
                continue
            (name, params), = entry.items()
            keys = list(params)
            for combo in itertools.product(*(params[k] for k in keys)):
                points.append(StrategyPoint(name, tuple(zip(keys, combo))))
        return list(dict.fromkeys(points))

    def strategy_params(self, strategy: str, swept: dict[str, Any] | None = None) -> dict[str, Any]:
        """The params this strategy reads, from router.params (and the heuristic_threshold
        shorthand), with an operating point's swept values (``swept``) over them."""
        from pytest_arena.router.strategies import get_strategy, strategy_names

        if strategy not in strategy_names():
            return {}  # the "none" strategy of the cells of agents that call no model
        params = dict(self.router.params)
        if self.router.heuristic_threshold is not None:
            params.setdefault("heuristic.threshold", self.router.heuristic_threshold)
        params.update(swept or {})
        reads = get_strategy(strategy).params
        return {k: v for k, v in params.items() if k in reads}

    def guards(self) -> LocalGuards:
        return LocalGuards(**self.router.local_guards.model_dump())

    def sha256(self) -> str:
        """Identifies the experiment: every field but ``resume``, ``failures_ok``, ``hosts`` and
        ``router.transcript`` (how and where a run proceeds and what it keeps, not what it measures)."""
        exclude = {"resume": True, "failures_ok": True, "hosts": True, "router": {"transcript"}}
        blob = json.dumps(self.model_dump(mode="json", exclude=exclude), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()


# --------------------------------------------------------------------------- backends from names
def backend_spec(name: str, models: Models, side: str, *, concurrency: int, price_as: str | None = None) -> BackendSpec:
    """Resolve a model name from the config into where its calls go. ``price_as``: the model the
    scripted stand-in's cloud traffic is priced as (the primary pricing scenario's model)."""
    from pytest_arena.router.backends.base import backend_class  # which variable holds a kind's key

    raw = name.strip()
    low = raw.lower()
    if low == "scripted" or low.startswith("scripted/"):
        return BackendSpec(kind="scripted", model="scripted", label="scripted", max_concurrency=64,
                           price_as=price_as if side == "cloud" else None)
    if low.startswith("embedded/"):
        return BackendSpec(kind="embedded", model=raw.split("/", 1)[1], label=raw, max_concurrency=concurrency)
    if low.startswith("ollama/") or (":" in raw and not low.startswith(("openai/", "anthropic/"))):
        model = raw.split("/", 1)[1] if low.startswith("ollama/") else raw
        base = models.local_base_url
        base = base[: -len("/v1")] if base.rstrip("/").endswith("/v1") else base
        return BackendSpec(kind="ollama", model=model, label=f"ollama/{model}", base_url=base.rstrip("/"),
                           max_concurrency=concurrency)
    if low.startswith("anthropic/") or low.startswith("claude-"):
        model = raw.split("/", 1)[1] if "/" in raw else raw
        return BackendSpec(kind="anthropic", model=model, label=raw, base_url=models.anthropic_base_url,
                           api_key_env=backend_class("anthropic").api_key_env, max_concurrency=concurrency,
                           fallback_model=models.cloud_fallback if side == "cloud" else None)
    model = raw.split("/", 1)[1] if low.startswith("openai/") else raw
    base = models.cloud_base_url if side == "cloud" else models.local_base_url
    return BackendSpec(kind="openai", model=model, label=raw, base_url=base.rstrip("/"),
                       api_key_env=backend_class("openai").api_key_env if side == "cloud" else None,
                       max_concurrency=concurrency,
                       fallback_model=models.cloud_fallback if side == "cloud" else None)


# --------------------------------------------------------------------------- loading
_ENV_PATTERN = re.compile(r"\$\{ENV:([A-Za-z_][A-Za-z0-9_]*)\}")


def _substitute_env(value: Any, path: Path, where: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _substitute_env(v, path, f"{where}.{k}" if where else str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute_env(v, path, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, str):
        def repl(match: re.Match) -> str:
            name = match.group(1)
            if name not in os.environ:
                raise ConfigError(f"{path}: field '{where}': environment variable {name} is not set; export it or remove ${{ENV:{name}}}.")
            return os.environ[name]
        return _ENV_PATTERN.sub(repl, value)
    return value


def _format_validation_error(path: Path, exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"] if not isinstance(p, int) or True)
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            parent = _model_at(ArenaConfig, [p for p in err["loc"][:-1] if isinstance(p, str)])
            known = sorted(parent.model_fields) if parent else []
            hint = difflib.get_close_matches(str(err["loc"][-1]), known, n=1)
            msg = "unknown field" + (f"; did you mean '{hint[0]}'?" if hint else f"; known fields: {', '.join(known)}")
        elif err["type"] == "missing":
            msg = "required field is missing; add it"
        elif err["type"] == "literal_error":
            msg = f"{msg} (got {err.get('input')!r})"
        elif "input" in err and err["type"] not in ("value_error",):
            msg = f"{msg} (got {err['input']!r})"
        if err["type"] == "value_error":
            msg = msg.removeprefix("Value error, ")
            if not loc:
                lines.append(msg)  # whole-config checks name their own field
                continue
        lines.append(f"field '{loc or '(top level)'}': {msg}")
    return f"{path}: invalid config: " + "; ".join(lines[:5]) + ("" if len(lines) <= 5 else f"; and {len(lines) - 5} more")


def _model_at(model: type[BaseModel], keys: list[str]) -> type[BaseModel] | None:
    for key in keys:
        field = model.model_fields.get(key)
        if field is None:
            return None
        inner = _unwrap_model(field.annotation)
        if inner is None:
            return None
        model = inner
    return model


def _unwrap_model(annotation) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _unwrap_model(arg)
        if found:
            return found
    return None


def load_config(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> ArenaConfig:
    """Read, substitute ${ENV:NAME}, apply ``key=value`` overrides, validate."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found. Check the --arena-config path.")
    raw = read_yaml(path, ConfigError)
    if raw is None:
        raise ConfigError(f"{path}: the config is empty. It needs at least variant_tag, out_dir and models.")
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping (variant_tag: ..., models: ...), not a {type(raw).__name__}.")
    raw = _substitute_env(raw, path)
    for item in overrides:
        apply_override(raw, item, path)
    try:
        return ArenaConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(path, exc)) from None


def apply_override(raw: dict, item: str, path: Path) -> None:
    """``a.b.c=value`` typed by the schema: str fields keep the text as is, list fields split on
    commas (one item stays a one-item list), everything else is parsed as YAML."""
    key, sep, text = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"--arena-set {item!r}: use KEY=VALUE, e.g. --arena-set benchmark.seeds=42,7.")
    parts = key.split(".")
    model: type[BaseModel] | None = ArenaConfig
    annotation: Any = None
    dict_key: str | None = None
    for i, part in enumerate(parts):
        if model is None:
            # inside a free-form dict: the rest of the path is one key (router.params.heuristic.threshold)
            dict_key, annotation = ".".join(parts[i:]), Any
            break
        field = model.model_fields.get(part)
        if field is None:
            known = sorted(model.model_fields)
            hint = difflib.get_close_matches(part, known, n=1)
            raise ConfigError(
                f"--arena-set {item!r}: unknown field '{'.'.join(parts[: i + 1])}'"
                + (f"; did you mean '{'.'.join(parts[:i] + [hint[0]])}'?" if hint else f"; known: {', '.join(known)}"))
        annotation = field.annotation
        model = _unwrap_model(annotation) if i < len(parts) - 1 else None
        if model is None and i < len(parts) - 1 and not _is_dict(annotation):
            raise ConfigError(f"--arena-set {item!r}: '{'.'.join(parts[: i + 1])}' is not a section.")
    value = _coerce(text, annotation)
    if dict_key is not None:
        parts = parts[: len(parts) - len(dict_key.split("."))] + [dict_key]
    node = raw
    for part in parts[:-1]:
        nxt = node.get(part)
        if not isinstance(nxt, dict):
            nxt = {}
            node[part] = nxt
        node = nxt
    node[parts[-1]] = value


def _is_dict(annotation) -> bool:
    return typing.get_origin(annotation) is dict or any(_is_dict(a) for a in typing.get_args(annotation))


def _accepts(annotation, kind) -> bool:
    if annotation is kind:
        return True
    origin = typing.get_origin(annotation)
    if origin is kind:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_accepts(a, kind) for a in typing.get_args(annotation))
    return False


def _coerce(text: str, annotation) -> Any:
    stripped = text.strip()
    if stripped.lower() in ("null", "none", "~") and _accepts(annotation, type(None)):
        return None
    if _accepts(annotation, list) and not stripped.startswith("["):
        if _accepts(annotation, str) and "," not in stripped:
            return stripped  # e.g. models.local: one model, not a list
        items = [s.strip() for s in stripped.split(",") if s.strip()]
        args = [a for a in typing.get_args(annotation) if typing.get_origin(a) is list] or [annotation]
        inner = typing.get_args(args[0])
        if inner and inner[0] is int:
            try:
                return [int(s) for s in items]
            except ValueError:
                return items  # let validation name the bad item
        return items
    if annotation is str or (_accepts(annotation, str) and not _accepts(annotation, list)):
        return text
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def git_head(root: Path) -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def _leaf_fields(model: type[BaseModel], prefix: str = ""):
    for name, field in model.model_fields.items():
        sub = _unwrap_model(field.annotation)
        if sub is not None:
            yield from _leaf_fields(sub, f"{prefix}{name}.")
            continue
        if field.is_required():
            default = "required"
        else:
            value = field.default_factory() if field.default_factory is not None else field.default
            default = "`" + json.dumps(value) + "`"
        yield f"{prefix}{name}", default, field.description or ""


def reference_markdown() -> str:
    """The README's config reference, generated from the model (so it cannot drift)."""
    lines = ["| field | default | meaning |", "|---|---|---|"]
    for path, default, description in _leaf_fields(ArenaConfig):
        lines.append(f"| `{path}` | {default} | {description.replace('|', '/')} |")
    return "\n".join(lines) + "\n"


def write_schema(path: Path) -> None:
    path.write_text(json.dumps(ArenaConfig.model_json_schema(), indent=2, sort_keys=True) + "\n")
