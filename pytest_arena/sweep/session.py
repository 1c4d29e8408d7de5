"""One pytest session's arena state: config, tasks, cells, results store, and the lazily started
services (router, embedded model, Ollama checks). Each xdist worker has its own, with its host's
settings applied (``hosts.workers.<id>``, else the host's environment)."""
from __future__ import annotations

import os
import tempfile
import threading
from datetime import datetime, timezone
from dataclasses import dataclass, field
from pathlib import Path

from pytest_arena.router.contracts import BackendSpec

from pytest_arena.paths import default_install_root
from pytest_arena.sweep.cells import Cell, expand_cells
from pytest_arena.sweep.config import ArenaConfig, HostSettings, backend_spec, git_head, load_config
from pytest_arena.errors import ArenaError, ConfigError, TaskError
from pytest_arena.cell.results import ResultsStore
from pytest_arena.tasks.base import TaskRegistry, TaskSource
from pytest_arena.tasks.classes import load_tasks


class ServiceUnavailable(ArenaError):
    """A backend a cell needs cannot be used (Ollama down, key missing, model not installed)."""


SHIPPED_TASKS = Path(__file__).resolve().parents[2] / "tasks"


def pricing_table_path(config: ArenaConfig, project_root: Path) -> Path | None:
    """pricing.table, relative to the pytest rootdir; None: the shipped table."""
    return project_root / config.pricing.table if config.pricing.table else None


def check_cloud_pricing(config: ArenaConfig, config_path: Path, project_root: Path) -> list[str]:
    """A cloud model the pricing table lacks costs $0 in the ledger and every report. With a budget
    cap that cap could never trip: ConfigError. Without one: the warnings for the session summary."""
    from pytest_arena.router.backends.base import backend_class
    from pytest_arena.router.pricing import load_pricing

    spec = backend_spec(config.models.cloud, config.models, "cloud", concurrency=1)
    if backend_class(spec.kind).local:
        return []  # the scripted stand-in is priced as the primary scenario (see ArenaSession.price_as)
    path = pricing_table_path(config, project_root)
    try:
        pricing = load_pricing(path)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{config_path}: field 'pricing.table': cannot read the pricing table {path}: "
                          f"{type(exc).__name__}: {exc}; fix the path or remove the field to use the shipped table.") from None
    if pricing.rate_for(spec.model) is not None:
        return []
    caps = [f"budget.{name}" for name in ("cell_usd", "session_usd") if getattr(config.budget, name) is not None]
    if caps:
        raise ConfigError(
            f"{config_path}: field '{caps[0]}': the cloud model {spec.model!r} (models.cloud) has no price in "
            f"{pricing.path}, so its calls would cost $0 and the {' and '.join(caps)} cap could never trip; "
            f"add {spec.model!r} to the table's 'models' (USD per 1M tokens: input, output, cache_read), "
            f"set pricing.table to a table that prices it, or remove {' and '.join(caps)}.")
    from pytest_arena.router.strategies import get_strategy

    if not any("cloud" in get_strategy(strategy).sides for strategy in config.strategies):
        return []  # no strategy routes to it (a !cloud suffix still could; the ledger logs that)
    return [f"the cloud model {spec.model!r} (models.cloud) has no price in {pricing.path}: its calls are "
            f"recorded at $0, so every cost in this session's reports is too low; add it to the table's "
            f"'models' or set pricing.table to a table that prices it."]


def host_settings(config: ArenaConfig, worker: str) -> HostSettings:
    """This host's settings: the config's entry for the worker id, else the host's environment."""
    entry = config.hosts.workers.get(worker, HostSettings())
    concurrency = os.environ.get("ARENA_LOCAL_CONCURRENCY")
    return HostSettings(
        local_base_url=entry.local_base_url or os.environ.get("ARENA_LOCAL_BASE_URL"),
        install_root=entry.install_root or os.environ.get("ARENA_AGENTS_DIR"),
        local_concurrency=entry.local_concurrency or (int(concurrency) if concurrency else None))


def install_root_for(host: HostSettings) -> Path:
    """Where a host finds its agents: its settings' install root, else the default one."""
    return Path(host.install_root).expanduser() if host.install_root else default_install_root()


def apply_host_settings(config: ArenaConfig, host: HostSettings) -> ArenaConfig:
    models, router = config.models, config.router
    if host.local_base_url:
        models = models.model_copy(update={"local_base_url": host.local_base_url})
    if host.local_concurrency:
        router = router.model_copy(update={"local_concurrency": host.local_concurrency})
    return config.model_copy(update={"models": models, "router": router})


def host_state_dir(variant_tag: str) -> Path:
    """This host's own folder for cells in progress, artifacts over the cap and its ledger copy
    (never the controller's results folder, which another host cannot see)."""
    base = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return base / "pytest-arena" / variant_tag


def resolve_tasks_dir(tasks_dir: str, project_root: Path, config_path: Path) -> Path:
    """An absolute path as is; a relative one under the pytest rootdir, else beside the config,
    else the task suite shipped with this checkout."""
    path = Path(tasks_dir)
    if path.is_absolute():
        return path
    for base in (project_root, config_path.parent):
        if (base / path).is_dir():
            return base / path
    if tasks_dir == "tasks" and SHIPPED_TASKS.is_dir():
        return SHIPPED_TASKS
    return project_root / path


