"""pytest hooks (thin): options, collection of cells, outcome letters, session-end reports.

Each benchmark cell is a pytest item collected from the config YAML given with --arena-config;
its node id is ``<config path>::<task id>[<agent>-<strategy>-s<seed>]``.
"""
from __future__ import annotations

import types
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from .errors import ArenaError
from .outcomes import TEST_STATUS, Outcome

if TYPE_CHECKING:  # the config and task models load only when --arena-config is given
    from .session import ArenaSession

SESSION_KEY = pytest.StashKey["ArenaSession"]()
SUMMARY_KEY = pytest.StashKey[str]()
OUTCOME_PROPERTY = "arena_outcome"
EXPECTED_PROPERTY = "arena_expected"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("arena", "pytest-arena: benchmark cells from a sweep config")
    group.addoption("--arena-config", default=None, metavar="YAML",
                    help="collect and run the benchmark cells of this sweep config (without test paths, only its cells run)")
    group.addoption("--arena-set", action="append", default=[], metavar="KEY=VALUE",
                    help="override a config field, typed by the schema, e.g. --arena-set benchmark.seeds=42,7 "
                         "or --arena-set models.local=embedded/smollm2-135m (repeatable)")
    group.addoption("--arena-out", default=None, metavar="DIR",
                    help="write results here instead of the config's out_dir")
    group.addoption("--arena-resume", action="store_true", default=False,
                    help="skip cells that already have a row (like resume: true in the config); infra_error cells re-run")
    group.addoption("--arena-no-report", action="store_true", default=False,
                    help="do not analyse raw.jsonl at session end (rows are still written)")


def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    # `pytest --arena-config X` with no test paths collects exactly the cells of X.
    namespace = parser.parse_known_args(args)
    if getattr(namespace, "arena_config", None) and not getattr(namespace, "file_or_dir", None):
        args.append(namespace.arena_config)


def _worker_id(config: pytest.Config) -> str:
    workerinput = getattr(config, "workerinput", None)
    return workerinput["workerid"] if workerinput else "main"


def pytest_configure(config: pytest.Config) -> None:
    path = config.getoption("arena_config")
    if not path:
        return
    config_path = Path(path)
    if not config_path.is_absolute():
        config_path = Path(config.invocation_params.dir) / config_path
    from .session import ArenaSession

    try:
        session = ArenaSession.load(config_path, config.getoption("arena_set"), _worker_id(config),
                                    config.rootpath, out_dir=config.getoption("arena_out"))
        if config.getoption("arena_resume"):
            session.config.resume = True
        if not hasattr(config, "workerinput") and not config.getoption("collectonly"):
            session.store.merge_shards()  # rows a crashed run left in worker shards
            from .validation import validate_references

            validate_references(session, getattr(config, "cache", None))
    except ArenaError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[SESSION_KEY] = session


def pytest_ignore_collect(collection_path: Path, config: pytest.Config):
    # A task folder's acceptance tests import a solution that only exists in a cell's workspace:
    # they are never the project's own tests.
    if (collection_path / "task.yaml").is_file():
        return True
    return None


def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    session = parent.config.stash.get(SESSION_KEY, None)
    if session is not None and file_path.resolve() == session.config_path.resolve():
        return ArenaConfigFile.from_parent(parent, path=file_path)
    return None


