"""The standalone router (``python -m pytest_arena.router``) serves one run that never finishes: its memory must
stay flat however many calls it serves, while its totals stay exact."""
from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from pytest_arena.router.__main__ import RUN_ID
from pytest_arena.router.contracts import BackendSpec, RunSpec, ScriptedPlan
from pytest_arena.router.pricing import load_pricing
from pytest_arena.router.runs import RECENT_RECORDS
from pytest_arena.router.service import RouterSettings, start_router

CALLS = 5000
CLOUD_EVERY = 10  # every 10th call is forced to the cloud, so the totals carry a cost


def test_5000_calls_keep_a_bounded_window_of_records_and_exact_totals(tmp_path):
    # The scripted stand-in on both sides (the cloud one priced as gpt-5.5): no upstream to wait on.
    ledger = tmp_path / "ledger.jsonl"
    local = BackendSpec(kind="scripted", model="scripted", label="scripted", max_concurrency=64)
    cloud = BackendSpec(kind="scripted", model="scripted", label="scripted-cloud", max_concurrency=64,
                        price_as="gpt-5.5")
    spec = RunSpec(run_id=RUN_ID, strategy="always-local", local=local, cloud=cloud,
                   scripted=ScriptedPlan(files={"a.txt": "a\n"}, workspace=str(tmp_path), final_message="done"))
    with start_router(RouterSettings(ledger_path=ledger, unscoped_run_id=RUN_ID)) as router:
        ep = router.register_run(spec)

        async def one(session, i):
            model = "m!cloud" if i % CLOUD_EVERY == 0 else "m"
            # unprefixed, as python -m pytest_arena.router serves
            async with session.post(router.base_url + "/v1/chat/completions",
                                    headers={"Authorization": f"Bearer {ep.api_key}"},
                                    json={"model": model,
                                          "messages": [{"role": "user", "content": "write a.txt"}]}) as resp:
                assert resp.status == 200, await resp.text()
                return (await resp.json())["usage"]

        async def main():
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=32)) as session:
                return await asyncio.gather(*(one(session, i) for i in range(CALLS)))

        usages = asyncio.run(main())
        in_memory = router._core.ledger.records(RUN_ID)
        assert len(in_memory) == RECENT_RECORDS < CALLS
        assert max(r.seq for r in in_memory) == CALLS - 1  # the most recent ones
        totals = router.finish_run(RUN_ID)

    cloud_calls = CALLS // CLOUD_EVERY
    prompt, completion = usages[0]["prompt_tokens"], usages[0]["completion_tokens"]
    assert all((u["prompt_tokens"], u["completion_tokens"]) == (prompt, completion) for u in usages)
    assert (totals.calls, totals.local_calls, totals.cloud_calls) == (CALLS, CALLS - cloud_calls, cloud_calls)
    assert totals.statuses == {"ok": CALLS}
    assert (totals.prompt, totals.completion) == (CALLS * prompt, CALLS * completion)
    assert totals.cost_usd == pytest.approx(cloud_calls * load_pricing().cost("gpt-5.5", prompt, completion))
    assert len(totals.records) == RECENT_RECORDS
    lines = ledger.read_text().splitlines()
    assert len(lines) == CALLS  # every record is in the file
    assert sum(json.loads(line)["cost_usd"] for line in lines) == pytest.approx(totals.cost_usd)


def test_ctrl_c_stops_a_router_started_in_the_background_by_a_script(upstream):
    # A script's background job inherits SIGINT ignored, and Python keeps it so unless told
    # otherwise: `kill -INT` (or Ctrl-C relayed by a supervisor) must still close the router.
    import signal
    import subprocess

    proc = subprocess.Popen(upstream.router_command(), stdout=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        assert proc.stdout is not None and proc.stdout.readline().startswith("pytest-arena router on ")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
