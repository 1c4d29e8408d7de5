"""The matrix: config × tasks → cells, each with a stable node-id name and a cell key.

A cell = (task, agent, strategy, local model, cloud model, seed). The strategy axis holds operating
points: a plain strategy, or one swept parameter value of it (``cascade@threshold=15``). The order
is task-major, so an interrupted run holds complete (task, seed) comparisons across strategies as
early as possible.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any, Literal

from pytest_arena.agents.registry import get_agent, known_agents
from pytest_arena.errors import ConfigError
from pytest_arena.sweep.config.schema import ArenaConfig
from pytest_arena.sweep.config.strategies import StrategyPoint
from pytest_arena.tasks.base import TaskRegistry
from pytest_arena.tasks.classes import expand_task_ids

NON_LLM_STRATEGY = "none"  # oracle/null never call a model: one cell per (task, seed)


@dataclass(frozen=True, slots=True)
class Cell:
    task_id: str
    task_class: str
    agent: str
    strategy: str
    local_model: str
    cloud_model: str
    seed: int
    expect: Literal["pass", "fail"]
    param_id: str  # the pytest parametrization id, e.g. "cline-cascade-s42" or "cline-cascade@threshold=15-s42"
    strategy_params: tuple[tuple[str, Any], ...] = ()  # swept values of this operating point (full dotted names)

    @property
    def point(self) -> StrategyPoint:
        return StrategyPoint(self.strategy, self.strategy_params)

    @property
    def strategy_point(self) -> str:
        """The strategy as the matrix and the rows name it: ``cascade`` or ``cascade@threshold=15``."""
        return self.point.label

    @property
    def keywords(self) -> set[str]:
        """Extra ``-k`` words beyond the id: the task class and the local model as the config
        spells them (``-k refactors``, ``-k qwen3``), and, as ``-k`` cannot parse ``@`` or ``=``,
        ``cascade-threshold-15`` for ``cascade@threshold=15``."""
        words = {self.task_class}
        if self.strategy != NON_LLM_STRATEGY:
            words.add(self.local_model)
        if self.strategy_params:
            words.add(self.point.keyword)
        return words

    @property
    def name(self) -> str:
        """The pytest item name, e.g. "real-dev/d6-toposort[cline-cascade-s42]"."""
        return f"{self.task_id}[{self.param_id}]"

    @property
    def key(self) -> str:
        return "|".join((self.task_id, self.agent, self.strategy_point, self.local_model, self.cloud_model,
                         str(self.seed)))

    @property
    def slug(self) -> str:
        """A file-system-safe name for the cell's folder."""
        return re.sub(r"[^A-Za-z0-9._-]+", "_", self.name.replace("/", "__")).strip("_")


def select_task_ids(config: ArenaConfig, registry: TaskRegistry, source: str) -> list[str]:
    bench = config.benchmark
    try:  # globs (exercism-python/*) become the ids they match
        task_ids = None if bench.task_ids is None else expand_task_ids(bench.task_ids, registry, bench.task_classes)
    except ValueError as exc:
        raise ConfigError(f"{source}: field 'benchmark.task_ids': {exc}") from None
    chosen: list[str] = []
    for task_class in bench.task_classes:
        ids = registry.ids(task_class)
        if task_ids is not None:
            ids = [t for t in task_ids if t in ids]
        cap = (bench.tasks_per_class or {}).get(task_class)
        if bench.smoke:
            cap = 1
        chosen.extend(ids[:cap] if cap is not None else ids)
    if task_ids is not None:
        for task_id in task_ids:
            if task_id not in registry.tasks:
                hint = difflib.get_close_matches(task_id, list(registry.tasks), n=1)
                raise ConfigError(
                    f"{source}: field 'benchmark.task_ids': unknown task id {task_id!r}"
                    + (f"; did you mean {hint[0]!r}?" if hint
                       else "; run `python -m pytest_arena tasks` to list them."))
            if registry.get(task_id).task_class not in bench.task_classes:
                raise ConfigError(
                    f"{source}: field 'benchmark.task_ids': {task_id} is a {registry.get(task_id).task_class} task "
                    f"but benchmark.task_classes is {bench.task_classes}; add the class or drop the id.")
    return chosen


def expand_cells(config: ArenaConfig, registry: TaskRegistry, source: str) -> list[Cell]:
    agents = known_agents()
    for agent in config.benchmark.agents:
        if agent not in agents:
            hint = difflib.get_close_matches(agent, list(agents), n=1)
            raise ConfigError(
                f"{source}: field 'benchmark.agents': unknown agent {agent!r}"
                + (f"; did you mean {hint[0]!r}?" if hint else f"; known agents: {', '.join(agents)}."))
    for agent in config.benchmark.expect:
        if agent not in config.benchmark.agents:
            raise ConfigError(f"{source}: field 'benchmark.expect': {agent!r} is not in benchmark.agents.")
    task_ids = select_task_ids(config, registry, source)
    if not task_ids:
        raise ConfigError(f"{source}: the config selects no tasks (benchmark.task_classes/task_ids/tasks_per_class).")
    locals_ = config.models.locals
    clouds = [config.models.cloud]
    points = config.strategy_points()
    non_llm = [StrategyPoint(NON_LLM_STRATEGY)]
    show_local = len(locals_) > 1
    cells: list[Cell] = []
    seen: set[tuple[str, str]] = set()
    for task_id in task_ids:
        task_class = registry.get(task_id).task_class
        for agent in config.benchmark.agents:
            llm = get_agent(agent).uses_llm
            for local in locals_ if llm else locals_[:1]:
                for cloud in clouds:
                    for point in points if llm else non_llm:
                        for seed in config.benchmark.seeds:
                            parts = [agent] + ([point.label] if llm else [])
                            if show_local and llm:
                                parts.append(local)
                            parts.append(f"s{seed}")
                            param_id = "-".join(parts)
                            if (task_id, param_id) in seen:
                                continue  # duplicate seeds or strategies in the config
                            seen.add((task_id, param_id))
                            cells.append(Cell(
                                task_id=task_id, task_class=task_class, agent=agent, strategy=point.strategy,
                                local_model=local, cloud_model=cloud, seed=seed,
                                expect=config.benchmark.expect.get(agent, "pass"), param_id=param_id,
                                strategy_params=point.params))
    return cells
