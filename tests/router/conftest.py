"""Fixtures for the router tests: one fake upstream and one router per module, a fresh run per test."""
from __future__ import annotations

import itertools

import pytest
from fake_upstreams import FakeUpstream

from pytest_arena.router.contracts import BackendSpec, LocalGuards, RunSpec
from pytest_arena.router.service import RouterSettings, start_router

_run_ids = itertools.count()


@pytest.fixture(scope="session")
def upstream():
    fake = FakeUpstream().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def router(tmp_path_factory):
    handle = start_router(RouterSettings(ledger_path=tmp_path_factory.mktemp("ledger") / "ledger.jsonl",
                                         retry_backoff_s=0.01, max_retries=2))
    yield handle
    handle.close()


def backend(upstream, kind: str, model: str, **kw) -> BackendSpec:
    return BackendSpec(kind=kind, model=model, label=f"{kind}/{model}", **{"base_url": upstream.base_url, **kw})


@pytest.fixture
def make_run(router, upstream):
    """Register a run: ``make_run(strategy, local=("ollama", "qwen:1"), cloud=("openai", "gpt-5.5"), **spec)``."""

    def make(strategy="always-local", local=("ollama", "qwen:fake"), cloud=("openai", "gpt-5.5"), handle=None,
             local_kw=None, cloud_kw=None, **spec_kw):
        spec = RunSpec(run_id=f"t{next(_run_ids)}", strategy=strategy,
                       local=backend(upstream, *local, **(local_kw or {})),
                       cloud=backend(upstream, *cloud, **(cloud_kw or {})), **spec_kw)
        endpoints = (handle or router).register_run(spec)
        return spec, endpoints

    return make


__all__ = ["LocalGuards"]
