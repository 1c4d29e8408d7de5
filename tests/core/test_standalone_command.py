"""``python -m pytest_arena router --config X.yaml`` serves one arena config's routing by hand: its
strategy, its models through the same services a cell gets, the router's own flags. The router
itself imports nothing of the plugin; this command is the plugin handing it a run."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "router"))
from fake_upstreams import FakeUpstream  # noqa: E402

CONFIG = """\
variant_tag: standalone-demo
out_dir: results/standalone
models:
  local: openai/qwen-fake
  cloud: gpt-5.5
  local_base_url: {base}/v1
  cloud_base_url: {base}/v1
router: {{strategy: always-cloud, port: 0}}
"""


@pytest.fixture(scope="module")
def upstream():
    fake = FakeUpstream().start()
    yield fake
    fake.stop()


def start(folder: Path, *args: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-m", "pytest_arena", "router", *args], cwd=folder,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OPENAI_API_KEY": "sk-standalone-test"})
    first = proc.stdout.readline() if proc.stdout else ""
    if not first.startswith("pytest-arena router on "):
        proc.kill()
        raise AssertionError(f"no banner: {first!r} {proc.communicate()[1]}")
    return proc, first.split()[3]


def test_the_router_command_serves_the_configs_strategy_and_takes_the_routers_flags(tmp_path, upstream):
    (tmp_path / "arena.yaml").write_text(CONFIG.format(base=upstream.base_url))
    ledger = tmp_path / "ledger.jsonl"
    proc, base_url = start(tmp_path, "--config", "arena.yaml", "--ledger", str(ledger))
    try:
        assert base_url.startswith("http://127.0.0.1:") and not base_url.endswith(":8787")  # router.port: 0
        reply = httpx.post(base_url + "/v1/chat/completions", timeout=30,
                           json={"model": "m", "messages": [{"role": "user", "content": "hello"}]})
        assert reply.status_code == 200, reply.text
        deadline = time.monotonic() + 10
        while not ledger.is_file() or not ledger.read_text().strip():
            assert time.monotonic() < deadline, "no ledger record"
            time.sleep(0.05)
        record = json.loads(ledger.read_text().splitlines()[0])
        assert record["strategy"] == "always-cloud" and record["choice"] == "cloud"
        assert record["backend"] == "gpt-5.5" and record["status"] == "ok"
    finally:
        proc.terminate()
        assert proc.wait(timeout=20) == 0


def test_a_bad_config_is_one_line_naming_the_field_and_no_traceback(tmp_path):
    (tmp_path / "arena.yaml").write_text(CONFIG.format(base="http://127.0.0.1:9").replace("always-cloud", "no-such"))
    done = subprocess.run([sys.executable, "-m", "pytest_arena", "router", "--config", "arena.yaml"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("error: arena.yaml") and "router.strategy" in done.stderr


def test_the_router_command_takes_a_shipped_configs_name_and_names_them_when_none_matches(tmp_path):
    done = subprocess.run([sys.executable, "-m", "pytest_arena", "router", "--config", "no-such-config"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "no config shipped with pytest-arena is named 'no-such-config'" in done.stderr
    assert "smoke" in done.stderr  # the names it does take
