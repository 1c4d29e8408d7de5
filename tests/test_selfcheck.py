"""The sandbox self-check (pytest_arena/sandbox/selfcheck.py): before the first cell with a kind
runs, a probe inside the kind tries what a hostile agent would. A kind that leaks a wall it claims
is refused, every cell of it, in one line naming the wall and the fix (infra_error rows, nothing
lost); a pass is cached by the kind's name, version and the policy's shape. Rows and reports record
the kind and the walls that held; ``setup --check-sandbox`` prints claimed against held."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from core.arena_project import make_config, make_task  # tests/ is on sys.path
from stats.rowfactory import our_row

from pytest_arena.analysis.analyze import AnalysisOptions, run_analysis
from pytest_arena.errors import ConfigError
from pytest_arena.sandbox import Availability, Guarantees, get_sandbox_kind, kinds, selfcheck
from pytest_arena.sandbox.kinds import SandboxUnavailable, resolve_sandbox_kind
from pytest_arena.sweep import setup
from pytest_arena.sweep.config.loading import load_config

WALLED = Guarantees(files="hard", network="hard", router_link="hard", memory="hard", processes="hard",
                    wall_time="hard")
FILE_ATTEMPTS = ["read a canary planted outside the shown paths", "read a canary in your HOME",
                 "read a planted .env key file", "read a task's hidden reference/", "wrote outside the workspace",
                 "saw the harness's environment"]
BWRAP_USABLE = bool(kinds.availability("bwrap"))
needs_bwrap = pytest.mark.skipif(not BWRAP_USABLE, reason="bubblewrap cannot start here")


class Counting:
    """A kind whose boxes are a built-in kind's (``inner``), stating ``guarantees`` of its own;
    it counts the boxes it opens (each self-check probe opens one)."""

    title = "a counting kind"
    install_hint = "reinstall the counting kind"

    def __init__(self, name: str, guarantees: Guarantees, inner: str = "subprocess", version: str = "1.0"):
        self.name, self.guarantees, self.inner, self.release = name, guarantees, inner, version
        self.opened = 0

    def available(self) -> Availability:
        return Availability(True)

    def version(self) -> str | None:
        return self.release

    def open(self, spec):
        self.opened += 1
        return get_sandbox_kind(self.inner).open(spec)


@pytest.fixture(autouse=True)
def fresh(monkeypatch, tmp_path):
    """Each test with its own self-check cache, and nothing this process checked before."""
    monkeypatch.setenv("ARENA_SELFCHECK_DIR", str(tmp_path / "selfcheck"))
    selfcheck.forget()
    yield tmp_path / "selfcheck"
    selfcheck.forget()


@pytest.fixture
def registry(monkeypatch):
    """The registry as it is now, restored after the test."""
    monkeypatch.setattr(kinds, "_entries", dict(kinds._entries))
    monkeypatch.setattr(kinds, "_available", dict(kinds._available))
    return kinds


@needs_bwrap
@pytest.mark.parametrize("role", ["agents", "scoring"])
def test_bubblewrap_holds_every_wall_it_claims_against_the_probe(role):
    check = selfcheck.check(get_sandbox_kind("bwrap"), role)
    assert check.ok and check.refusal() is None, check
    assert check.through == {wall: [] for wall in check.claimed}  # nothing got through any wall
    assert check.held == {"files": "hard", "network": "hard", "router_link": "hard" if role == "agents" else None,
                          "memory": "hard", "processes": "hard", "wall_time": "hard"}
    assert check.errors == {}  # every attempt told something


def test_without_walls_every_attempt_reaches_its_target(monkeypatch, tmp_path):
    """The control: in ``none`` (no walls at all) the probe reads each canary, writes outside the
    workspace, sees the harness, reaches the other loopback port, outgrows both caps and leaves a
    detached process running; only the child in its process group is ended with the run."""
    # A HOME of this test's own: a self-check running in another xdist worker plants its canary
    # in the real HOME at any moment, and would be taken for one this check left behind.
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    check = selfcheck.check(get_sandbox_kind("none"), "agents")
    assert check.through["files"] == FILE_ATTEMPTS
    assert check.through["network"] == ["connected to a loopback port other than the router's"]
    assert check.through["router_link"] == ["reached a loopback port besides the router"]  # the router answered
    assert check.through["memory"] == ["allocated past the memory cap"]
    assert check.through["processes"] == ["started more processes than the cap", "saw the harness's process"]
    assert check.through["wall_time"] == ["left a detached process (new session) running after the run"]
    assert check.held == {"files": "absent", "network": "absent", "router_link": "absent", "memory": "absent",
                          "processes": "absent", "wall_time": "soft"}
    assert check.ok  # none claims nothing it does not keep
    assert not list(home.iterdir())  # the HOME canary is gone again


def test_a_kind_that_claims_walls_it_does_not_have_is_refused_in_one_line_naming_them(fresh):
    leaky = Counting("leaky-hard", WALLED)  # runs plain subprocesses
    check = selfcheck.check(leaky, "agents")
    assert check.failed == ["files", "network", "router_link", "processes"]
    line = check.refusal("arena.yaml")
    assert line == (
        "arena.yaml: field 'sandbox.agents': sandbox kind leaky-hard (a counting kind 1.0) refused for agents: "
        f"its self-check got through the files wall it claims hard ({', '.join(FILE_ATTEMPTS)}); "
        "the network wall it claims hard (connected to a loopback port other than the router's); "
        "the router_link wall it claims hard (reached a loopback port besides the router); "
        "the processes wall it claims hard (saw the harness's process). Repair or reinstall it "
        "(reinstall the counting kind), or choose another kind with sandbox.agents "
        "(python -m pytest_arena setup --check-sandbox shows every kind on this machine)")
    with pytest.raises(selfcheck.SandboxRefused) as refused:
        selfcheck.require(leaky, "agents", "arena.yaml")
    assert str(refused.value) == line
    # a failure is never cached: the next process (or a repaired kind) probes again
    assert not list(fresh.glob("*.json"))
    selfcheck.forget()
    selfcheck.check(leaky, "agents")
    assert leaky.opened == 2


def test_a_soft_wall_may_let_a_process_of_the_host_be_seen_a_hard_one_may_not():
    """``unshare --net`` has no pid namespace: the harness's process is visible from inside. Its
    processes wall is soft (allowed); a kind that runs the same way but claims it hard is refused
    for that wall alone."""
    unshare = get_sandbox_kind("unshare").guarantees
    honest = selfcheck.check(Counting("unshare-honest", unshare, inner="unshare"), "scoring")
    assert honest.ok and honest.held["processes"] == "soft" and honest.held["network"] == "hard"
    boastful = Counting("unshare-boastful", Guarantees(**{**unshare.as_dict(), "processes": "hard"}), inner="unshare")
    check = selfcheck.check(boastful, "scoring")
    assert check.failed == ["processes"]
    assert "the processes wall it claims hard (saw the harness's process)" in check.refusal()


def test_a_pass_is_cached_by_kind_version_and_policy_shape(fresh):
    kind = Counting("counted", get_sandbox_kind("subprocess").guarantees)
    first = selfcheck.check(kind, "scoring")
    assert first.ok and not first.cached and kind.opened == 1
    assert selfcheck.check(kind, "scoring") is first and kind.opened == 1  # this process remembers
    selfcheck.forget()  # as a new process would
    again = selfcheck.check(kind, "scoring")
    assert again.cached and kind.opened == 1 and again.held == first.held  # read from the cache
    assert [p.name.split("-")[0] for p in fresh.glob("*.json")] == ["counted"]
    kind.release = "2.0"  # an upgrade re-probes
    selfcheck.forget()
    assert not selfcheck.check(kind, "scoring").cached and kind.opened == 2
    selfcheck.check(kind, "agents")  # the agents' boxes have another shape: their own probe
    assert kind.opened == 3
    selfcheck.check(kind, "scoring", refresh=True)  # setup --check-sandbox always probes afresh
    assert kind.opened == 4


def test_auto_picks_the_strongest_kind_that_walls_off_agents_never_none(registry):
    stronger = Counting("stronger", WALLED, inner="bwrap")
    registry.register_sandbox_kind(stronger, agents=True, scoring=True)
    assert resolve_sandbox_kind("auto", "agents") is stronger
    assert resolve_sandbox_kind("auto", "scoring") is stronger
    for name in ("stronger", "bwrap", "container", "seatbelt"):  # no kind that walls off agents works here
        if name in registry._entries:
            registry._available[name] = Availability(False, "is switched off")
    with pytest.raises(SandboxUnavailable, match=r"^agents run only inside a sandbox that walls off files and "
                                                 r"network, and none works here: .*a counting kind is switched off "
                                                 r"\(reinstall the counting kind\).*sandbox\.agents=none"):
        resolve_sandbox_kind("auto", "agents")
    with pytest.raises(SandboxUnavailable, match=r"^arena\.yaml: field 'sandbox\.scoring': stronger does not work "
                                                 r"here: a counting kind is switched off \(reinstall the counting "
                                                 r"kind\); or choose another kind for sandbox\.scoring \(auto, "):
        resolve_sandbox_kind("stronger", "scoring", "arena.yaml")


def test_the_config_names_auto_or_a_kind_for_each_role(tmp_path):
    make_task(tmp_path)
    config = load_config(make_config(tmp_path))
    assert (config.sandbox.agents, config.sandbox.scoring) == ("auto", "auto")  # the defaults
    assert load_config(make_config(tmp_path, extra="sandbox: {scoring: unshare}\n")).sandbox.scoring == "unshare"
    path = make_config(tmp_path, extra="sandbox: {scoring: unshre}\n")
    with pytest.raises(ConfigError, match=rf"^{path}: invalid config: field 'sandbox.scoring': unknown sandbox kind "
                                          r"for scoring 'unshre'; did you mean 'unshare'\? \(known: auto, bwrap, "):
        load_config(path)
    with pytest.raises(ConfigError, match=r"field 'sandbox.scoring': unknown sandbox kind for scoring 'none'"):
        load_config(make_config(tmp_path, extra="sandbox: {scoring: none}\n"))  # the opt-out is for agents only


# ---- through the real plugin --------------------------------------------------------------------

LEAKY_CONFTEST = '''
from pytest_arena.sandbox import Availability, Guarantees, get_sandbox_kind, register_sandbox_kind


class Leaky:
    """Claims every wall; runs plain subprocesses."""
    title, install_hint = "a leaky kind", "reinstall the leaky kind"

    def __init__(self, name, works=True):
        self.name, self.works = name, works
        self.guarantees = Guarantees(files="hard", network="hard", router_link="hard", memory="hard",
                                     processes="hard", wall_time="hard")

    def available(self):
        return Availability(self.works, "is switched off")

    def version(self):
        return "9.9"

    def open(self, spec):
        return get_sandbox_kind("subprocess").open(spec)


register_sandbox_kind(Leaky("leaky-hard"), agents=True, scoring=True)
register_sandbox_kind(Leaky("switched-off", works=False), agents=True, scoring=True)
'''


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    make_task(pytester.path)
    pytester.makeconftest(LEAKY_CONFTEST)
    return pytester


def sweep(project: pytest.Pytester, sandbox: str) -> tuple[pytest.RunResult, list[dict]]:
    make_config(project.path, agents=("oracle",), extra=f"sandbox: {sandbox}\n")
    result = project.runpytest_subprocess("--arena-config", "arena.yaml", "-p", "no:cacheprovider", timeout=300)
    raw = project.path / "results/demo/raw.jsonl"
    return result, [json.loads(line) for line in raw.read_text().splitlines()]


@pytest.mark.parametrize("role", ["agents", "scoring"])
def test_every_cell_of_a_refused_kind_is_an_infra_error_row_with_the_line(project, role):
    # (auto would pick leaky-hard for agents too: it claims more than any other kind)
    result, rows = sweep(project, "{agents: leaky-hard}" if role == "agents" else "{agents: none, scoring: leaky-hard}")
    output = result.stdout.str() + result.stderr.str()
    assert "INTERNALERROR" not in output and "Traceback" not in output
    assert [r["outcome"] for r in rows] == ["infra_error"]
    error = rows[0]["error"]
    assert error.startswith(f"{project.path / 'arena.yaml'}: field 'sandbox.{role}': sandbox kind leaky-hard "
                            f"(a leaky kind 9.9) refused for {role}: its self-check got through the files wall "
                            "it claims hard (read a canary planted outside the shown paths")
    assert error.endswith(f"or choose another kind with sandbox.{role} (python -m pytest_arena setup "
                          "--check-sandbox shows every kind on this machine)")
    # refused before the agent started: it ran nowhere, and the row records no walls
    assert rows[0]["sandbox"] == {"agent": "not started", "scoring": "not run"}
    assert rows[0]["sandbox_guarantees"] == {}
    assert f"1 cell(s): {error}" in result.stdout.str()  # the session's summary names it once


def test_a_named_kind_that_does_not_work_here_names_the_file_the_field_and_the_install_step(project):
    _, rows = sweep(project, "{agents: switched-off}")
    assert [r["outcome"] for r in rows] == ["infra_error"]
    assert rows[0]["error"].startswith(
        f"{project.path / 'arena.yaml'}: field 'sandbox.agents': switched-off does not work here: a leaky kind is "
        "switched off (reinstall the leaky kind); or choose another kind for sandbox.agents (auto, ")


@needs_bwrap
def test_rows_and_reports_record_each_kind_and_the_walls_that_held(project):
    """Tests in ``unshare`` (sandbox.scoring), the agent in auto's kind: the row records both with
    their walls, provenance names the scoring kind, and the reports show a line per kind in use
    (and mark the cell: its tests ran with the host's files visible)."""
    result, rows = sweep(project, "{agents: bwrap, scoring: unshare}")
    row = rows[0]
    assert row["outcome"] == "pass", row["error"]
    assert row["sandbox"] == {"agent": "bwrap", "scoring": "unshare"}
    assert row["provenance"]["sandbox"] == "unshare"
    held, bwrap = row["sandbox_guarantees"], get_sandbox_kind("bwrap")
    assert {k: v for k, v in held["agent"].items() if k != "selfcheck"} == {
        "kind": "bwrap", "version": bwrap.version(), **bwrap.guarantees.as_dict()}
    assert held["scoring"]["kind"] == "unshare" and held["scoring"]["files"] == "absent"
    assert held["scoring"]["network"] == "hard" and held["agent"]["selfcheck"] and held["scoring"]["selfcheck"]
    summary = (project.path / "results/demo/summary.md").read_text()
    version = get_sandbox_kind("bwrap").version()
    assert f"| agent   | bwrap   | {version}     | hard    | hard      | hard          | soft     | hard        " \
           "| hard        | passed       | 1      |" in summary
    assert "| tests   | unshare | –         | absent  | hard      | absent        | soft     | soft        " \
           "| soft        | passed       | 1      |" in summary
    assert "<h2>Sandboxes</h2>" in (project.path / "results/demo/report.html").read_text()
    result.stdout.fnmatch_lines_random(["*[[]1 unsandboxed[]]*", "*WARNING: 1 cell(s): scoring sandbox: unshare "
                                        "(network isolated, filesystem NOT isolated), as sandbox.scoring names it "
                                        "although bubblewrap works here*"])


# ---- old rows, and the command ------------------------------------------------------------------

def _held(kind: str, **walls: str) -> dict:
    return {"kind": kind, "version": "1", **{**WALLED.as_dict(), **walls}, "selfcheck": "2026-12-01T00:00:00+00:00"}


def test_old_rows_without_the_walls_still_analyse_and_recorded_walls_win(tmp_path):
    old = our_row("t1", "cascade", 1)
    old["sandbox"] = {"agent": "bwrap", "scoring": "bwrap"}  # written before rows recorded the walls
    recorded = our_row("t2", "cascade", 1)
    # a kind named like bubblewrap whose files wall did not hold where it ran: the row, not the name, decides
    recorded["sandbox"] = {"agent": "bwrap", "scoring": "bwrap"}
    recorded["sandbox_guarantees"] = {"agent": _held("bwrap", files="absent"), "scoring": _held("bwrap")}
    analysis = run_analysis([old, recorded], tmp_path / "out", AnalysisOptions(charts=False))
    (cell,) = analysis.cells
    assert cell.n_unsandboxed == 1  # the recorded row; the old one reads bubblewrap's own statement here
    summary = (tmp_path / "out" / "summary.md").read_text()
    # the old row: its walls as bubblewrap states them here, marked *; the recorded one: as recorded
    assert ("| agent   | bwrap  | not recorded | hard*   | hard*     | hard*         | soft*    | hard*       "
            "| hard*       | not recorded | 1      |") in summary
    assert ("| agent   | bwrap  | 1            | absent  | hard      | hard          | hard     | hard        "
            "| hard        | passed       | 1      |") in summary
    assert ("| tests   | bwrap  | not recorded | hard*   | hard*     | hard*         | soft*    | hard*       "
            "| hard*       | not recorded | 1      |") in summary


@needs_bwrap
def test_check_sandbox_prints_claimed_against_held_for_every_kind_here(capsys, registry):
    registry.register_sandbox_kind(Counting("leaky-hard", WALLED), agents=True)
    assert setup.main(["--check-sandbox"]) == 1
    out = capsys.readouterr().out
    lines = out.splitlines()
    version = get_sandbox_kind("bwrap").version()
    assert any(line.split() == ["bwrap", "agents", version, "hard/hard", "hard/hard", "hard/hard", "soft/hard",
                                "hard/hard", "hard/hard", "ok"] for line in lines), out
    assert any(line.split() == ["none", "agents", "-", "absent/absent", "absent/absent", "absent/absent",
                                "absent/absent", "absent/absent", "soft/soft", "ok"] for line in lines), out
    assert any(line.split()[:4] == ["leaky-hard", "agents", "1.0", "hard/absent"] and line.endswith(
        "REFUSED: files, network, router_link, processes") for line in lines), out
    assert "REFUSED: field 'sandbox.agents': sandbox kind leaky-hard (a counting kind 1.0) refused" in out
    assert "auto picks: agents " in out


def test_the_docs_state_what_each_built_in_kind_claims_and_serves():
    """docs/sandboxes.md's table of kinds says what each kind's module states."""
    page = (Path(__file__).resolve().parents[1] / "docs" / "sandboxes.md").read_text()
    documented = {}
    for line in page.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if line.startswith("| `") and len(cells) == 9:
            documented[cells[0].strip("`")] = (cells[2], cells[3:])
    builtins = [k for k in kinds.sandbox_kinds() if type(k).__module__.startswith("pytest_arena.sandbox.")]
    assert set(documented) == {k.name for k in builtins}
    for kind in builtins:
        serves = ", ".join(role for role in ("agents", "scoring") if kind in kinds.sandbox_kinds(role))
        assert documented[kind.name] == (serves, list(kind.guarantees.as_dict().values())), kind.name
