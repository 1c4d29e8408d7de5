"""Streaming writes what arrives together in one go, and loses nothing doing it: every event in
order, the usage chunk, the ledger record, the output cap inside a burst, a line split across
reads, and a client that leaves mid-stream (upstream closed, call recorded).

The upstream here is a raw asyncio HTTP server so each test decides which SSE events go out in
one socket write and where the stream pauses; it speaks the real OpenAI and Anthropic SSE."""
from __future__ import annotations

import asyncio
import json
import socket
import threading

import anthropic
import pytest

from pytest_arena.router.contracts import BackendSpec, LocalGuards, RunSpec

WORDS = [f"w{i} " for i in range(20)]
PROMPT_TOKENS, COMPLETION_TOKENS = 42, 20


def _openai_events(model: str) -> list[bytes]:
    base = {"id": "c1", "object": "chat.completion.chunk", "model": model}
    events = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}]
    events += [{**base, "choices": [{"index": 0, "delta": {"content": w}}]} for w in WORDS]
    events.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    events.append({**base, "choices": [], "usage": {"prompt_tokens": PROMPT_TOKENS,
                                                    "completion_tokens": COMPLETION_TOKENS}})
    return [b"data: " + json.dumps(e).encode() + b"\n\n" for e in events] + [b"data: [DONE]\n\n"]


def _anthropic_events(model: str) -> list[bytes]:
    events = [("message_start", {"message": {"id": "m1", "model": model, "usage": {"input_tokens": PROMPT_TOKENS,
                                                                                    "output_tokens": 1}}}),
              ("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}})]
    events += [("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": w}}) for w in WORDS]
    events += [("content_block_stop", {"index": 0}),
               ("message_delta", {"delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": COMPLETION_TOKENS}}),
               ("message_stop", {})]
    return [f"event: {name}\ndata: {json.dumps({'type': name, **obj})}\n\n".encode() for name, obj in events]


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


