"""The sweep config's schema: one pydantic model (``extra="forbid"``) that accepts the original
project's YAML layout unchanged, plus what a pytest run needs that the original passed on its
command line.

The models are the single source of the config's fields: the loader validates with them, the
``--arena-set`` parser types its values by them, and the README's config reference and
``configs/schema.json`` are generated from them (``pytest_arena.docgen.config_reference``), so a
field's description here is its documentation. A model's docstring is part of its JSON schema:
edit one and regenerate (``python -m pytest_arena schema``).
"""
from __future__ import annotations

import difflib
import hashlib
import itertools
import json
import re
import typing
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from pytest_arena.router.contracts import LocalGuards
from pytest_arena.sweep.config.strategies import StrategyEntry, StrategyName, StrategyPoint, check_strategy_entry

if TYPE_CHECKING:
    from pytest_arena.sandbox.leftovers import Limits

__all__ = [
    "AnalysisConfig", "ArenaConfig", "BaseUrl", "BenchmarkConfig", "BudgetConfig", "HostSettings", "HostsConfig",
    "LimitsConfig", "LocalGuardsConfig", "Models", "PricingConfig", "RealPrsData", "RouterConfig", "SandboxConfig",
    "ScoringConfig", "empty_axis_message", "http_url", "section_model",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=False)


