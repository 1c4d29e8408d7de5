"""pytest hooks (thin): options, collection of cells, outcome letters, session-end reports.

Each benchmark cell is a pytest item collected from the config YAML given with --arena-config;
its node id is ``<config path>::<task id>[<agent>-<strategy>-s<seed>]``.
"""
from __future__ import annotations

import dataclasses
import json
import types
from pathlib import Path
from typing import TYPE_CHECKING, cast

import pytest

from pytest_arena.errors import ArenaError
from pytest_arena.outcomes import TEST_STATUS, Outcome

if TYPE_CHECKING:  # the config and task models load only when --arena-config is given
    from pytest_arena.plugin.conventions import CellMarkers  # noqa: F401 (named in MARKERS_KEY's string)
    from pytest_arena.sweep.session import ArenaSession

SESSION_KEY = pytest.StashKey["ArenaSession"]()
SUMMARY_KEY = pytest.StashKey[str]()
MARKERS_KEY = pytest.StashKey["CellMarkers"]()
FAILURE_TALLY = "arena-failure-tally"
OUTCOME_PROPERTY = "arena_outcome"
EXPECTED_PROPERTY = "arena_expected"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("arena", "pytest-arena: benchmark cells from a sweep config")
    group.addoption("--arena-config", default=None, metavar="YAML",
                    help="collect and run the benchmark cells of this sweep config: a file's path, or the name of a "
                         "config shipped with pytest-arena, e.g. smoke (without test paths, only its cells run)")
    group.addoption("--arena-set", action="append", default=[], metavar="KEY=VALUE",
                    help="override a config field, typed by the schema, e.g. --arena-set benchmark.seeds=42,7 "
                         "or --arena-set models.local=embedded/smollm2-135m (repeatable)")
    group.addoption("--arena-out", default=None, metavar="DIR",
                    help="write results here instead of the config's out_dir")
    group.addoption("--arena-resume", action="store_true", default=False,
                    help="skip cells that already have a row measured under the same settings "
                         "(like resume: true in the config); infra_error cells and cells whose measured settings "
                         "changed re-run")
    group.addoption("--arena-no-report", action="store_true", default=False,
                    help="do not analyse raw.jsonl at session end (rows are still written)")
    group.addoption("--arena-dry-run", action="store_true", default=False,
                    help="print the plan (cells per axis, projected cloud spend and wall time per strategy from "
                         "earlier rows or a stated default, budget caps) and run nothing; "
                         "like `python -m pytest_arena plan`")
    group.addoption("--arena-failures-ok", action="store_true", default=False,
                    help="exit 0 when every failed cell is a measurement (fail, timeout, crash, ...), like "
                         "failures_ok: true in the config; infra errors and interrupted runs still fail")
    group.addoption("--arena-progress", choices=("auto", "live", "plain", "off"), default="auto",
                    help="running cells (agent, strategy, task, elapsed, calls, tokens, cost so far): auto (default) "
                         "redraws them in place on a terminal and prints plain lines on a pipe; live, plain or off")
    group.addoption("--arena-progress-interval", type=float, default=30.0, metavar="SECONDS",
                    help="on a pipe, repeat the running cells this often "
                         "(besides each cell's start and finish; default 30)")


def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    # `pytest --arena-config X` with no test paths collects exactly the cells of X.
    namespace = parser.parse_known_args(args)
    if getattr(namespace, "arena_config", None) and not getattr(namespace, "file_or_dir", None):
        args.append(_config_file(namespace.arena_config, early_config.invocation_params.dir))


def _config_file(value: str, cwd: Path) -> str:
    """The file ``--arena-config`` names (a path, or a shipped config's name); as typed when there
    is none: pytest_configure then says where it looked."""
    from pytest_arena.errors import ConfigError
    from pytest_arena.sweep.session import resolve_config_path

    try:
        return str(resolve_config_path(value, cwd))
    except ConfigError:
        return value


def _worker_id(config: pytest.Config) -> str:
    workerinput = getattr(config, "workerinput", None)
    return workerinput["workerid"] if workerinput else "main"