@dataclass
class ArenaSession:
    config: ArenaConfig
    config_path: Path
    project_root: Path
    registry: TaskRegistry
    cells: list[Cell]
    store: ResultsStore
    worker: str
    install_root: Path
    host_dir: Path  # this host's state folder (host_state_dir)
    _router: object | None = None
    _embedded: dict[str, object] = field(default_factory=dict)
    _service_errors: dict[str, str] = field(default_factory=dict)
    _resolved: dict[str, BackendSpec] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    stop_reason: str | None = None
    pricing_warnings: list[str] = field(default_factory=list)  # shown in the session summary and reports
    _config_sha: str | None = None
    _measured: dict[str, dict] = field(default_factory=dict)  # cell key -> its measured settings
    _task_digests: dict[str, str] = field(default_factory=dict)
    _resume_plan: object | None = None
    started_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="milliseconds"))

    # ------------------------------------------------------------------ construction
    @classmethod
    def load(cls, config_path: Path, overrides: list[str], worker: str, rootdir: Path,
             out_dir: str | None = None) -> "ArenaSession":
        config = load_config(config_path, overrides)
        if out_dir:
            config = config.model_copy(update={"out_dir": out_dir})
        project_root = rootdir
        if config.git_sha_pin:
            head = git_head(project_root)
            if not head or not head.startswith(config.git_sha_pin):
                raise ConfigError(
                    f"{config_path}: field 'git_sha_pin': the checkout is at {head or 'no git commit'}, "
                    f"the config pins {config.git_sha_pin}; check out that commit or remove the pin.")
        pricing_warnings = check_cloud_pricing(config, config_path, project_root)
        tasks_dir = resolve_tasks_dir(config.benchmark.tasks_dir, project_root, config_path)
        try:
            registry = load_tasks(config.benchmark.task_classes, TaskSource(
                tasks_dir=tasks_dir, config=config, config_path=config_path,
                install_root=install_root_for(host_settings(config, worker))))
        except TaskError as exc:
            raise ConfigError(str(exc)) from None
        cells = expand_cells(config, registry, str(config_path))
        out = Path(config.out_dir)
        if not out.is_absolute():
            out = project_root / out
        config_sha = config.sha256()  # the experiment's identity, the same on every host
        host = host_settings(config, worker)
        config = apply_host_settings(config, host)
        return cls(config=config, config_path=config_path, project_root=project_root, registry=registry,
                   cells=cells, store=ResultsStore(out), worker=worker, install_root=install_root_for(host),
                   host_dir=host_state_dir(config.variant_tag), pricing_warnings=pricing_warnings,
                   _config_sha=config_sha)

    @property
    def config_sha(self) -> str:
        if self._config_sha is None:
            self._config_sha = self.config.sha256()
        return self._config_sha

    def measured_settings(self, cell) -> dict:
        """What this cell's result depends on (pytest_arena/sweep/measured.py), the same on every host."""
        key = cell.key
        if key not in self._measured:
            from pytest_arena.agents.registry import get_agent
            from pytest_arena.sweep.measured import measured_settings
            from pytest_arena.scoring.validation import task_digest

            task = self.registry.get(cell.task_id)
            if cell.task_id not in self._task_digests:
                self._task_digests[cell.task_id] = task_digest(task)
            self._measured[key] = measured_settings(
                self.config, cell, task, uses_llm=get_agent(cell.agent).uses_llm,
                pricing_sha256=self.pricing_sha256, task_digest=self._task_digests[cell.task_id])
        return self._measured[key]

    def measured_sha(self, cell) -> str:
        from pytest_arena.sweep.measured import settings_sha

        return settings_sha(self.measured_settings(cell))

    @property
    def pricing_sha256(self) -> str:
        from pytest_arena.router.pricing import load_pricing

        return load_pricing(pricing_table_path(self.config, self.project_root)).sha256

    def resume_plan(self):
        """Which cells --arena-resume skips and which re-run (pytest_arena/sweep/resume.py); once per session."""
        with self._lock:
            if self._resume_plan is None:
                from pytest_arena.sweep.resume import plan_resume

                self._resume_plan = plan_resume(self)
            return self._resume_plan

    def finished_cells(self) -> dict[str, str]:
        """cell_key -> outcome of the cells resume skips (an empty dict unless resuming)."""
        return self.resume_plan().finished if self.config.resume else {}

    @property
    def out_dir(self) -> Path:
        """The controller's results folder (a worker on another host never writes there)."""
        return self.store.out_dir

    @property
    def artifacts_cap_bytes(self) -> int:
        return int(self.config.hosts.artifacts_cap_mb * 2**20)

    # ------------------------------------------------------------------ services
    @property
    def price_as(self) -> str:
        """The primary pricing scenario's model: what scripted cloud traffic is priced as."""
        from pytest_arena.router.pricing import load_pricing

        return load_pricing(pricing_table_path(self.config, self.project_root)).scenario_model(self.config.pricing.primary)

    def has_key(self, name: str) -> bool:
        """Whether the router will find the API key variable ``name``. Asks the router's key store,
        which holds a key once read (it is then gone from os.environ), without reading it."""
        from pytest_arena.router.keys import KEYS

        return KEYS.available(name, self.project_root / ".env")

    def backend(self, name: str, side: str, *, prepare: bool = True) -> BackendSpec:
        """The ready-to-use backend for a model name, starting or checking its service once.
        Raises ServiceUnavailable with one clear message (cached: every cell gets the same one).
        With prepare=False the spec is only resolved (for a side the cell's strategy never uses)."""
        key = f"{side}:{name}"
        if not prepare and key not in self._resolved:
            concurrency = self.config.router.local_concurrency if side == "local" else self.config.router.cloud_concurrency
            return backend_spec(name, self.config.models, side, concurrency=concurrency, price_as=self.price_as)
        with self._lock:
            if key in self._service_errors:
                raise ServiceUnavailable(self._service_errors[key])
            if key in self._resolved:
                return self._resolved[key]
            concurrency = self.config.router.local_concurrency if side == "local" else self.config.router.cloud_concurrency
            spec = backend_spec(name, self.config.models, side, concurrency=concurrency, price_as=self.price_as)
            try:
                spec = self._prepare(spec)
            except ArenaError as exc:
                self._service_errors[key] = str(exc)
                raise ServiceUnavailable(str(exc)) from None
            self._resolved[key] = spec
            return spec

    def backends_for(self, cell) -> tuple[BackendSpec, BackendSpec, BackendSpec | None, BackendSpec | None]:
        """(local, cloud, classifier, embedder) for a cell, with the services its strategy routes to
        started or checked: an always-cloud sweep needs no local server, always-local no cloud key.
        Every missing piece is named in one ServiceUnavailable, not just the first one met."""
        from pytest_arena.router.strategies import get_strategy

        models, strategy = self.config.models, get_strategy(cell.strategy)
        wanted = [
            ("local", cell.local_model, "local", "local" in strategy.sides),
            ("cloud", cell.cloud_model, "cloud", "cloud" in strategy.sides),
            ("classifier", models.router_classifier, "local", "classifier" in strategy.needs),
            ("embedder", models.embedding, "local", "embedder" in strategy.needs and bool(models.embedding)),
        ]
        specs: dict[str, BackendSpec | None] = {}
        problems: list[str] = []
        for role, name, side, needed in wanted:
            if role in ("classifier", "embedder") and not needed:
                specs[role] = None
                continue
            try:
                specs[role] = self.backend(name, side, prepare=needed)
            except ServiceUnavailable as exc:
                if str(exc) not in problems:
                    problems.append(str(exc))
        if problems:
            raise ServiceUnavailable(" AND ".join(problems))
        return specs["local"], specs["cloud"], specs["classifier"], specs["embedder"]

    def _prepare(self, spec: BackendSpec) -> BackendSpec:
        if spec.kind == "embedded":
            from pytest_arena.sweep.services.embedded import start_embedded

            server = self._embedded.get(spec.model)
            if server is None:
                server = start_embedded(spec.model, n_ctx=self.config.router.local_guards.num_ctx or 8192)
                self._embedded[spec.model] = server
            spec.base_url = server.base_url
            return spec
        if spec.kind == "ollama":
            from pytest_arena.sweep.services.ollama import ensure_ollama

            ensure_ollama(spec.base_url, [spec.model])
            return spec
        if spec.api_key_env and not self.has_key(spec.api_key_env):
            raise ServiceUnavailable(
                f"{spec.label}: the environment variable {spec.api_key_env} is not set. "
                f"Export it or put {spec.api_key_env}=... in {self.project_root / '.env'}; "
                "or use 'scripted' as models.cloud for an offline harness check.")
        return spec

    def router(self):
        with self._lock:
            if self._router is None:
                from pytest_arena.router.service import RouterSettings, start_router

                env_file = self.project_root / ".env"
                settings = RouterSettings(
                    # this host's copy; the controller writes the results folder's ledger from the rows' hand-offs
                    ledger_path=self.host_dir / "ledger" / f"ledger.{self.worker}.jsonl",
                    session_budget_usd=self.config.budget.session_usd,
                    pricing_path=pricing_table_path(self.config, self.project_root),  # the table the checks read
                    routing_headers=self.config.router.banner,
                    env_file=env_file if env_file.is_file() else None,
                    max_retries=self.config.router.max_retries,
                    max_body_bytes=None if self.config.router.max_body_mb is None else int(self.config.router.max_body_mb * 2**20),
                    max_messages=self.config.router.max_messages,
                    max_inflight_per_run=self.config.router.max_inflight_per_run,
                    # one queue per local server for every worker and session on this machine
                    lock_dir=Path(tempfile.gettempdir()) / "pytest-arena-locks",
                )
                self._router = start_router(settings)
            return self._router

    def close(self) -> None:
        if self._router is not None:
            self._router.close()
            self._router = None
        for server in self._embedded.values():
            server.stop()
        self._embedded.clear()
