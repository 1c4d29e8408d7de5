"""pytest's own conventions, carried to cells: a marker per axis (``-m cline and cascade``), JUnit
properties per cell, a missing agent named once at collection, and the exit status of a sweep
whose failures are all measurements (``--arena-failures-ok``). The extra ``-k`` words are
``Cell.keywords``.

Marker names (valid identifiers, so ``-m`` and ``--strict-markers`` accept them):

- agent, strategy and task class: the name with every run of other characters replaced by ``_``
  (``cline``, ``mini_swe_agent``, ``cascade``, ``always_cloud``, ``refactors``); a name that is
  also a known name of another of these axes, a word of ``-m`` (``and``, ``or``, ``not``) or a
  built-in pytest marker gets its axis as a prefix (``agent_<name>``, ``strategy_<name>``,
  ``class_<name>``);
- local model and task shape always carry their axis: ``local_qwen3_6_35b``, ``shape_D6``.

Agents that call no model (oracle, null) get no strategy and no local-model marker.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

from pytest_arena.outcomes import Outcome
from pytest_arena.sweep.cells import NON_LLM_STRATEGY, Cell

RESERVED = {"and", "or", "not", "skip", "skipif", "xfail", "parametrize", "usefixtures", "filterwarnings"}


def _ident(value: str) -> str:
    return re.sub(r"\W+", "_", value).strip("_")


def _axis_vocabulary() -> dict[str, set[str]]:
    """Every name each plain-named axis can take, so a collision is decided by the names alone,
    the same in every config."""
    from pytest_arena.agents.registry import known_agents
    from pytest_arena.router.strategies import strategy_names
    from pytest_arena.tasks.classes import task_classes

    return {"agent": {_ident(a) for a in known_agents()}, "strategy": {_ident(s) for s in strategy_names()},
            "class": {_ident(c.name) for c in task_classes()}}


@dataclass(frozen=True, slots=True)
class Marker:
    axis: str
    name: str
    description: str


AXES = ("agent", "strategy", "class", "local", "shape")  # the order `pytest --markers` lists them in


def cell_axes(cell: Cell, shape: str) -> list[tuple[str, str]]:
    """(axis, value) pairs a cell is marked with."""
    axes = [("agent", cell.agent), ("class", cell.task_class), ("shape", shape)]
    if cell.strategy != NON_LLM_STRATEGY:
        axes += [("strategy", cell.strategy), ("local", cell.local_model)]
    return axes


def marker_for(axis: str, value: str, vocabulary: dict[str, set[str]]) -> Marker:
    ident = _ident(value)
    if axis in ("local", "shape"):
        name = f"{axis}_{ident}"
    else:
        others = set().union(*(names for other, names in vocabulary.items() if other != axis))
        clash = ident in others or ident in RESERVED or not ident[:1].isalpha()
        name = f"{axis}_{ident}" if clash else ident
    what = {"agent": f"cells run by the agent {value}",
            "strategy": f"cells routed by the {value} strategy (all its operating points)",
            "class": f"cells of {value} tasks", "local": f"cells whose local model is {value}",
            "shape": f"cells of tasks of shape {value}"}[axis]
    return Marker(axis, name, f"pytest-arena: {what}")


class CellMarkers:
    """The markers of a sweep's cells: registered once (``pytest --markers`` lists them), applied
    to each cell's parametrization."""

    def __init__(self, cells: Iterable[Cell], shape_of):
        vocabulary = _axis_vocabulary()
        self._by_cell: dict[str, list[Marker]] = {
            cell.key: [marker_for(axis, value, vocabulary) for axis, value in cell_axes(cell, shape_of(cell.task_id))]
            for cell in cells}

    def of(self, cell: Cell) -> list[Marker]:
        return self._by_cell.get(cell.key, [])

    def marks(self, cell: Cell) -> list[pytest.MarkDecorator]:
        return [getattr(pytest.mark, m.name) for m in self.of(cell)]

    def register(self, config: pytest.Config) -> None:
        seen = {m.name: m for markers in self._by_cell.values() for m in markers}
        for marker in sorted(seen.values(), key=lambda m: (AXES.index(m.axis), m.name)):
            config.addinivalue_line("markers", f"{marker.name}: {marker.description}")


