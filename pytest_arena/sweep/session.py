"""One pytest session's arena state: config, tasks, cells, results store, what resuming skips, and
a handle on the session's services (``services``: router, embedded model, Ollama checks, keys;
``pytest_arena/sweep/services/lifecycle.py``). Each xdist worker has its own, with its host's
settings applied (``hosts.workers.<id>``, else the host's environment)."""
from __future__ import annotations

import difflib
import os
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_arena.cell.results import ResultsStore
from pytest_arena.errors import ConfigError, TaskError
from pytest_arena.paths import default_install_root, shipped_dir
from pytest_arena.sweep.cells import Cell, expand_cells
from pytest_arena.sweep.checkout import git_head
from pytest_arena.sweep.config.loading import load_config
from pytest_arena.sweep.config.schema import ArenaConfig, HostSettings
from pytest_arena.sweep.pricing import check_cloud_pricing, pricing_table_path
from pytest_arena.sweep.services.lifecycle import Services
from pytest_arena.tasks.base import Task, TaskRegistry, TaskSource
from pytest_arena.tasks.classes import load_tasks

if TYPE_CHECKING:
    from pytest_arena.analysis.compute import AnalysisOptions
    from pytest_arena.sweep.resume import ResumePlan

SHIPPED_TASKS = shipped_dir("tasks")  # the task suites shipped with pytest-arena (pytest_arena/paths.py)
SHIPPED_CONFIGS = shipped_dir("configs")  # the configs shipped with it, run by name: --arena-config smoke
GLOB_CHARACTERS = frozenset("*?[")  # a benchmark.task_ids entry holding one is a pattern, matched elsewhere


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


def shipped_config_names() -> list[str]:
    """The names ``--arena-config`` accepts for the configs shipped with pytest-arena."""
    return sorted(path.stem for path in SHIPPED_CONFIGS.glob("*.yaml"))


def resolve_config_path(value: str | Path, cwd: Path) -> Path:
    """``--arena-config``: a config file's path (a relative one under ``cwd``), else the name of a
    config shipped with pytest-arena (``smoke`` or ``smoke.yaml``). ConfigError says where it looked."""
    path = Path(value).expanduser()
    path = path if path.is_absolute() else cwd / path
    if path.is_file():
        return path
    name = str(value) if str(value).endswith((".yaml", ".yml")) else f"{value}.yaml"
    if Path(name).name == name and (SHIPPED_CONFIGS / name).is_file():
        return SHIPPED_CONFIGS / name
    raise ConfigError(f"--arena-config {value}: no config file {path}, and no config shipped with pytest-arena "
                      f"is named {Path(name).stem!r} (shipped, in {SHIPPED_CONFIGS}: "
                      f"{', '.join(shipped_config_names()) or 'none'}); give a config file's path or one of those "
                      f"names.")


def task_folders(config: ArenaConfig, project_root: Path, config_path: Path) -> list[Path]:
    """Where a sweep's tasks are looked up, in order. ``benchmark.tasks_dir`` set: that folder (a
    relative path under the pytest rootdir, else beside the config). Not set: the user's own
    ``tasks/`` (under the rootdir, else beside the config), else the suites shipped with
    pytest-arena; and when the config names ``benchmark.task_ids``, the shipped suites first, then
    the user's own ``tasks/`` folders, so a config anywhere can name shipped task ids."""
    bench = config.benchmark
    path = Path(bench.tasks_dir).expanduser()
    candidates = [path] if path.is_absolute() else [project_root / path, config_path.parent / path]
    found = list(dict.fromkeys(p.resolve() for p in candidates if p.is_dir()))
    if "tasks_dir" in bench.model_fields_set:
        return found[:1] or [candidates[0]]  # a folder that is not there: discovery names it
    if bench.task_ids is None:
        return found[:1] or [SHIPPED_TASKS]
    return list(dict.fromkeys([SHIPPED_TASKS.resolve(), *found]))