def pytest_configure(config: pytest.Config) -> None:
    path = config.getoption("arena_config")
    if not path:
        return
    from pytest_arena.sweep.session import ArenaSession, resolve_config_path

    try:
        config_path = resolve_config_path(path, Path(config.invocation_params.dir))
        session = ArenaSession.load(config_path, config.getoption("arena_set"), _worker_id(config),
                                    config.rootpath, out_dir=config.getoption("arena_out"))
        if config.getoption("arena_dry_run") and not hasattr(config, "workerinput"):
            from pytest_arena.sweep.plan import plan_text

            print(plan_text(session), flush=True)
            pytest.exit("pytest-arena dry run: nothing was run", returncode=0)
        if config.getoption("arena_resume"):
            session.config.resume = True
        if hasattr(config, "workerinput"):
            from pytest_arena.plugin.hosts import check_worker

            check_worker(session, config.workerinput)  # a host unlike the controller's is refused
        if not hasattr(config, "workerinput") and not config.getoption("collectonly"):
            from pytest_arena.scoring.validation import validate_references

            validate_references(session, getattr(config, "cache", None))
            from pytest_arena.sweep.resume import write_settings

            write_settings(session)  # what each cell measures under, for resume to name changes
    except ArenaError as exc:
        where = ""
        if hasattr(config, "workerinput"):  # xdist shows a worker's error as a crash: say where it was
            where = (f" (xdist worker {_worker_id(config)}, working dir {Path.cwd()}: a worker resolves the "
                     f"config in its own checkout; start it there, e.g. --tx ssh=HOST//chdir=CHECKOUT)")
        from pytest_arena.plugin.hosts import WorkerRefused  # on the controller: one line, not the worker's traceback

        raise (WorkerRefused if where else pytest.UsageError)(str(exc) + where) from None
    config.stash[SESSION_KEY] = session
    from pytest_arena.plugin.conventions import CellMarkers, FailureTally

    markers = CellMarkers(session.cells, lambda task_id: session.registry.get(task_id).shape)
    markers.register(config)
    config.stash[MARKERS_KEY] = markers
    if not hasattr(config, "workerinput"):
        join_path_options(config)
        config.pluginmanager.register(RowCollector(session), "arena-row-collector")
        from pytest_arena.plugin.hosts import HostsController, withhold_keys

        withhold_keys(session)  # before xdist starts workers, which inherit this environment
        config.pluginmanager.register(HostsController(session), "arena-hosts")
        config.pluginmanager.register(FailureTally(OUTCOME_PROPERTY), FAILURE_TALLY)
    from pytest_arena.plugin.progress import register as register_progress

    register_progress(config, session, _worker_id(config))  # live lines, status.json, Ctrl-C as a pause


PATH_OPTIONS = ("--arena-config", "--arena-out")


def join_path_options(config: pytest.Config) -> None:
    """Spell ``--arena-config X`` as ``--arena-config=X`` in the arguments xdist hands to workers.
    For a worker that is not a plain popen (``--tx socket=``, ``ssh=``, ``popen//chdir=``) xdist
    rewrites every argument naming an existing file relative to its rsync roots (legacy rsync) and
    stops with "not relative to an rsync root" for the config's own path; joined, the value is
    no file name and reaches the worker as typed, resolved there in the worker's directory."""
    args, joined = list(config.invocation_params.args), []
    while args:
        arg = args.pop(0)
        if arg in PATH_OPTIONS and args:
            arg = f"{arg}={args.pop(0)}"
        joined.append(arg)
    config.invocation_params = dataclasses.replace(config.invocation_params, args=tuple(joined))