# An explicitly empty list would select no cells (or no prices); leaving the field out is how a
# config asks for the default, so `[]` is refused instead of being read as "the default".
_EMPTY_AXIS_FIX = {
    "models.local": "name at least one local model, e.g. qwen3.6:35b or embedded/smollm2-135m",
    "benchmark.task_classes": "list at least one task class, "
                              "or leave the field out for the default [puzzles, refactors]",
    "benchmark.agents": "list at least one agent, or leave the field out for the default [aider, opencode, cline]",
    "benchmark.task_ids": "list the task ids to run, "
                          "or leave the field out to run every task of benchmark.task_classes",
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


def section_model(annotation: Any) -> type[BaseModel] | None:
    """The section model a field's annotation holds (``RealPrsData | None`` → ``RealPrsData``), or
    None for a leaf field: how the loader's hints, ``--arena-set`` and the docs walk the schema."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = section_model(arg)
        if found:
            return found
    return None


class Models(_Strict):
    cloud: str = Field(description="cloud model: 'gpt-5.5', 'claude-sonnet-4-6', 'openai/<id>' "
                                   "or 'scripted' (offline stand-in)")
    local: str | list[str] = Field(
        description="local model(s): 'qwen3.6:35b' / 'ollama/<tag>' (Ollama), 'embedded/smollm2-135m' "
        "(the embedded offline model), 'openai/<id>' (an OpenAI-compatible local server at local_base_url); "
        "a list sweeps several local models")
    cloud_fallback: str | None = Field(
        default=None, description="explicit fallback cloud model, used only after retries on 5xx are exhausted; "
                                  "the row records the model that served")
    router_classifier: str = Field(default="qwen3:0.6b",
                                   description="model the llm-classifier and cascade strategies ask")
    embedding: str | None = Field(
        default=None, description="embedding model for embedding-knn (e.g. 'ollama/nomic-embed-text'); "
                                  "null uses the offline hashed embedding")
    local_base_url: BaseUrl = Field(default="http://127.0.0.1:11434/v1",
                                    description="where local models are served (Ollama or OpenAI-compatible)")
    cloud_base_url: BaseUrl = Field(default="https://api.openai.com/v1", description="OpenAI-compatible cloud endpoint")
    anthropic_base_url: BaseUrl = Field(default="https://api.anthropic.com",
                                        description="Anthropic endpoint for claude-* cloud models")

    @property
    def locals(self) -> list[str]:
        return [self.local] if isinstance(self.local, str) else list(self.local)

    @field_validator("local")
    @classmethod
    def _non_empty(cls, value: str | list[str]) -> str | list[str]:
        if isinstance(value, list) and not value:
            raise ValueError(empty_axis_message("models.local"))
        return value


class LocalGuardsConfig(_Strict):
    max_output_tokens: int | None = Field(default=4096,
                                          description="cap on a local call's output tokens (null disables)")
    wall_timeout_s: float | None = Field(
        default=180.0, description="wall limit of one local call, streamed body included (null disables)")
    repeat_penalty: float | None = Field(default=1.1, description="repeat penalty sent to local models")
    num_ctx: int | None = Field(default=32768, description="local context size: sent to Ollama as num_ctx with "
                                                           "every call, and the embedded server's context")
    think: bool | None = Field(default=False, description="Ollama 'think' flag (null leaves the server default)")


class RouterConfig(_Strict):
    strategy: StrategyName = Field(default="heuristic", description="strategy when benchmark.strategies is not set")
    port: int = Field(default=8787, ge=0, le=65535,
                      description="port of the standalone router (python -m pytest_arena router --config); "
                                  "pytest runs use an ephemeral port per worker")
    banner: bool = Field(default=True, description="expose routing facts in X-Arena-* response headers "
                                                   "(never in model-visible text)")
    heuristic_threshold: float | None = Field(default=None, description="shorthand for params.heuristic.threshold")
    prompt_cache: bool = Field(default=False, description="price cached prompt tokens at the cache-read rate (true) "
                                                          "or as uncached input (false) in the router's budget checks")
    params: dict[str, Any] = Field(
        default_factory=dict,
        description="strategy parameters by dotted name, e.g. {heuristic.threshold: 10, cascade.threshold: 20}; "
        "each strategy reads the ones it uses (defaults: the original's constants, router/strategies/params.py)")
    classifier_timeout_s: float = Field(default=10.0, gt=0, description="timeout of one classifier call")
    transcript: Literal["full", "meta", "off"] = Field(
        default="full", description="each cell's transcript.jsonl of routed calls: full (requests and responses), "
        "meta (each call's facts, no bodies) or off (no file)")
    local_guards: LocalGuardsConfig = Field(default_factory=LocalGuardsConfig)
    local_concurrency: int = Field(default=1, ge=1, description="concurrent calls per local backend "
                                                                "(local servers usually serve one at a time)")
    cloud_concurrency: int = Field(default=8, ge=1, description="concurrent calls per cloud backend")
    max_retries: int = Field(default=3, ge=0, description="cloud retries on 429/5xx/connection reset")
    max_body_mb: float | None = Field(default=32, gt=0, description="a request body over it is refused (413, a "
                                                                    "'rejected' call counted against the cell); "
                                                                    "null disables")
    max_messages: int | None = Field(default=10_000, gt=0, description="a request with more messages is refused "
                                                                       "(400, 'rejected'); null disables")
    max_inflight_per_run: int | None = Field(default=16, gt=0, description="calls of one cell in flight at once; "
                                                                           "one more is answered 429 (retry later); "
                                                                           "null disables")

    @field_validator("transcript", mode="before")
    @classmethod
    def _yaml_off(cls, value: Any) -> Any:
        return "off" if value is False else value  # YAML reads a bare `off` as false


class RealPrsData(_Strict):
    instances: str = Field(description="a SWE-bench JSONL export (e.g. of princeton-nlp/SWE-bench_Verified), "
                                       "relative to the config's folder")
    repos: str = Field(description="folder of clones of the instances' repositories (<owner>__<name>, "
                                   "<owner>/<name> or <name>), relative to the config's folder")


def _task_class_names(schema: dict[str, Any]) -> None:
    """benchmark.task_classes in the JSON schema: the registered classes' names, as an enum."""
    from pytest_arena.tasks.classes import task_classes

    schema["items"] = {"enum": [c.name for c in task_classes()], "type": "string"}


class BenchmarkConfig(_Strict):
    task_classes: list[str] = Field(
        default_factory=lambda: ["puzzles", "refactors"], json_schema_extra=_task_class_names,
        description="task classes to run (real-prs: SWE-bench-format instances, see README 'Real pull requests')")
    agents: list[str] = Field(default_factory=lambda: ["aider", "opencode", "cline"],
                              description="agents: aider, mini-swe-agent, cline, opencode, claude-code, codex, "
                                          "oracle, null, or a registered one")
    tasks_per_class: dict[str, int] | None = Field(default=None, description="first N tasks of each class")
    task_ids: list[str] | None = Field(
        default=None, description="whitelist of task ids, in this order; a glob (fnmatch: exercism-python/*) stands "
                                  "for every matching task of benchmark.task_classes and must match one; "
                                  "'!ID' or '!GLOB' drops tasks (only drops: every task but those)")
    seeds: list[int] = Field(default_factory=lambda: [42], description="one cell per seed; the seed reaches the "
                                                                       "router (seed/temperature fields) and the agent")
    smoke: bool = Field(default=False, description="first task of each class only")
    strategies: list[StrategyEntry] | None = Field(
        default=None,
        description="strategies to sweep (default: [router.strategy]); an entry {name: {param: [values]}} sweeps "
        "that strategy's params, one operating point (cell) per value, e.g. {cascade: {threshold: [5, 10, 15]}}; "
        "a bare param name is the strategy's own (threshold = cascade.threshold), dotted names reach the others "
        "it reads; several params give every combination")
    expect: dict[str, Literal["pass", "fail"]] = Field(
        default_factory=dict, description="expected outcome per agent, e.g. {null: fail}: "
                                          "such cells pass when the outcome matches")
    timeout_s: int | None = Field(default=None, gt=0, description="agent wall-time limit for every cell "
                                                                  "(default: each task's timeout_s)")
    tasks_dir: str = Field(default="tasks", description="folder of task folders, relative to the config's project root")
    real_prs: RealPrsData | None = Field(default=None, description="real-prs: your own SWE-bench instances instead "
                                                                   "of the shipped ones (tasks/real-prs)")

    @field_validator("agents", "expect", mode="before")
    @classmethod
    def _yaml_null_is_the_null_agent(cls, value: Any) -> Any:
        # In YAML, `agents: [oracle, null]` and `expect: {null: fail}` read the bare word as None.
        if isinstance(value, list):
            return ["null" if v is None else v for v in value]
        if isinstance(value, dict):
            return {("null" if k is None else k): v for k, v in value.items()}
        return value

    @field_validator("strategies", mode="before")
    @classmethod
    def _strategy_entries(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [check_strategy_entry(entry, i) for i, entry in enumerate(value)]
        return value

    @field_validator("task_classes")
    @classmethod
    def _registered_task_classes(cls, value: list[str]) -> list[str]:
        from pytest_arena.tasks.classes import check_task_class

        return [check_task_class(name) for name in value]

    @field_validator("task_classes", "agents", "task_ids", "seeds", "strategies")
    @classmethod
    def _non_empty_list(cls, value: list[Any] | None, info: ValidationInfo) -> list[Any] | None:
        if value is not None and not value:  # omitted (or null) means the default; [] is a mistake
            raise ValueError(empty_axis_message(f"benchmark.{info.field_name}"))
        return value


class PricingConfig(_Strict):
    primary: str = Field(default="openai-gpt5.5", description="scenario used for headline costs in reports")
    scenarios: list[str] = Field(
        default_factory=lambda: ["openai-gpt5.5", "openai-gpt5", "openai-gpt5-mini", "anthropic-claude-opus-4.7",
                                 "anthropic-claude-sonnet-4.6", "anthropic-claude-haiku-4.5"],
        description="scenarios priced in cost_by_scenario.csv")
    table: str | None = Field(default=None, description="path of a pricing table JSON (default: the shipped one)")

    @field_validator("scenarios")
    @classmethod
    def _non_empty_list(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError(empty_axis_message("pricing.scenarios"))
        return value


class ScoringConfig(_Strict):
    skip: bool = Field(default=False, description="must stay false: every cell is scored")
    swebench_image: str = Field(default="hybrid-eval-python:latest",
                                description="kept for the original's configs; real-prs scoring needs no image "
                                            "(see scoring.real_prs)")
    real_prs: Literal["local", "swebench-docker"] = Field(
        default="local", description="real-prs scoring: local (a cached env per instance, in the sandbox) or "
                                     "swebench-docker (the official harness; needs Docker, see README)")
    timeout_s: int | None = Field(default=None, gt=0, description="acceptance-test wall limit "
                                                                  "(default: each task's scoring_timeout_s)")
    memory_mb: int = Field(default=1024, gt=0, description="memory cap of the acceptance-test run")
    max_procs: int = Field(default=256, gt=0, description="process-count cap of the acceptance-test run")

    @field_validator("skip")
    @classmethod
    def _no_skip(cls, value: bool) -> bool:
        if value:
            raise ValueError("true is not supported: every cell is scored by its acceptance tests; "
                             "select cells with -k instead")
        return value


def _kind_field(role: Literal["agents", "scoring"], description: str) -> Any:
    """sandbox.agents / sandbox.scoring: ``auto`` or a sandbox kind registered for that role
    (pytest_arena/sandbox/kinds.py); in the JSON schema, auto and the registered names as an enum."""
    from pytest_arena.sandbox.kinds import AUTO, sandbox_kinds

    def names(schema: dict[str, Any]) -> None:
        schema["enum"] = [AUTO, *(k.name for k in sandbox_kinds(role))]

    return Field(default=AUTO, json_schema_extra=names, description=description)


class SandboxConfig(_Strict):
    """Where agents and acceptance tests run (docs/sandboxes.md). Before the first cell with a kind
    runs, a self-check probes it on this machine; a kind that leaks a wall it claims is refused."""

    agents: str = _kind_field(
        "agents", "auto: the strongest kind here that walls off files and network (bubblewrap on Linux; "
                  "workspace, private HOME, its own install, the router as its only network peer), and a cell "
                  "refuses to start without one; or a kind's name; none: agents run as plain subprocesses, each "
                  "row records sandbox.agent='none' and the reports mark those cells")
    scoring: str = _kind_field(
        "scoring", "auto: the strongest kind here for the acceptance tests (a weaker fallback is warned about "
                   "and marked); or a kind's name")

    @field_validator("agents", "scoring")
    @classmethod
    def _registered_kind(cls, value: str, info: ValidationInfo) -> str:
        from pytest_arena.sandbox.kinds import check_sandbox_kind

        return check_sandbox_kind(value, "agents" if info.field_name == "agents" else "scoring", allow_auto=True)


class LimitsConfig(_Strict):
    """What the harness handles of each cell's leftovers (README "What an agent leaves behind")."""
    workspace_files: int = Field(default=20_000, gt=0,
                                 description="files, links and folders a workspace may hold when the agent ends")
    workspace_mb: float = Field(default=256, gt=0,
                                description="MiB of regular files a workspace may hold when the agent ends")
    file_mb: float = Field(default=64, gt=0, description="the largest file: a workspace file over it fails the cell, "
                                                         "and inside the agent's sandbox no file can grow past it "
                                                         "(RLIMIT_FSIZE)")
    depth: int = Field(default=64, gt=0, description="folder depth a workspace may reach")

    def leftovers(self) -> Limits:
        from pytest_arena.sandbox.leftovers import Limits

        return Limits(files=self.workspace_files, total_bytes=int(self.workspace_mb * (1 << 20)),
                      file_bytes=int(self.file_mb * (1 << 20)), depth=self.depth)


class BudgetConfig(_Strict):
    cell_usd: float | None = Field(default=None, gt=0, description="cloud USD cap per cell")
    session_usd: float | None = Field(default=None, gt=0,
                                      description="cloud USD cap per pytest session (per xdist worker)")


class HostSettings(_Strict):
    """What differs on one worker host; unset fields fall back to its environment
    (ARENA_LOCAL_BASE_URL, ARENA_AGENTS_DIR, ARENA_LOCAL_CONCURRENCY), then to the config."""

    local_base_url: BaseUrl | None = Field(
        default=None, description="where this host serves its local models (models.local_base_url)")
    install_root: str | None = Field(
        default=None, description="this host's agent installs (default ~/.cache/pytest-arena/agents)")
    local_concurrency: int | None = Field(
        default=None, ge=1, description="concurrent calls to this host's local backend (router.local_concurrency)")


class HostsConfig(_Strict):
    artifacts_cap_mb: float = Field(
        default=8.0, ge=0, description="compressed size up to which a cell's folder travels to the controller; "
                                       "a bigger one stays on the host that ran it and the row's artifacts say where")
    workers: dict[str, HostSettings] = Field(
        default_factory=dict, description="per-host settings keyed by the xdist worker id: the --tx id "
                                          "(--tx id=gpu1//ssh=...) or gw0, gw1, ...")


class AnalysisConfig(_Strict):
    resamples: int = Field(default=10_000, ge=100, description="bootstrap resamples")
    seed: int = Field(default=20261127, description="bootstrap random seed (reports are reproducible)")
    legacy: bool = Field(default=False, description="also compute the original project's i.i.d. row bootstrap")
    charts: bool = Field(default=True, description="draw pareto.png and heatmap.png (needs matplotlib)")


class ArenaConfig(_Strict):
    variant_tag: str = Field(description="names this sweep: rows, cells and run ids carry it")
    out_dir: str = Field(description="results folder (relative to the pytest rootdir): raw.jsonl, ledger, cells, "
                                     "reports")
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
    resume: bool = Field(default=False, description="skip cells that already have a row measured under the same "
                         "settings; infra_error cells and cells whose measured settings changed re-run")
    failures_ok: bool = Field(default=False, description="exit 0 when every failed cell is a measurement (fail, "
                              "timeout, crash, ...), like --arena-failures-ok; infra errors and interrupted runs "
                              "still fail")
    git_sha_pin: str | None = Field(default=None, description="refuse to run unless the pytest-arena checkout is at "
                                                              "this commit")

    @field_validator("variant_tag")
    @classmethod
    def _tag(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9._-]+", value):
            raise ValueError("use letters, digits, '.', '_' and '-' only (it names folders and cells)")
        return value

    @model_validator(mode="after")
    def _params_known(self) -> ArenaConfig:
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
        exclude: dict[str, bool | set[str]] = {"resume": True, "failures_ok": True, "hosts": True,
                                               "router": {"transcript"}}
        blob = json.dumps(self.model_dump(mode="json", exclude=exclude), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()