# --------------------------------------------------------------------------- JUnit properties
def junit_properties(row) -> list[tuple[str, object]]:
    """What a CI dashboard reading the JUnit XML wants per cell, next to arena_outcome."""
    tokens = row.tokens
    local = tokens.local_prompt + tokens.local_completion
    cloud = tokens.cloud_prompt + tokens.cloud_completion
    props: list[tuple[str, object]] = []
    if row.quality.tests_total is not None:
        props += [("arena_tests_passed", row.quality.tests_passed), ("arena_tests_total", row.quality.tests_total)]
    props += [("arena_cost_usd", row.cost_usd), ("arena_tokens_local", local), ("arena_tokens_cloud", cloud)]
    if local + cloud:
        props.append(("arena_cloud_fraction", round(cloud / (local + cloud), 4)))
    props.append(("arena_wall_ms", row.latency.wall_ms))
    return props


# --------------------------------------------------------------------------- missing agents
def missing_agents_message(cells: Iterable[Cell], install_root: Path, source: str,
                           markers: CellMarkers) -> str | None:
    """One line naming every selected cell's agent that is not installed, the command that
    installs them all and how to deselect them instead; None when all are there."""
    from pytest_arena.agents.registry import get_agent

    chosen = {cell.agent: cell for cell in cells}
    missing = [get_agent(name) for name in sorted(chosen) if get_agent(name).version(install_root) is None]
    if not missing:
        return None
    names = ",".join(adapter.name for adapter in missing)
    merged = {a.install_command(install_root).replace(f"--agents {a.name}", f"--agents {names}") for a in missing}
    command = merged.pop() if len(merged) == 1 else " && ".join(a.install_command(install_root) for a in missing)
    deselect = " and ".join(f"not {markers.of(chosen[a.name])[0].name}" for a in missing)
    return (f"{source}: agent(s) {', '.join(a.name for a in missing)} not installed in {install_root}: "
            f"run `{command}`, or leave their cells out with -m \"{deselect}\"")


# --------------------------------------------------------------------------- exit status
MEASURED = {o for o in Outcome if o not in (Outcome.PASS, Outcome.INFRA_ERROR)}


class FailureTally:
    """On the controller: which failed reports were measurements (a cell whose agent failed its
    task, timed out, crashed, ...) and which were not (infra errors, a cell that passed against
    its expectation, a setup error, a test that is not a cell, a collection error). With
    ``--arena-failures-ok`` a session whose failures are all measurements exits 0."""

    def __init__(self, outcome_property: str):
        self.outcome_property = outcome_property
        self.measured: Counter[str] = Counter()
        self.other = 0
        self.finished: set[str] = set()
        self.forgiven = False  # exit status 1 turned into 0 (for the terminal summary)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.other += 1

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "call" or report.skipped:
            self.finished.add(report.nodeid)
        if not report.failed:
            return
        outcome = dict(report.user_properties).get(self.outcome_property)
        if report.when == "call" and isinstance(outcome, str) and outcome in {o.value for o in MEASURED}:
            self.measured[outcome] += 1
        else:
            self.other += 1

    def all_measured(self, session: pytest.Session) -> bool:
        """Every selected cell ran to a measurement and nothing else failed or stopped the run."""
        stopped = session.shouldfail or session.shouldstop
        return not stopped and not self.other and len(self.finished) >= session.testscollected

    def exit_status(self, session: pytest.Session, failures_ok: bool) -> int:
        """pytest's exit status, with 1 (tests failed) turned into 0 when ``failures_ok`` and
        every failure was a measurement."""
        if failures_ok and session.exitstatus == pytest.ExitCode.TESTS_FAILED and self.all_measured(session):
            self.forgiven = True
            return pytest.ExitCode.OK
        return session.exitstatus

    def summary(self) -> str:
        counts = ", ".join(f"{n} {outcome}" for outcome, n in self.measured.most_common())
        return (f"--arena-failures-ok: every failed cell is a measurement ({counts}); "
                f"exit status 0 (infra errors, unexpected passes or an interrupted run would still fail)")


def check_agents(arena, cells: Iterable[Cell], install_root: Path, markers: CellMarkers) -> None:
    """Stop the run (pytest's usage-error exit) when a selected cell's agent is missing. Cells a
    resumed run skips do not count: they never start their agent."""
    finished = arena.finished_cells()  # {} unless resuming
    message = missing_agents_message([c for c in cells if c.key not in finished], install_root,
                                     str(arena.config_path), markers)
    if message:
        raise pytest.UsageError(message)