class RowCollector:
    """The controller's side of the hand-off: every cell's row arrives with its call report, from
    this process or any xdist worker, and only this object writes the results folder. A cell
    whose worker died under it (xdist reports the crash with ``when='???'``) gets an infra_error
    row here."""

    def __init__(self, session: ArenaSession):
        self.session = session
        self.started: dict[str, str] = {}  # node id -> CELL_PROPERTY of cells that began setup

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        from pytest_arena.cell.handoff import CELL_PROPERTY, ROW_PROPERTY

        props = dict(report.user_properties)
        # The payload is for this collector only: JUnit XML (which writes every user property of
        # the teardown report) and other plugins never see the packed row and cell folder.
        report.user_properties[:] = [p for p in report.user_properties if p[0] not in (ROW_PROPERTY, CELL_PROPERTY)]
        if report.when == "setup" and CELL_PROPERTY in props:
            self.started[report.nodeid] = cast(str, props[CELL_PROPERTY])  # our properties are strings
        elif report.when == "call" and ROW_PROPERTY in props:
            try:
                self.session.store.accept(cast(str, props[ROW_PROPERTY]))
            except Exception as exc:  # noqa: BLE001 - one cell's hand-off never ends the session
                self._refused(report, f"the controller could not store this cell's results "
                                      f"({type(exc).__name__}: {exc}); --lf or --arena-resume re-runs it")
            self.started.pop(report.nodeid, None)
        elif report.when == "???" and report.nodeid in self.started:
            started = json.loads(self.started[report.nodeid])
            self._refused(report, f"the worker {started['provenance']['worker']} on {started['provenance']['host']} "
                                  f"died while running this cell (killed, out of memory or unreachable); --lf or "
                                  f"--arena-resume re-runs it")

    def _refused(self, report: pytest.TestReport, reason: str) -> None:
        """The cell's infra_error row, written here, when its own row cannot be: its worker died,
        or what it handed over could not be stored."""
        from pytest_arena.cell.rows import Provenance
        from pytest_arena.cell.runner import crashed_cell_row
        from pytest_arena.plugin.scheduling import plain_node_id

        raw = self.started.pop(report.nodeid, None)
        if raw is None:
            return
        started = json.loads(raw)
        cell = next(c for c in self.session.cells if c.key == started["cell_key"])
        row = crashed_cell_row(self.session, cell, plain_node_id(report.nodeid),
                               Provenance(**started["provenance"]), reason)
        self.session.store.write(row)
        report.outcome = "failed"
        report.longrepr = f"INFRA-ERROR: {reason}"
        report.user_properties[:] = [p for p in report.user_properties if p[0] != OUTCOME_PROPERTY]
        report.user_properties.append((OUTCOME_PROPERTY, row.outcome.value))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    # Tell the controller which cell this node id runs and where, before it runs: if the worker
    # dies under it, the controller can still write the cell's infra_error row.
    cell = _cell_of(item)
    session = item.config.stash.get(SESSION_KEY, None)
    if cell is None or session is None:
        return
    from pytest_arena.cell import provenance
    from pytest_arena.cell.handoff import CELL_PROPERTY
    from pytest_arena.sandbox.kinds import SandboxUnavailable, UnknownSandboxKind, resolve_sandbox_kind

    try:  # the scoring kind the cell would have used: a row for a crashed worker says so too
        scoring_kind = resolve_sandbox_kind(session.config.sandbox.scoring, "scoring").name
    except (SandboxUnavailable, UnknownSandboxKind):
        scoring_kind = session.config.sandbox.scoring
    prov = provenance.collect(scoring_kind, session.config.pricing.table, session.worker)
    item.user_properties.append((CELL_PROPERTY, json.dumps({"cell_key": cell.key, "provenance": prov.model_dump()})))


def pytest_ignore_collect(collection_path: Path, config: pytest.Config):
    # A task folder's acceptance tests import a solution that only exists in a cell's workspace:
    # they are never the project's own tests.
    if (collection_path / "task.yaml").is_file():
        return True
    return None


def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    session = parent.config.stash.get(SESSION_KEY, None)
    if session is not None and file_path.resolve() == session.config_path.resolve():
        # A config outside the rootdir would get an empty node id ("::task[...]"), and one shipped
        # inside an installed package (run by name) a path into wherever the venv sits: its file
        # name instead, the same on every host.
        from pytest_arena.paths import PACKAGE_DIR, SUITES_FOLDER

        resolved = file_path.resolve()
        if (resolved.is_relative_to(parent.config.rootpath.resolve())
                and not resolved.is_relative_to((PACKAGE_DIR / SUITES_FOLDER).resolve())):
            return ArenaConfigFile.from_parent(parent, path=file_path)
        return ArenaConfigFile.from_parent(parent, path=file_path, nodeid=file_path.name)
    return None


