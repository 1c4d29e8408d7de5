"""Sandbox kinds are one registry (pytest_arena/sandbox/kinds.py): a project registers a kind of its
own from its conftest.py, names it in its config, and the harness runs the agent's processes and
the acceptance tests through it; rows record its name and the reports mark a cell by what the kind
states it walls off, never by its name. An adapter that passes no sandbox starts nothing, and no
module but the bubblewrap kind's own names bubblewrap's kind."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from core.arena_project import TEST_AGENTS_CONFTEST, make_config, make_task  # tests/ is on sys.path

from pytest_arena.agents.process import AgentSandboxError, base_env, run_process
from pytest_arena.errors import ConfigError
from pytest_arena.sandbox import Availability, Box, BoxBase, BoxSpec, Guarantees, get_sandbox_kind, kinds
from pytest_arena.sandbox.run import Limits, run_sandboxed, sandbox_kind
from pytest_arena.sweep.config.loading import load_config

ROOT = Path(__file__).resolve().parents[1]
WALLED = Guarantees(files="hard", network="hard", router_link="hard", memory="hard", processes="hard",
                    wall_time="hard")

# The project's own kinds: each runs commands through a built-in kind, writing each one down first.
# "recording" states that it walls off everything (so `auto` prefers it for the acceptance tests
# too) and runs them in bubblewrap, which holds that (its self-check passes); "leaky" states that it
# walls off nothing and runs them as plain subprocesses.
RECORDING_CONFTEST = '''
import json
from pathlib import Path

from pytest_arena.sandbox import Availability, BoxBase, Guarantees, get_sandbox_kind, register_sandbox_kind

LOG = Path(__file__).parent / "commands.jsonl"


class RecordingBox(BoxBase):
    def __init__(self, kind, inner):
        self.kind, self.inner = kind, inner

    def run(self, cmd, limits, *, env=None, stdout_path=None, stderr_path=None):
        with LOG.open("a") as log:
            log.write(json.dumps({"kind": self.kind.name, "cmd": list(cmd)}) + "\\n")
        result = self.inner.run(cmd, limits, env=env, stdout_path=stdout_path, stderr_path=stderr_path)
        result.kind = self.kind.name
        return result

    def close(self):
        self.inner.close()


class Recording:
    title = "a recording sandbox"
    install_hint = ""

    def __init__(self, name, guarantees, inner):
        self.name, self.guarantees, self.inner = name, guarantees, inner

    def available(self):
        return Availability(True)

    def version(self):
        return "recording-1"

    def open(self, spec):
        return RecordingBox(self, get_sandbox_kind(self.inner).open(spec))


register_sandbox_kind(Recording("recording", Guarantees(
    files="hard", network="hard", router_link="hard", memory="hard", processes="hard", wall_time="hard"), "bwrap"),
    agents=True, scoring=True)
register_sandbox_kind(Recording("leaky", Guarantees(
    files="absent", network="absent", router_link="absent", memory="absent", processes="absent", wall_time="soft"),
    "subprocess"), agents=True)
'''


@pytest.fixture
def registry(monkeypatch):
    """The registry (and what this process detected) as it is now, restored after the test."""
    monkeypatch.setattr(kinds, "_entries", dict(kinds._entries))
    monkeypatch.setattr(kinds, "_available", dict(kinds._available))
    return kinds


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch, tmp_path) -> pytest.Pytester:
    monkeypatch.setenv("ARENA_SELFCHECK_DIR", str(tmp_path / "selfcheck"))  # each kind's self-check runs afresh
    make_task(pytester.path)
    pytester.makeconftest(TEST_AGENTS_CONFTEST + RECORDING_CONFTEST)
    return pytester


def sweep(project: pytest.Pytester, agent_kind: str) -> tuple[pytest.RunResult, dict, list[list[str]]]:
    """One cell (sleeper on the adder) in its own pytest process (the kinds register there, not
    here); its row and the commands the project's kinds ran."""
    make_config(project.path, agents=("sleeper",), extra=f"sandbox: {{agents: {agent_kind}}}\n")
    result = project.runpytest_subprocess("--arena-config", "arena.yaml", "-p", "no:cacheprovider", timeout=300)
    rows = [json.loads(line) for line in (project.path / "results/demo/raw.jsonl").read_text().splitlines()]
    log = project.path / "commands.jsonl"
    commands = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return result, rows[-1], commands


