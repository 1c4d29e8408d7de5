"""Every installed real agent through the real router, end to end (configs/ci-agents.yaml):
x always-cloud with the scripted stand-in must PASS (agent -> router -> workspace -> tests);
x always-local with the embedded SmolLM2-135M must finish by itself with real tokens counted."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_arena.agents.registry import get_agent
from pytest_arena.paths import default_install_root

ROOT = Path(__file__).resolve().parents[2]
AGENTS = ["aider", "mini-swe-agent", "cline", "opencode", "claude-code", "codex"]


def installed_agents() -> list[str]:
    root = default_install_root()
    return [a for a in AGENTS if get_agent(a).version(root)]


def embedded_available() -> bool:
    from pytest_arena.sweep.services.embedded import find_gguf

    try:
        import xllamacpp  # noqa: F401
    except ImportError:
        return False
    return find_gguf() is not None


@pytest.mark.skipif(not installed_agents(), reason="no agent installed: python -m pytest_arena setup --agents all")
@pytest.mark.skipif(not embedded_available(), reason="embedded model missing: python -m pytest_arena setup --embedded")
def test_every_installed_agent_passes_scripted_and_runs_the_real_local_model(tmp_path):
    agents = installed_agents()
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "pytest", "--arena-config", str(ROOT / "configs" / "ci-agents.yaml"),
           "--arena-out", str(out), "--arena-set", f"benchmark.agents={','.join(agents)}",
           "-n", "2", "-p", "no:cacheprovider", "-q", "--rootdir", str(ROOT)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=1500)
    rows = [json.loads(line) for line in (out / "raw.jsonl").read_text().splitlines() if line.strip()]
    report = "\n".join(f"{r['route']:>15} {r['router_strategy']:<13} {r['outcome']:<12} {r['error'] or ''}"[:300]
                       for r in rows)
    assert len(rows) == 2 * len(agents), proc.stdout[-4000:]
    for row in rows:
        assert row["agent_version"] not in ("", "unknown")
        if row["router_strategy"] == "always-cloud":
            assert row["outcome"] == "pass", report
            assert row["routing"]["cloud_calls"] >= 1 and row["routing"]["local_calls"] == 0
            assert row["backend_kinds"] == {"local": "embedded", "cloud": "scripted"}
            assert row["cost_usd"] > 0  # scripted traffic is priced as the primary scenario's model
        else:
            assert row["outcome"] != "infra_error", report
            assert row["agent_exit_code"] is not None, f"{row['route']} did not finish by itself\n{report}"
            assert row["tokens"]["local_prompt"] > 0 and row["tokens"]["cloud_prompt"] == 0, report
            assert row["routing"]["cloud_calls"] == 0 and row["cost_usd"] == 0
