"""Probe agents: each tries one attack a determined coding agent could make, from inside the
harness exactly as a real agent runs (a process started by ``run_process`` in the cell's agent
sandbox), and writes what it got to ``probe.json`` in its log folder.

This file is data for the tamper suite: the suite's fixture writes it as the ``conftest.py`` of a
throwaway project beside a copy of ``attacks/``, and only that project's pytest process imports it.
No module of the test process imports it or anything in ``attacks/``: an attack's code never runs
in the process that judges the suite.

The probes know more than a real agent would (absolute paths of the project, the results folder,
the pytest process id and the keys to look for are handed to them through ``ARENA_PROBE_HINTS``):
the walls must hold even against an agent that guesses right.
"""
import json
import os
import shutil
import sysconfig
from pathlib import Path

from pytest_arena.agents.base import AgentAdapter
from pytest_arena.agents.process import agent_result, base_env, run_process
from pytest_arena.agents.registry import register_agent
from pytest_arena.sandbox.run import base_python

ATTACKS = Path(__file__).resolve().parent / "attacks"


class Probe(AgentAdapter):
    uses_llm = False
    attack = ""

    def version(self, install_root):
        return "probe-1"

    def install_command(self, install_root):
        return "(probe agent)"

    def run(self, ctx):
        hints = json.loads(os.environ.get("ARENA_PROBE_HINTS", "{}"))
        hints.update(pytest_pid=os.getpid(), home=os.path.expanduser("~"),
                     harness_site=sysconfig.get_paths()["purelib"], log_dir=str(ctx.log_dir))
        env = base_env(ctx.home, {"ARENA_PROBE_HINTS": json.dumps(hints)})
        # The attack, the module all attacks import, and the payloads (solutions, daemons, plugins).
        shutil.copy(ATTACKS / "probe_common.py", ctx.home / "probe_common.py")
        for payload in ATTACKS.glob("*.payload"):
            shutil.copy(payload, ctx.home / payload.name)
        script = ctx.home / "probe.py"
        shutil.copy(ATTACKS / f"{self.attack}.py", script)
        result = run_process([base_python(), str(script)], cwd=ctx.workspace, env=env, timeout_s=ctx.timeout_s,
                             log_dir=ctx.log_dir, name="probe", sandbox=ctx.sandbox)
        # A second step, as multi-step adapters (cline) run: its logs are made where the first
        # step could have planted links or FIFOs.
        run_process([base_python(), "-c", "print('second step')"], cwd=ctx.workspace, env=env, timeout_s=30,
                    log_dir=ctx.log_dir, name="after", sandbox=ctx.sandbox)
        out = result.read("stdout").strip().splitlines()  # as the shipped adapters read their logs
        planted = ctx.log_dir / "probe.report"  # a probe whose stdout log is not a file reports here
        if not out and planted.is_file() and not planted.is_symlink():
            out = [planted.read_text()]
        (ctx.log_dir / "probe.json").write_text(out[-1] if out else json.dumps({"error": result.tail()}))
        return agent_result(result, timeout_s=ctx.timeout_s)


for attack in sorted(p.stem for p in ATTACKS.glob("*.py") if p.stem != "probe_common"):
    register_agent(f"probe-{attack}", type(f"Probe_{attack}", (Probe,), {"name": f"probe-{attack}", "attack": attack}))