def is_probe(command: dict) -> bool:
    """The sandbox self-check's probe (pytest_arena/sandbox/selfcheck.py), run in the kind first."""
    return "pytest-arena sandbox self-check probe" in " ".join(command["cmd"])


def test_a_projects_own_kind_runs_the_agent_and_the_acceptance_tests_and_rows_record_its_name(project):
    result, row, commands = sweep(project, "recording")
    result.assert_outcomes(passed=1)
    assert row["outcome"] == "pass"
    assert row["sandbox"] == {"agent": "recording", "scoring": "recording"}
    assert row["provenance"]["sandbox"] == "recording"
    assert {c["kind"] for c in commands} == {"recording"}
    agent = [c["cmd"] for c in commands if c["cmd"][0] == "sleep"]
    assert agent == [["sleep", "0.5"]]  # the sleeper agent's one process
    # before it, the self-check probed the kind once per role (the agents' box shape, the tests'):
    # three commands each (the walls, the memory cap, the process cap)
    first_agent = next(i for i, c in enumerate(commands) if c["cmd"][0] == "sleep")
    assert [i for i, c in enumerate(commands) if is_probe(c)] == list(range(first_agent - 6, first_agent))
    for role in ("agent", "scoring"):  # the row records the kind, its version and the walls that held
        held = dict(row["sandbox_guarantees"][role])
        assert held.pop("selfcheck")  # when the self-check that cleared it ran
        assert held == {"kind": "recording", "version": "recording-1", **WALLED.as_dict()}
    # the rest: pytest runs (the session's reference check, the pristine collection, the verdict)
    acceptance = [c["cmd"] for c in commands if c["cmd"][0] != "sleep" and not is_probe(c)]
    assert acceptance and all("pytest" in " ".join(cmd) for cmd in acceptance)
    assert any(arg.startswith("--junitxml=") for cmd in acceptance for arg in cmd)
    # It states it walls off files and network: nothing is marked, nothing is warned about.
    assert "unsandboxed" not in result.stdout.str() and "WARNING" not in result.stdout.str()


def test_a_kind_that_states_it_walls_off_nothing_is_marked_in_the_reports(project):
    result, row, commands = sweep(project, "leaky")
    result.assert_outcomes(passed=1)
    assert row["sandbox"] == {"agent": "leaky", "scoring": "recording"}
    assert {"kind": "leaky", "cmd": ["sleep", "0.5"]} in commands
    result.stdout.fnmatch_lines_random([
        "*WARNING: 1 cell(s) ran their agent WITHOUT a sandbox (sandbox.agents=leaky): sleeper (1)*",
        "none [[]1 unsandboxed[]] *"])  # the row of its (only) strategy: none, for an agent without a model


def test_the_config_names_only_registered_agent_kinds(tmp_path, registry):
    make_task(tmp_path)
    config = make_config(tmp_path, extra="sandbox: {agents: bwrp}\n")
    with pytest.raises(ConfigError, match=r"field 'sandbox.agents': unknown sandbox kind for agents 'bwrp'; "
                                          r"did you mean 'bwrap'\?"):
        load_config(config)
    # unshare carries no router link: it serves the acceptance tests only
    with pytest.raises(ConfigError, match="unknown sandbox kind for agents 'unshare'"):
        load_config(make_config(tmp_path, extra="sandbox: {agents: unshare}\n"))
    registry.register_sandbox_kind(Toy("mine", WALLED), agents=True)
    assert load_config(make_config(tmp_path, extra="sandbox: {agents: mine}\n")).sandbox.agents == "mine"


def test_the_built_in_kinds_state_what_they_wall_off():
    walls = {name: get_sandbox_kind(name).guarantees for name in ("bwrap", "unshare", "subprocess", "none")}
    assert walls["bwrap"].isolates and walls["bwrap"].router_link == "hard"
    assert walls["unshare"].network == "hard" and walls["unshare"].files == "absent"
    assert not walls["subprocess"].isolates and not walls["none"].isolates
    # auto's order of preference, strongest first; none (no caps at all) is for agents only; the
    # container kind (cgroup caps: memory hard) comes first where its image is built, but is opt-in:
    # never the kind install hints and fallback warnings name
    assert [k.name for k in sorted(kinds.sandbox_kinds("scoring"), key=lambda k: -k.guarantees.strength)] == [
        "container", "bwrap", "seatbelt", "unshare", "subprocess"]
    assert [k.name for k in kinds.sandbox_kinds("agents")] == ["bwrap", "seatbelt", "none", "container"]
    assert kinds.preferred_kind("agents").name == kinds.preferred_kind("scoring").name == "bwrap"