class ScriptedUpstream:
    """Answers every streaming POST by the model it names: ``burst-*`` sends the whole stream in
    one socket write; ``split-*`` sends it in pieces that cut lines (and a JSON object) in the
    middle, pausing between pieces; ``stall-*`` sends the first few events in one write, then
    waits for the client to hang up and notes that it did in ``closed``."""

    def __init__(self) -> None:
        self.closed = threading.Event()

    def start(self) -> ScriptedUpstream:
        self.loop = asyncio.new_event_loop()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self.server = self.loop.run_until_complete(asyncio.start_server(self._serve, sock=sock))
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        async def shutdown() -> None:  # the router's kept-alive connections end with the server
            self.server.close()
            for task in asyncio.all_tasks() - {asyncio.current_task()}:
                task.cancel()

        asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length:"))
                body = json.loads(await reader.readexactly(length))
                await self._answer(head.split(b" ")[1], body, reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def _answer(self, path: bytes, body: dict, reader, writer) -> None:
        model = body["model"]
        events = (_anthropic_events if path.endswith(b"/messages") else _openai_events)(model)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
        if model.startswith("stall"):
            writer.write(b"".join(_chunk(e) for e in events[:5]))
            await writer.drain()
            if await reader.read(1) == b"":  # the router hung up
                self.closed.set()
            return
        if model.startswith("split"):
            raw = b"".join(events)
            for i in range(0, len(raw), 37):  # 37: cuts lines, "data:" and JSON objects mid-way
                writer.write(_chunk(raw[i:i + 37]))
                await writer.drain()
                await asyncio.sleep(0.002)
        else:
            writer.write(b"".join(_chunk(e) for e in events))
        writer.write(b"0\r\n\r\n")
        await writer.drain()


@pytest.fixture(scope="module")
def scripted():
    upstream = ScriptedUpstream().start()
    yield upstream
    upstream.stop()


def _run(router, scripted, run_id: str, kind: str, model: str, side: str = "cloud", guards=None):
    spec = BackendSpec(kind=kind, model=model, label=f"{kind}/{model}", base_url=scripted.base_url)
    run = RunSpec(run_id=run_id, strategy=f"always-{side}", local=spec, cloud=spec,
                  **({"guards": guards} if guards else {}))
    return router.register_run(run)


def _post_stream(ep, body: dict) -> socket.socket:
    host, port = ep.openai_base.split("//")[1].split("/")[0].split(":")
    path = "/" + ep.openai_base.split("//")[1].split("/", 1)[1] + "/chat/completions"
    data = json.dumps({"model": ep.model, "stream": True, "messages": [{"role": "user", "content": "hi"}], **body})
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.sendall(f"POST {path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\nauthorization: Bearer "
                 f"{ep.api_key}\r\ncontent-length: {len(data)}\r\n\r\n{data}".encode())
    return sock


def _read_chunked(sock: socket.socket) -> list[bytes]:
    """The response's HTTP chunks, as the router wrote them."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += sock.recv(65536)
    head, buf = buf.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 200"), head
    chunks = []
    while True:
        while b"\r\n" not in buf:
            buf += sock.recv(65536)
        size_line, rest = buf.split(b"\r\n", 1)
        size = int(size_line, 16)
        while len(rest) < size + 2:
            rest += sock.recv(65536)
        if size == 0:
            return chunks
        chunks.append(rest[:size])
        buf = rest[size + 2:]


def _sse_data(chunks: list[bytes]) -> list[str]:
    return [line[6:] for line in b"".join(chunks).decode().split("\n") if line.startswith("data: ")]


def test_events_that_arrive_together_go_out_together_every_one_in_order(router, scripted):
    ep = _run(router, scripted, "burst-openai", "openai", "burst-1")
    with _post_stream(ep, {"stream_options": {"include_usage": True}}) as sock:
        chunks = _read_chunked(sock)
    data = _sse_data(chunks)
    assert data[-1] == "[DONE]"
    events = [json.loads(d) for d in data[:-1]]
    text = "".join(c["delta"].get("content") or "" for e in events for c in e["choices"])
    assert text == "".join(WORDS)  # every piece, in order
    assert [c["finish_reason"] for e in events for c in e["choices"] if c["finish_reason"]] == ["stop"]
    assert events[-1]["usage"]["completion_tokens"] == COMPLETION_TOKENS  # the usage chunk, last
    # 24 SSE events sent by the upstream in one write reach the client in a few writes, not 24
    assert len(data) == 24 and len(chunks) <= 3, [len(c) for c in chunks]
    (rec,) = router.finish_run("burst-openai").records
    assert (rec.status, rec.prompt_tokens, rec.completion_tokens) == ("ok", PROMPT_TOKENS, COMPLETION_TOKENS)


def test_an_event_cut_across_reads_arrives_whole(router, scripted):
    ep = _run(router, scripted, "split-openai", "openai", "split-1")
    with _post_stream(ep, {"stream_options": {"include_usage": True}}) as sock:
        data = _sse_data(_read_chunked(sock))
    events = [json.loads(d) for d in data[:-1]]
    assert "".join(c["delta"].get("content") or "" for e in events for c in e["choices"]) == "".join(WORDS)
    assert data[-1] == "[DONE]" and events[-1]["usage"]["completion_tokens"] == COMPLETION_TOKENS
    (rec,) = router.finish_run("split-openai").records
    assert (rec.status, rec.completion_tokens) == ("ok", COMPLETION_TOKENS)


def test_the_output_cap_cuts_inside_a_burst(router, scripted):
    ep = _run(router, scripted, "burst-cap", "openai", "burst-cap", side="local",
              guards=LocalGuards(max_output_tokens=5))
    with _post_stream(ep, {}) as sock:
        data = _sse_data(_read_chunked(sock))
    events = [json.loads(d) for d in data[:-1]]
    assert "".join(c["delta"].get("content") or "" for e in events for c in e["choices"]) == "".join(WORDS[:5])
    assert [c["finish_reason"] for e in events for c in e["choices"] if c["finish_reason"]] == ["length"]
    (rec,) = router.finish_run("burst-cap").records
    assert (rec.status, rec.completion_tokens) == ("truncated", 5)


def test_a_client_gone_mid_stream_closes_the_upstream_and_is_recorded(router, scripted):
    ep = _run(router, scripted, "stall-openai", "openai", "stall-1", side="local")
    with _post_stream(ep, {}) as sock:
        got = b""
        while b"w3 " not in got:  # the first burst reached the client
            got += sock.recv(65536)
    assert scripted.closed.wait(5), "the router kept the upstream stream open after the client left"
    (rec,) = router.finish_run("stall-openai").records
    assert rec.status == "client_error"


def test_anthropic_burst_through_the_messages_front_door(router, scripted):
    ep = _run(router, scripted, "burst-anthropic", "anthropic", "burst-claude")
    client = anthropic.Anthropic(base_url=ep.anthropic_base, api_key=ep.api_key, max_retries=0)
    with client.messages.stream(model=ep.model, max_tokens=100, messages=[{"role": "user", "content": "hi"}]) as s:
        kinds = [event.type for event in s]
        message = s.get_final_message()
    assert message.content[0].text == "".join(WORDS)
    assert message.stop_reason == "end_turn" and kinds[-1] == "message_stop"
    assert message.usage.output_tokens == COMPLETION_TOKENS
    (rec,) = router.finish_run("burst-anthropic").records
    assert (rec.status, rec.prompt_tokens, rec.completion_tokens) == ("ok", PROMPT_TOKENS, COMPLETION_TOKENS)