def pytest_collection_finish(session: pytest.Session) -> None:
    """A missing agent stops the run here, once, naming it and its setup command. Only the cells
    left after -k, -m, --deselect and --lf count: deselecting them is the other way out."""
    arena = session.config.stash.get(SESSION_KEY, None)
    if arena is None or hasattr(session.config, "workerinput") or session.config.getoption("collectonly"):
        return
    from pytest_arena.plugin.conventions import check_agents

    cells = [cell for cell in map(_cell_of, session.items) if cell is not None]
    check_agents(arena, cells, arena.install_root, session.config.stash[MARKERS_KEY])


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node, ids) -> None:
    """Under xdist the workers collect; the controller checks what each worker on this machine
    selected (a remote host's installs are not visible here: its cells report a missing agent
    when they run)."""
    arena = node.config.stash.get(SESSION_KEY, None)
    spec = node.gateway.spec
    if arena is None or not spec.popen or spec.via:
        return
    from pytest_arena.plugin.conventions import check_agents
    from pytest_arena.plugin.scheduling import plain_node_id
    from pytest_arena.sweep.session import host_settings, install_root_for

    by_name = {cell.name: cell for cell in arena.cells}
    cells = [by_name[name] for name in (plain_node_id(i).partition("::")[2] for i in ids) if name in by_name]
    check_agents(arena, cells, install_root_for(host_settings(arena.config, node.gateway.id)),
                 node.config.stash[MARKERS_KEY])


def _cell_of(item: pytest.Item):
    """The cell an item runs (its ``arena_cell`` parametrization), or None for other tests."""
    return getattr(getattr(item, "callspec", None), "params", {}).get("arena_cell")


class ArenaConfigFile(pytest.Module):
    """A sweep config collected as a module of parametrized tests: one test per task, one
    parametrization (``metafunc.parametrize``, ids like ``cline-cascade-s42``) per cell. The node
    ids, ``--lf``, ``--deselect`` and JUnit names then come from pytest's own parametrization and
    hold on every pytest release we support, rather than from hand-built item names."""

    def _getobj(self):
        # The config is YAML, not Python: its "module" is built here, never imported from disk.
        session: ArenaSession = self.config.stash[SESSION_KEY]
        from pytest_arena.plugin.scheduling import CellGroups, worker_count

        groups = CellGroups(session.cells, worker_count(self.config))  # --dist loadgroup: a local model stays hot
        cells_by_task: dict[str, list] = {}
        for cell in session.cells:
            cells_by_task.setdefault(cell.task_id, []).append(cell)
        module = types.ModuleType(f"pytest_arena_cells_{self.path.stem}")
        module.__file__ = str(self.path)
        for task_id in cells_by_task:
            setattr(module, task_id, run_cell_test)

        def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
            cells = cells_by_task.get(metafunc.definition.name, [])
            markers = self.config.stash[MARKERS_KEY]
            metafunc.parametrize("arena_cell", [pytest.param(cell, id=cell.param_id,
                                                             marks=markers.marks(cell) + groups.marks(cell))
                                                for cell in cells])

        module.pytest_generate_tests = pytest_generate_tests
        self._arena_tasks = set(cells_by_task)
        return module

    def collect(self):
        items = super().collect()
        for item in items:  # -k refactors, -k qwen3, and -k cascade-threshold-15 for cascade@threshold=15
            cell = _cell_of(item)
            if cell is not None:
                item.extra_keyword_matches.update(cell.keywords)
        return items

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
def arena_finished_cells(arena_session: ArenaSession, request: pytest.FixtureRequest) -> dict[str, str]:
    """cell_key -> outcome of cells that already have a row (only read when resuming). A worker
    gets them from the controller (pytest_configure_node): it cannot see raw.jsonl."""
    if not arena_session.config.resume:
        return {}
    workerinput = getattr(request.config, "workerinput", None)
    if workerinput is not None:
        return workerinput.get(FINISHED_INPUT, {})
    return arena_session.finished_cells()


FINISHED_INPUT = "arena_finished_cells"


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    """xdist, on the controller, for each worker before it starts: hand it the resumed cells."""
    session = node.config.stash.get(SESSION_KEY, None)
    if session is not None and session.config.resume:
        node.workerinput[FINISHED_INPUT] = session.finished_cells()


def pytest_report_header(config: pytest.Config) -> list[str]:
    """With --arena-resume: how many cells re-run because their measured settings or their
    agent's version changed."""
    session = config.stash.get(SESSION_KEY, None)
    if session is None or not session.config.resume or hasattr(config, "workerinput"):
        return []
    return session.resume_plan().messages(session.out_dir)


