"""Probe: an agent that knows another live cell's run id (as under `-n N`, where one router serves
many cells) tries to spend on it, from inside its own agent sandbox through its router link."""
from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

from pytest_arena.agents.base import AgentSandbox
from pytest_arena.agents.process import base_env, run_process
from pytest_arena.router.contracts import BackendSpec, RunSpec
from pytest_arena.router.service import RouterSettings, start_router
from pytest_arena.sandbox.run import RouterLink, base_python, sandbox_kind

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "router"))
from fake_upstreams import FakeUpstream  # noqa: E402

pytestmark = pytest.mark.skipif(sandbox_kind() != "bwrap", reason="the agent sandbox needs bubblewrap")

PROBE = textwrap.dedent("""
    import json, sys, urllib.request, urllib.error
    mine, other, token = sys.argv[1], sys.argv[2], sys.argv[3]
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]}).encode()
    def call(base, headers):
        request = urllib.request.Request(base + "/chat/completions", data=body,
                                         headers={"Content-Type": "application/json", **headers})
        try:
            return urllib.request.urlopen(request, timeout=20).status
        except urllib.error.HTTPError as exc:
            return exc.code
    print(json.dumps({
        "own run, own token": call(mine, {"Authorization": "Bearer " + token}),
        "own run, no token": call(mine, {}),
        "other run, own token": call(other, {"Authorization": "Bearer " + token}),
        "other run, as x-api-key": call(other, {"x-api-key": token}),
    }))
""")


def test_a_cell_cannot_spend_on_another_cells_run(tmp_path):
    upstream = FakeUpstream().start()
    try:
        local = BackendSpec(kind="ollama", model="qwen:fake", label="ollama/qwen", base_url=upstream.base_url)
        with start_router(RouterSettings()) as router:
            mine = router.register_run(RunSpec(run_id="cell-a", strategy="always-local", local=local, cloud=local))
            other = router.register_run(RunSpec(run_id="cell-b", strategy="always-local", local=local, cloud=local))
            workspace, home = tmp_path / "workspace", tmp_path / "home"
            workspace.mkdir()
            (workspace / "probe.py").write_text(PROBE)
            box = AgentSandbox(kind="bwrap", writable=(workspace, home),
                               router=RouterLink(uds_path=router.uds_path, port=router.port))
            result = run_process([base_python(), "probe.py", mine.openai_base, other.openai_base, mine.api_key],
                                 cwd=workspace, env=base_env(home), timeout_s=60, log_dir=tmp_path / "logs",
                                 sandbox=box)
            assert result.exit_code == 0, result.tail()
            got = json.loads(result.stdout_path.read_text())
            other_totals = router.finish_run("cell-b")
            mine_totals = router.finish_run("cell-a")
    finally:
        upstream.stop()
    assert got == {"own run, own token": 200, "own run, no token": 401,
                   "other run, own token": 401, "other run, as x-api-key": 401}
    assert other_totals.calls == 0 and mine_totals.calls == 1
