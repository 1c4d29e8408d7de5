"""Concurrency limits unit by unit (benchmarks/mutation.py found which servers count as shared,
and a lock folder that does not exist yet, untested)."""
from __future__ import annotations

import asyncio

import pytest

from pytest_arena.router.contracts import BackendSpec
from pytest_arena.router.limits import BackendLimit, make_limit, shared_server


def spec(base_url, max_concurrency=2, kind="openai"):
    return BackendSpec(kind=kind, model="m", label=f"{kind}/m", base_url=base_url, max_concurrency=max_concurrency)


@pytest.mark.parametrize("url", ["http://127.0.0.1:11434", "http://localhost:8080/v1", "http://[::1]:9000",
                                 "http://0.0.0.0:1234", "http://127.0.0.2:8080", "http://127.5.6.7"])
def test_loopback_servers_are_shared_by_every_router_on_the_machine(url):
    assert shared_server(spec(url))


@pytest.mark.parametrize("url", [None, "", "https://api.openai.com/v1", "http://10.0.0.5:11434",
                                 "http://128.0.0.1", "http://localhost.example.com", "http://my127.0.0.1.host"])
def test_other_servers_are_not_shared(url):
    assert not shared_server(spec(url))


def test_no_limit_without_a_positive_concurrency(tmp_path):
    assert make_limit(spec("http://127.0.0.1:1", 0), tmp_path) is None
    assert make_limit(spec("http://127.0.0.1:1", -1), tmp_path) is None
    assert make_limit(spec("http://127.0.0.1:1", 1), tmp_path) is not None


def test_only_a_shared_server_gets_slot_files_in_a_lock_folder_made_on_demand(tmp_path):
    lock_dir = tmp_path / "not" / "yet"
    limit = make_limit(spec("http://127.0.0.1:1", 3), lock_dir)

    async def take_and_give_back():
        await limit.acquire()
        limit.release()

    asyncio.run(take_and_give_back())
    assert [p.suffix for p in lock_dir.iterdir()] == [".slot0"]  # the first free slot of three
    remote = tmp_path / "remote"
    make_limit(spec("https://api.openai.com/v1", 3), remote)
    assert not remote.exists()


def test_slots_hold_across_limits_sharing_a_lock_folder_and_free_on_release(tmp_path):
    """Two routers' limits on one server with two slots: the third call waits until one ends."""
    first, second = (BackendLimit(2, tmp_path, key="srv") for _ in range(2))

    async def scenario():
        await first.acquire()
        await second.acquire()
        third = asyncio.ensure_future(second.acquire())
        await asyncio.sleep(0.2)
        assert not third.done()  # both slot files are locked
        first.release()
        await asyncio.wait_for(third, 2)
        second.release()
        second.release()
        # every slot is free again: two more calls get in at once
        await asyncio.wait_for(first.acquire(), 1)
        await asyncio.wait_for(first.acquire(), 1)
        first.release()
        first.release()

    asyncio.run(scenario())


def test_a_limit_for_another_server_uses_other_slots(tmp_path):
    async def scenario():
        a, b = BackendLimit(1, tmp_path, key="server-a"), BackendLimit(1, tmp_path, key="server-b")
        await a.acquire()
        await asyncio.wait_for(b.acquire(), 1)  # not blocked by server-a's slot
        a.release()
        b.release()

    asyncio.run(scenario())


def test_within_one_router_the_semaphore_queues_calls_beyond_the_limit():
    limit = BackendLimit(1)

    async def scenario():
        await limit.acquire()
        waiting = asyncio.ensure_future(limit.acquire())
        await asyncio.sleep(0.05)
        assert not waiting.done()
        limit.release()
        await asyncio.wait_for(waiting, 1)
        limit.release()

    asyncio.run(scenario())


def test_a_cancelled_wait_for_a_slot_gives_its_semaphore_place_back(tmp_path):
    holder, waiter = BackendLimit(1, tmp_path, key="k"), BackendLimit(1, tmp_path, key="k")

    async def scenario():
        await holder.acquire()
        pending = asyncio.ensure_future(waiter.acquire())
        await asyncio.sleep(0.1)
        pending.cancel()
        with pytest.raises(asyncio.CancelledError):
            await pending
        holder.release()
        await asyncio.wait_for(waiter.acquire(), 1)  # its semaphore was released on cancel
        waiter.release()

    asyncio.run(scenario())