def run_cell_test(arena_session: ArenaSession, arena_finished_cells: dict[str, str], arena_cell,
                  request: pytest.FixtureRequest):
    from pytest_arena.cell.handoff import ROW_PROPERTY
    from pytest_arena.cell.runner import run_cell
    from pytest_arena.plugin import progress
    from pytest_arena.plugin.scheduling import plain_node_id

    item = request.node
    cell = arena_cell
    done = arena_finished_cells.get(cell.key)
    if done:
        pytest.skip(f"resumed: a row with outcome {done} exists in {arena_session.store.raw_path}")
    try:
        run = run_cell(arena_session, cell, plain_node_id(item.nodeid), progress.WATCH)
    except ArenaError as exc:
        pytest.fail(str(exc), pytrace=False)
    item.user_properties.append((ROW_PROPERTY, run.payload))  # the controller writes it (RowCollector)
    if run.interrupted is not None:
        if isinstance(run.interrupted, (KeyboardInterrupt, SystemExit)) and not hasattr(request.config, "workerinput"):
            # Ctrl-C: pytest makes no report to carry it. No row (resume re-runs the cell), but its
            # folder and its ledger records (money spent) are kept.
            arena_session.store.accept(run.payload, finished=False)
        raise run.interrupted
    outcome = run.row.outcome
    from pytest_arena.plugin.conventions import junit_properties

    item.user_properties.append((OUTCOME_PROPERTY, outcome.value))
    item.user_properties.append((EXPECTED_PROPERTY, cell.expect))
    item.user_properties.extend(junit_properties(run.row))
    if arena_session.stop_reason:
        request.session.shouldstop = f"pytest-arena stopped the session: {arena_session.stop_reason}"
    folder = arena_session.out_dir / run.row.output_ref
    if cell.expect == "fail":
        if outcome is Outcome.PASS:
            _fail_cell(item, f"expected the {cell.agent} agent to fail this task, but its acceptance tests passed "
                             f"({run.message}): the tests do not exercise what the workspace lacks")
        if outcome is not Outcome.INFRA_ERROR:
            return
    if outcome is not Outcome.PASS:
        _fail_cell(item, run.message, f"{TEST_STATUS[outcome][2]}: {run.message}\n(cell folder: {folder})")


SHORT_MESSAGE_KEY = pytest.StashKey[str]()


def _fail_cell(item: pytest.Item, short: str, text: str | None = None) -> None:
    """Fail a cell with ``text`` (default ``short``) as its report and ``short`` as its line in
    pytest's short summary, after the outcome word and the node id (pytest_runtest_makereport).
    pytrace=False: a cell's failure is a measurement, told in words, never a traceback."""
    item.stash[SHORT_MESSAGE_KEY] = short
    pytest.fail(text or short, pytrace=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """A failed cell's summary line reads ``FAIL <node id> - <reason>``: without pytest's
    ``Failed: FAIL:`` prefix the reason fits beside the id."""
    result = yield
    short = item.stash.get(SHORT_MESSAGE_KEY, None)
    report = result.get_result()
    crash = getattr(report.longrepr, "reprcrash", None)
    if short and call.when == "call" and report.failed and crash is not None:
        crash.message = short


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
    if outcome is Outcome.PASS and report.failed:  # a pass where the config expects a failure
        return "failed", "F", "PASS (expected to fail)"
    return TEST_STATUS[outcome]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    arena = config.stash.get(SESSION_KEY, None)
    if arena is None:
        return
    arena.close()
    if hasattr(config, "workerinput"):
        return
    failures_ok = config.getoption("arena_failures_ok") or arena.config.failures_ok
    tally = config.pluginmanager.get_plugin(FAILURE_TALLY)
    assert tally is not None  # registered by pytest_configure with the session
    session.exitstatus = tally.exit_status(session, failures_ok)
    from pytest_arena.plugin.progress import interrupted

    progress = interrupted(config)
    if progress is not None:  # Ctrl-C is a pause: rows are kept, the analysis waits for `analyze`
        config.stash[SUMMARY_KEY] = progress.interrupt_summary()
        return
    if (config.getoption("arena_no_report") or config.getoption("collectonly")
            or exitstatus == pytest.ExitCode.USAGE_ERROR):
        return  # a usage error (bad selection, missing agent) ran nothing to report
    from pytest_arena.analysis.session_end import session_report

    config.stash[SUMMARY_KEY] = session_report(arena.store, arena.out_dir, arena.analysis_options(),
                                               arena.started_at, arena.pricing_warnings)


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    summary = config.stash.get(SUMMARY_KEY, None)
    if summary:
        terminalreporter.write_sep("=", "pytest-arena summary")
        terminalreporter.write_line(summary)
    tally = config.pluginmanager.get_plugin(FAILURE_TALLY)
    if tally is not None and tally.forgiven:
        terminalreporter.write_line(tally.summary())
