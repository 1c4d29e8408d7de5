"""The FrontDoor seam: a wire protocol the router serves is one object, registered once, and the
app builds its routes from the registry.

The toy door here is written from outside the package, as a plugin's would be: a plain class (not
the built-ins' ``Door`` record) that serves ``POST /run/<run_id>/toy/ask`` with ``{"q": ...}``.
Registered before a router starts, it is served by that router like the built-in doors: the run's
token is checked, the call is routed, recorded under the door's name and answered in its shapes,
streamed or whole; a path or name another door has is refused at registration.
"""
from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from fake_upstreams import TEXT

from pytest_arena.router.contracts import (
    BackendSpec,
    CanonicalRequest,
    CanonicalResponse,
    Event,
    Finish,
    Message,
    RunSpec,
    TextDelta,
)
from pytest_arena.router.errors import ClientRequestError, RouterError
from pytest_arena.router.protocols import FrontDoor, front_doors, register_front_door
from pytest_arena.router.protocols import base as door_registry
from pytest_arena.router.service import RouterHandle, RouterSettings, start_router

NDJSON = "application/x-ndjson"


class ToyRenderer:
    """One JSON line per text piece, then one ``{"done": reason}`` line."""

    def __init__(self) -> None:
        self.finished = False

    def feed(self, events: list[Event]) -> bytes:
        out = b""
        for ev in events:
            if isinstance(ev, TextDelta) and ev.text:
                out += json.dumps({"piece": ev.text}).encode() + b"\n"
            elif isinstance(ev, Finish):
                out += json.dumps({"done": ev.reason}).encode() + b"\n"
                self.finished = True
        return out

    def error(self, err: RouterError) -> bytes:
        return json.dumps({"toy_error": err.message}).encode() + b"\n"


class ToyDoor:
    """A question in, an answer out: the smallest protocol a client could speak."""

    name = "toy"
    paths = ("toy/ask",)
    stream_media_type = NDJSON

    def parse(self, body: dict[str, Any]) -> CanonicalRequest:
        question = body.get("q")
        if not isinstance(question, str) or not question:
            raise ClientRequestError("field 'q' must be a non-empty string")
        return CanonicalRequest(protocol=self.name, model="toy", messages=[Message("user", question)],
                                stream=bool(body.get("stream")))

    def render(self, resp: CanonicalResponse, req: CanonicalRequest) -> bytes:
        return json.dumps({"answer": resp.text, "finish": resp.finish_reason}).encode()

    def stream_renderer(self, req: CanonicalRequest) -> ToyRenderer:
        return ToyRenderer()

    def error_body(self, error_type: str, message: str) -> bytes:
        return json.dumps({"toy_error": message, "kind": error_type}).encode()


TOY: FrontDoor = ToyDoor()  # the type checker holds the class to the protocol


@pytest.fixture
def doors(monkeypatch: pytest.MonkeyPatch) -> None:
    """Registrations made by the test are gone after it."""
    monkeypatch.setattr(door_registry, "_DOORS", dict(door_registry._DOORS))


@pytest.fixture
def toy_router(doors, tmp_path) -> RouterHandle:
    register_front_door(TOY)  # before the router starts: its app is built from the registry
    with start_router(RouterSettings(ledger_path=tmp_path / "ledger.jsonl")) as router:
        yield router


def _run(router: RouterHandle, upstream, run_id: str = "toy-run"):
    local = BackendSpec(kind="ollama", model="qwen:fake", label="ollama/qwen:fake", base_url=upstream.base_url)
    cloud = BackendSpec(kind="openai", model="gpt-5.5", label="openai/gpt-5.5", base_url=upstream.base_url)
    return router.register_run(RunSpec(run_id=run_id, strategy="always-local", local=local, cloud=cloud))


def _ask(ep, body: dict, token: str | None = None) -> httpx.Response:
    return httpx.post(f"{ep.anthropic_base}/toy/ask", json=body, timeout=10,
                      headers={"Authorization": f"Bearer {token or ep.api_key}"})


def test_a_front_door_registered_from_outside_answers_a_real_http_call_and_is_recorded_under_its_name(
        toy_router, upstream):
    ep = _run(toy_router, upstream)
    resp = _ask(ep, {"q": "hello?"})
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"answer": TEXT, "finish": "stop"}
    assert resp.headers["x-arena-choice"] == "local" and resp.headers["x-arena-backend"] == "ollama/qwen:fake"
    (rec,) = toy_router.finish_run("toy-run").records
    assert (rec.protocol, rec.status, rec.choice) == ("toy", "ok", "local")
    recorded = [json.loads(line) for line in toy_router.ledger_path.read_text().splitlines()]
    assert [r["protocol"] for r in recorded] == ["toy"]


def test_the_toy_door_streams_in_its_own_frames_and_media_type(toy_router, upstream):
    ep = _run(toy_router, upstream)
    resp = _ask(ep, {"q": "hello?", "stream": True})
    assert resp.status_code == 200 and resp.headers["content-type"].startswith(NDJSON)
    lines = [json.loads(line) for line in resp.text.splitlines()]
    assert "".join(line.get("piece", "") for line in lines) == TEXT
    assert lines[-1] == {"done": "stop"}
    (rec,) = toy_router.finish_run("toy-run").records
    assert (rec.protocol, rec.stream, rec.status) == ("toy", True, "ok")


def test_the_toy_doors_refusals_come_in_its_error_shape(toy_router, upstream):
    ep = _run(toy_router, upstream)
    unauthorized = _ask(ep, {"q": "hello?"}, token="sk-arena-guess")
    assert unauthorized.status_code == 401
    assert "token is missing or wrong" in unauthorized.json()["toy_error"]
    invalid = _ask(ep, {"question": "wrong field"})
    assert invalid.status_code == 400
    assert invalid.json() == {"toy_error": "pytest-arena: invalid toy request: field 'q' must be a non-empty string",
                              "kind": "invalid_request_error"}
    (rec,) = toy_router.finish_run("toy-run").records  # the refusal for the token is in no run's ledger
    assert (rec.protocol, rec.status) == ("toy", "client_error")


def test_the_built_in_doors_come_first_and_keep_their_paths(doors):
    register_front_door(TOY)
    assert [(door.name, door.paths) for door in front_doors()] == [
        ("openai-chat", ("v1/chat/completions",)), ("anthropic", ("v1/messages",)),
        ("openai-responses", ("v1/responses",)), ("ollama", ("api/chat",)), ("toy", ("toy/ask",))]


def test_a_door_whose_name_or_path_is_taken_is_refused_naming_the_owner(doors):
    assert register_front_door(TOY) is TOY
    assert register_front_door(TOY) is TOY  # the same door again changes nothing

    class Thief(ToyDoor):
        name = "thief"
        paths = ("v1/messages",)

    with pytest.raises(ValueError, match="path 'v1/messages' is already served by 'anthropic'"):
        register_front_door(Thief())
    with pytest.raises(ValueError, match="a front door named 'toy' is already registered"):
        register_front_door(ToyDoor())
    Thief.paths = ("/toy/other",)
    with pytest.raises(ValueError, match=r"path '/toy/other' must be relative to /run/<run_id>/"):
        register_front_door(Thief())
    assert [door.name for door in front_doors()][-1] == "toy"