def load_session_tasks(config: ArenaConfig, config_path: Path, project_root: Path,
                       install_root: Path) -> TaskRegistry:
    """The sweep's tasks from ``task_folders``: an id found in an earlier folder wins; the task
    classes that are not task folders (real-prs recipes) are read from the first folder only. A
    named task id found in none is one ConfigError naming the folders looked in."""
    folders = task_folders(config, project_root, config_path)
    tasks: dict[str, Task] = {}
    for index, folder in enumerate(folders):
        classes = config.benchmark.task_classes if index == 0 else []
        try:
            found = load_tasks(classes, TaskSource(tasks_dir=folder, config=config, config_path=config_path,
                                                   install_root=install_root))
        except TaskError as exc:
            raise ConfigError(str(exc)) from None
        for task_id, task in found.tasks.items():
            tasks.setdefault(task_id, task)
    for task_id in config.benchmark.task_ids or []:
        if task_id not in tasks and not GLOB_CHARACTERS & set(task_id) and not task_id.startswith("!"):  # ! drops
            hint = difflib.get_close_matches(task_id, list(tasks), n=1)
            raise ConfigError(
                f"{config_path}: field 'benchmark.task_ids': unknown task id {task_id!r}, looked up in "
                + " and in ".join(str(folder) for folder in folders)
                + (f"; did you mean {hint[0]!r}?" if hint else "")
                + " (`python -m pytest_arena tasks` lists the shipped ones; set benchmark.tasks_dir to the "
                "folder holding yours).")
    return TaskRegistry(tasks)


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
    stop_reason: str | None = None
    pricing_warnings: list[str] = field(default_factory=list)  # shown in the session summary and reports
    _config_sha: str | None = None
    _measured: dict[str, dict[str, Any]] = field(default_factory=dict)  # cell key -> its measured settings
    _task_digests: dict[str, str] = field(default_factory=dict)
    _resume_plan: ResumePlan | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="milliseconds"))
    # the router, model servers and backends this session's cells call through, for this host's config
    services: Services = field(init=False)

    def __post_init__(self) -> None:
        self.services = Services(config=self.config, project_root=self.project_root, worker=self.worker,
                                 host_dir=self.host_dir,
                                 pricing_path=pricing_table_path(self.config, self.project_root))

    # ------------------------------------------------------------------ construction
    @classmethod
    def load(cls, config_path: Path, overrides: list[str], worker: str, rootdir: Path,
             out_dir: str | None = None) -> ArenaSession:
        config_path = resolve_config_path(config_path, Path.cwd())  # a path, or a shipped config's name
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
        registry = load_session_tasks(config, config_path, project_root,
                                      install_root_for(host_settings(config, worker)))
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

    def measured_settings(self, cell: Cell) -> dict[str, Any]:
        """What this cell's result depends on (pytest_arena/sweep/measured.py), the same on every host."""
        key = cell.key
        if key not in self._measured:
            from pytest_arena.agents.registry import get_agent
            from pytest_arena.scoring.validation import task_digest
            from pytest_arena.sweep.measured import measured_settings

            task = self.registry.get(cell.task_id)
            if cell.task_id not in self._task_digests:
                self._task_digests[cell.task_id] = task_digest(task)
            self._measured[key] = measured_settings(
                self.config, cell, task, uses_llm=get_agent(cell.agent).uses_llm,
                pricing_sha256=self.pricing_sha256, task_digest=self._task_digests[cell.task_id])
        return self._measured[key]

    def measured_sha(self, cell: Cell) -> str:
        from pytest_arena.sweep.measured import settings_sha

        return settings_sha(self.measured_settings(cell))

    @property
    def pricing_sha256(self) -> str:
        from pytest_arena.router.pricing import load_pricing

        return load_pricing(pricing_table_path(self.config, self.project_root)).sha256

    def resume_plan(self) -> ResumePlan:
        """Which cells --arena-resume skips and which re-run (pytest_arena/sweep/resume.py); once per session."""
        with self._lock:
            if self._resume_plan is None:
                from pytest_arena.sweep.resume import plan_resume

                self._resume_plan = plan_resume(self)
            return self._resume_plan

    def finished_cells(self) -> dict[str, str]:
        """cell_key -> outcome of the cells resume skips (an empty dict unless resuming)."""
        return self.resume_plan().finished if self.config.resume else {}

    def analysis_options(self) -> AnalysisOptions:
        """How this sweep's rows are analysed (the config's ``analysis`` and ``pricing``)."""
        from pytest_arena.analysis.compute import AnalysisOptions

        cfg = self.config
        return AnalysisOptions(resamples=cfg.analysis.resamples, seed=cfg.analysis.seed,
                               legacy=cfg.analysis.legacy, charts=cfg.analysis.charts,
                               scenarios=list(cfg.pricing.scenarios), primary_scenario=cfg.pricing.primary,
                               pricing_path=(None if cfg.pricing.table is None
                                             else self.project_root / cfg.pricing.table))

    @property
    def out_dir(self) -> Path:
        """The controller's results folder (a worker on another host never writes there)."""
        return self.store.out_dir

    @property
    def artifacts_cap_bytes(self) -> int:
        return int(self.config.hosts.artifacts_cap_mb * 2**20)

    def close(self) -> None:
        """The session ends: its services stop (the router, every embedded model server)."""
        self.services.close()