class ArenaConfigFile(pytest.Module):
    """A sweep config collected as a module of parametrized tests: one test per task, one
    parametrization (``metafunc.parametrize``, ids like ``cline-cascade-s42``) per cell. The node
    ids, ``--lf``, ``--deselect`` and JUnit names then come from pytest's own parametrization and
    hold on every pytest release we support, rather than from hand-built item names."""

    def _getobj(self):
        # The config is YAML, not Python: its "module" is built here, never imported from disk.
        session: ArenaSession = self.config.stash[SESSION_KEY]
        cells_by_task: dict[str, list] = {}
        for cell in session.cells:
            cells_by_task.setdefault(cell.task_id, []).append(cell)
        module = types.ModuleType(f"pytest_arena_cells_{self.path.stem}")
        module.__file__ = str(self.path)
        for task_id in cells_by_task:
            setattr(module, task_id, run_cell_test)

        def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
            cells = cells_by_task.get(metafunc.definition.name, [])
            metafunc.parametrize("arena_cell", [pytest.param(cell, id=cell.param_id) for cell in cells])

        module.pytest_generate_tests = pytest_generate_tests
        self._arena_tasks = set(cells_by_task)
        return module

    def istestfunction(self, obj: object, name: str) -> bool:
        return obj is run_cell_test and name in getattr(self, "_arena_tasks", ())

    def istestclass(self, obj: object, name: str) -> bool:
        return False


@pytest.fixture(scope="session")
def arena_session(request: pytest.FixtureRequest):
    """The session's arena state; services it starts are stopped at the end."""
    session = request.config.stash[SESSION_KEY]
    yield session
    session.close()


@pytest.fixture(scope="session")
def arena_finished_cells(arena_session: ArenaSession) -> dict[str, str]:
    """cell_key -> outcome of cells that already have a row (only read when resuming)."""
    return arena_session.store.finished_cells() if arena_session.config.resume else {}


def run_cell_test(arena_session: ArenaSession, arena_finished_cells: dict[str, str], arena_cell, request: pytest.FixtureRequest):
    from .runner import run_cell

    item = request.node
    cell = arena_cell
    done = arena_finished_cells.get(cell.key)
    if done:
        pytest.skip(f"resumed: a row with outcome {done} exists in {arena_session.store.raw_path}")
    try:
        run = run_cell(arena_session, cell, item.nodeid)
    except ArenaError as exc:
        pytest.fail(str(exc), pytrace=False)
    outcome = run.row.outcome
    item.user_properties.append((OUTCOME_PROPERTY, outcome.value))
    item.user_properties.append((EXPECTED_PROPERTY, cell.expect))
    if arena_session.stop_reason:
        request.session.shouldstop = f"pytest-arena stopped the session: {arena_session.stop_reason}"
    folder = arena_session.out_dir / run.row.output_ref
    # pytrace=False: a cell's failure is a measurement, told in one line, never a traceback.
    if outcome is Outcome.INFRA_ERROR:
        pytest.fail(f"INFRA-ERROR: {run.message}\n(cell folder: {folder})", pytrace=False)
    if cell.expect == "fail":
        if outcome is Outcome.PASS:
            pytest.fail(f"expected the {cell.agent} agent to fail this task, but its acceptance tests "
                        f"passed ({run.message}): the tests do not exercise what the workspace lacks", pytrace=False)
        return
    if outcome is not Outcome.PASS:
        pytest.fail(f"{TEST_STATUS[outcome][2]}: {run.message}\n(cell folder: {folder})", pytrace=False)


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config):
    if report.when != "call":
        return None
    props = dict(report.user_properties)
    value = props.get(OUTCOME_PROPERTY)
    if value is None:
        return None
    outcome = Outcome(value)
    if props.get(EXPECTED_PROPERTY) == "fail" and report.passed:
        return "passed", ".", f"{TEST_STATUS[outcome][2]} (expected)"
    return TEST_STATUS[outcome]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    arena = config.stash.get(SESSION_KEY, None)
    if arena is None:
        return
    arena.close()
    if hasattr(config, "workerinput"):
        return
    arena.store.merge_shards()
    if config.getoption("arena_no_report") or config.getoption("collectonly"):
        return
    from .reporting import session_report

    config.stash[SUMMARY_KEY] = session_report(arena)


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    summary = config.stash.get(SUMMARY_KEY, None)
    if summary:
        terminalreporter.write_sep("=", "pytest-arena summary")
        terminalreporter.write_line(summary)