class Toy:
    """A kind whose commands run as plain subprocesses; ``works`` says whether it is available."""

    title = "a toy"
    install_hint = "nothing to install"

    def __init__(self, name: str, guarantees: Guarantees, works: bool = True):
        self.name, self.guarantees, self.works = name, guarantees, works

    def available(self) -> Availability:
        return Availability(self.works, "" if self.works else "is switched off")

    def version(self) -> str | None:
        return None

    def open(self, spec: BoxSpec) -> ToyBox:
        return ToyBox(self, get_sandbox_kind("subprocess").open(spec))


class ToyBox(BoxBase):
    def __init__(self, kind: Toy, inner: Box):
        self.kind, self.inner = kind, inner

    def run(self, cmd, limits, *, env=None, stdout_path=None, stderr_path=None):
        result = self.inner.run(cmd, limits, env=env, stdout_path=stdout_path, stderr_path=stderr_path)
        result.kind = self.kind.name
        return result


def test_auto_takes_the_strongest_scoring_kind_that_works_here(tmp_path, registry):
    before = sandbox_kind()
    registry.register_sandbox_kind(Toy("strong-but-off", WALLED, works=False), scoring=True)
    assert sandbox_kind() == before
    registry.register_sandbox_kind(Toy("agents-only", WALLED), agents=True)
    assert sandbox_kind() == before
    registry.register_sandbox_kind(Toy("strong", WALLED), scoring=True)
    assert sandbox_kind() == "strong"
    result = run_sandboxed([sys.executable, "-c", "print('in the toy')"], workdir=tmp_path, limits=Limits(wall_s=30))
    assert (result.kind, result.stdout) == ("strong", "in the toy\n")


def test_a_process_started_without_a_sandbox_does_not_start(tmp_path):
    marker = tmp_path / "ran"
    with pytest.raises(AgentSandboxError, match=r"given no sandbox: an agent adapter passes sandbox=ctx\.sandbox"):
        run_process(["touch", str(marker)], cwd=tmp_path, env=base_env(tmp_path / "home"), timeout_s=30,
                    log_dir=tmp_path / "logs")
    assert not marker.exists()


FORGETFUL_CONFTEST = '''
from pathlib import Path

from pytest_arena.agents.base import AgentAdapter
from pytest_arena.agents.process import agent_result, base_env, run_process
from pytest_arena.agents.registry import register_agent


class Forgetful(AgentAdapter):
    """Written before adapters were handed their sandbox: it passes none."""
    name = "forgetful"
    uses_llm = False

    def version(self, install_root):
        return "1"

    def install_command(self, install_root):
        return "(test agent)"

    def run(self, ctx):
        marker = Path(__file__).parent / "forgetful-ran"
        proc = run_process(["touch", str(marker)], cwd=ctx.workspace, env=base_env(ctx.home),
                           timeout_s=ctx.timeout_s, log_dir=ctx.log_dir)
        return agent_result(proc, timeout_s=ctx.timeout_s)


register_agent("forgetful", Forgetful)
'''


def test_an_adapter_that_passes_no_sandbox_gets_an_infra_error_naming_the_fix(pytester):
    make_task(pytester.path)
    pytester.makeconftest(FORGETFUL_CONFTEST)
    make_config(pytester.path, agents=("forgetful",))
    pytester.runpytest("--arena-config", "arena.yaml", "-p", "no:cacheprovider").assert_outcomes(errors=1)
    row = json.loads((pytester.path / "results/demo/raw.jsonl").read_text().splitlines()[-1])
    assert row["outcome"] == "infra_error" and "sandbox=ctx.sandbox" in row["error"]
    assert row["sandbox"]["agent"] == "bwrap"  # the cell's sandbox was ready; the adapter did not use it
    assert not (pytester.path / "forgetful-ran").exists()


def test_no_module_but_the_bubblewrap_kinds_own_names_it():
    """Rows, reports, the config and the runner read a kind's name and guarantees from the
    registry; only pytest_arena/sandbox/bubblewrap.py may say which kind that is."""
    own = ROOT / "pytest_arena" / "sandbox" / "bubblewrap.py"
    naming = [str(path.relative_to(ROOT)) for folder in (ROOT / "pytest_arena", ROOT / "router")
              for path in sorted(folder.rglob("*")) if path.is_file() and path != own
              and "__pycache__" not in path.parts and "bwrap" in path.read_text(errors="replace")]
    assert naming == []
