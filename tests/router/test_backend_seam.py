"""The backend seam: a BackendSpec's kind picks the class registered for it, and what the harness
asks of a kind (is it local, which variable holds its key, does the local output cap apply) is a
fact of that class, never a list of kind names.

The toy backends here are written from outside the package, as a plugin's would be, and
registered for the test only. A run whose side is a toy kind is answered by it through the real
router; its facts decide what the router checks and how the standalone command fills a spec.
"""
from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from pytest_arena.router.__main__ import parse_backend
from pytest_arena.router.backends import (
    Backend,
    CallContext,
    api_key_variables,
    backend_class,
    backend_kinds,
    register_backend,
)
from pytest_arena.router.backends import base as backend_registry
from pytest_arena.router.contracts import (
    BackendSpec,
    CanonicalRequest,
    Event,
    Finish,
    LocalGuards,
    RunSpec,
    TextDelta,
    Usage,
)
from pytest_arena.router.errors import ConfigError
from pytest_arena.router.service import RouterHandle, RouterSettings, start_router

WORDS = 40  # the toy's answer, one word a piece: over CAP, so a capped toy is cut
CAP = 10


class EchoBackend(Backend):
    """Answers "echo:" and the last message's words, then WORDS more, one piece each."""

    local = True

    async def stream(self, req: CanonicalRequest, call: CallContext) -> AsyncIterator[Event]:
        yield TextDelta(f"echo: {req.messages[-1].content}")
        for i in range(WORDS):
            yield TextDelta(f" w{i}")
        yield Usage(prompt=3, completion=WORDS + 1)
        yield Finish("stop", model=self.spec.model)


class UncappedEchoBackend(EchoBackend):
    """The same answer, from a stand-in no output cap applies to."""

    output_capped = False


class KeyedEchoBackend(EchoBackend):
    """A cloud toy: its key lives in TOY_ECHO_API_KEY."""

    local = False
    api_key_env = "TOY_ECHO_API_KEY"


@pytest.fixture
def kinds(monkeypatch: pytest.MonkeyPatch) -> None:
    """The toy kinds, registered for the test only."""
    monkeypatch.setattr(backend_registry, "_BACKENDS", dict(backend_registry._BACKENDS))
    register_backend("toy-echo")(EchoBackend)
    register_backend("toy-echo-uncapped")(UncappedEchoBackend)
    register_backend("toy-echo-keyed")(KeyedEchoBackend)


@pytest.fixture
def toy_router(kinds, tmp_path) -> RouterHandle:
    """A router with a session budget cap (so a cloud side must be priced), the toy kinds registered."""
    with start_router(RouterSettings(ledger_path=tmp_path / "ledger.jsonl", session_budget_usd=1.0)) as handle:
        yield handle


def _spec(kind: str, model: str = "echo-1", **kw) -> BackendSpec:
    return BackendSpec(kind=kind, model=model, label=f"{kind}/{model}", **kw)


def _chat(ep, text: str = "hi") -> httpx.Response:
    return httpx.post(ep.openai_base + "/chat/completions", headers={"Authorization": f"Bearer {ep.api_key}"},
                      json={"model": ep.model, "messages": [{"role": "user", "content": text}]}, timeout=10)


def test_a_backend_registered_from_outside_answers_a_runs_calls_through_the_router(toy_router, upstream):
    cloud = BackendSpec(kind="openai", model="gpt-5.5", label="openai/gpt-5.5", base_url=upstream.base_url)
    ep = toy_router.register_run(RunSpec(run_id="echo", strategy="always-local", local=_spec("toy-echo"), cloud=cloud))
    resp = _chat(ep, "are you there?")
    assert resp.status_code == 200, resp.text
    assert resp.json()["choices"][0]["message"]["content"].startswith("echo: are you there? w0 w1")
    assert resp.headers["x-arena-backend"] == "toy-echo/echo-1"
    (rec,) = toy_router.finish_run("echo").records
    assert (rec.backend, rec.model, rec.choice, rec.status, rec.cost_usd) == (
        "toy-echo/echo-1", "echo-1", "local", "ok", 0.0)


@pytest.mark.parametrize("kind,status", [("toy-echo", "truncated"), ("toy-echo-uncapped", "ok")])
def test_the_local_output_cap_applies_as_the_backend_class_says(toy_router, upstream, kind, status):
    cloud = BackendSpec(kind="openai", model="gpt-5.5", label="openai/gpt-5.5", base_url=upstream.base_url)
    ep = toy_router.register_run(RunSpec(run_id=f"cap-{kind}", strategy="always-local", local=_spec(kind), cloud=cloud,
                                     guards=LocalGuards(max_output_tokens=CAP)))
    assert _chat(ep).status_code == 200
    (rec,) = toy_router.finish_run(f"cap-{kind}").records
    assert rec.status == status, rec.error


def test_a_local_kind_on_the_cloud_side_needs_no_price_under_a_budget_cap(toy_router, upstream):
    # The session has a budget cap; "echo-1" is in no price table. A local toy may stand in for the
    # cloud (as the scripted stand-in does); a cloud toy may not, since the cap could never trip.
    local = BackendSpec(kind="ollama", model="qwen:fake", label="ollama/qwen:fake", base_url=upstream.base_url)
    toy_router.register_run(RunSpec(run_id="local-stand-in", strategy="always-cloud", local=local,
                                cloud=_spec("toy-echo")))
    assert toy_router.finish_run("local-stand-in").calls == 0
    with pytest.raises(ConfigError, match="cloud model 'echo-1' has no price"):
        toy_router.register_run(RunSpec(run_id="unpriced", strategy="always-cloud", local=local,
                                    cloud=_spec("toy-echo-keyed")))


def test_the_key_variable_is_read_from_the_class(kinds):
    assert parse_backend("toy-echo-keyed:echo-1", "--cloud").api_key_env == "TOY_ECHO_API_KEY"
    assert parse_backend("toy-echo:echo-1", "--local").api_key_env is None
    assert parse_backend("anthropic:claude-sonnet-4-6", "--cloud").api_key_env == "ANTHROPIC_API_KEY"
    assert "TOY_ECHO_API_KEY" in api_key_variables()  # the keys a sweep withholds from agents
    assert {"OPENAI_API_KEY", "ANTHROPIC_API_KEY"} <= set(api_key_variables())


def test_an_unknown_kind_is_refused_at_registration_naming_the_kinds_and_the_fix(toy_router, upstream):
    cloud = BackendSpec(kind="openai", model="gpt-5.5", label="openai/gpt-5.5", base_url=upstream.base_url)
    with pytest.raises(ConfigError) as refused:
        toy_router.register_run(RunSpec(run_id="typo", strategy="always-local", local=_spec("toy-ecko"), cloud=cloud))
    message = str(refused.value)
    assert message.startswith("backend 'toy-ecko/echo-1': unknown backend kind 'toy-ecko'")
    assert "ollama, openai, embedded, anthropic, scripted, toy-echo" in message and "register_backend" in message


def test_a_kind_is_served_by_one_class(kinds):
    assert backend_kinds()[:5] == ("ollama", "openai", "embedded", "anthropic", "scripted")
    assert backend_class("toy-echo") is EchoBackend
    assert register_backend("toy-echo")(EchoBackend) is EchoBackend  # the same class again changes nothing
    with pytest.raises(ValueError, match="backend kind 'ollama' is already served by .*OllamaBackend"):
        register_backend("ollama")(EchoBackend)
    with pytest.raises(TypeError, match="is not a subclass of pytest_arena.router.backends.Backend"):
        register_backend("toy-thing")(dict)  # type: ignore[type-var]
