"""Which worker runs which cells: with ``--dist loadgroup`` each worker keeps one local model hot.

Loading a local model into Ollama takes tens of seconds and a host holds one at a time, so a
worker that alternates between models pays that load again and again (plain ``--dist load`` hands
out cells in config order, where models alternate). Every cell that calls a local model belongs to
the group ``local-<model>[-k]``, and a group goes to one worker as a whole. A model gets
``workers // models`` groups when there are more workers than local models (two workers, one
model: both run it), else one. Cells that call no local model (always-cloud, agents that call no
model) get no group and fill whichever worker is idle.

The cells carry the group as pytest's ``xdist_group`` mark (``-m xdist_group`` selects them), and
the controller schedules with ``ArenaGroupScheduling``: xdist's own loadgroup reads the group from
a ``@<group>`` suffix it writes into each node id, which no longer takes effect on pytest 9.2
(pytest-xdist issue #1386: loadgroup then silently distributes like ``load``). This scheduler
finds a cell's group from its node id's ``task[param]`` part instead, so grouping holds on every
pytest release and node ids stay plain; other tests keep xdist's loadgroup rules.
"""
from __future__ import annotations

import pytest
from xdist.scheduler import LoadGroupScheduling

from pytest_arena.sweep.cells import Cell

GROUP_PREFIX = "local-"


def calls_local_model(cell: Cell) -> bool:
    """Whether the cell's agent talks to a model and its strategy routes to the local side."""
    from pytest_arena.agents.registry import get_agent
    from pytest_arena.router.strategies import get_strategy

    return get_agent(cell.agent).uses_llm and "local" in get_strategy(cell.strategy).sides


def worker_count(config: pytest.Config) -> int:
    """The number of xdist workers (each collects the same cells, so each computes the same groups)."""
    workerinput = getattr(config, "workerinput", None)
    return int(workerinput["workercount"]) if workerinput else 1


class CellGroups:
    """The xdist_group of every cell that calls a local model, by cell key."""

    def __init__(self, cells: list[Cell], workers: int):
        by_model: dict[str, list[Cell]] = {}
        for cell in cells:
            if calls_local_model(cell):
                by_model.setdefault(cell.local_model, []).append(cell)
        per_model = max(1, workers // max(1, len(by_model)))
        self.groups: dict[str, str] = {}
        for model, group in by_model.items():
            for i, cell in enumerate(group):  # interleaved: each share holds every task
                suffix = f"-{i % per_model}" if per_model > 1 else ""
                self.groups[cell.key] = f"{GROUP_PREFIX}{model}{suffix}"

    def marks(self, cell: Cell) -> list[pytest.MarkDecorator]:
        group = self.groups.get(cell.key)
        return [pytest.mark.xdist_group(group)] if group else []


def scheduled_workers(config: pytest.Config) -> int:
    """On the controller: the number of workers xdist starts (``-n N`` or the ``--tx`` specs)."""
    try:
        from xdist.workermanage import parse_tx_spec_config
    except ImportError:  # pytest-xdist < 3.6 names it parse_spec_config
        from xdist.workermanage import parse_spec_config as parse_tx_spec_config

    return len(parse_tx_spec_config(config))


class ArenaGroupScheduling(LoadGroupScheduling):
    """xdist's loadgroup with pytest-arena's groups looked up by cell name (``task[param]``)."""

    def __init__(self, config: pytest.Config, log, groups: CellGroups, names: dict[str, str]):
        super().__init__(config, log)
        self.by_name = {name: groups.groups[key] for name, key in names.items() if key in groups.groups}

    def _split_scope(self, nodeid: str) -> str:
        group = self.by_name.get(plain_node_id(nodeid).rpartition("::")[2])
        return group if group else super()._split_scope(nodeid)


def plain_node_id(node_id: str) -> str:
    """The node id without the ``@<group>`` that xdist's loadgroup appends (after the ``]``)."""
    head, at, group = node_id.rpartition("@")
    return head if at and group.startswith(GROUP_PREFIX) and "]" not in group else node_id
