"""A small fake LLM server for the agents' end-to-end tests.

It speaks the three wire protocols the six agents use, run-scoped like the router
(``/run/<run_id>/...``): OpenAI chat completions (JSON and SSE, tool calls), OpenAI Responses
(SSE) and Anthropic Messages (SSE and JSON). For each run a ``WritePlan`` says which file to
create; the fake drives the agent there through the agent's own protocol:

- the request offers a file-write tool  -> call it with the absolute path and the content;
- it offers only a shell tool           -> call it with a shell command that writes the file;
- it offers no tools (aider)            -> answer in aider's whole-file format;
- after a tool result                   -> call the shell tool once more with
  ``plan.finish_command`` when set (mini-swe-agent's submit command), else answer with text.

Every call answers with usage ``PROMPT_TOKENS`` / ``COMPLETION_TOKENS`` so the tests can check
what each agent reports about itself. Every request is recorded (path, run id, body).
"""
from __future__ import annotations

import asyncio
import json
import shlex
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from pytest_arena.router.contracts import RunEndpoints

PROMPT_TOKENS = 100
COMPLETION_TOKENS = 10
FINAL_TEXT = "Done: the file is written."

WRITE_TOOLS = ("write", "editor", "write_file", "create_file")
SHELL_TOOLS = ("bash", "exec_command", "run_commands", "shell")
PATH_KEYS = ("path", "file_path", "filepath", "filename")
CONTENT_KEYS = ("content", "new_text", "text", "file_text")
COMMAND_KEYS = ("command", "cmd", "commands")


@dataclass
class WritePlan:
    workspace: str  # absolute path of the agent's workspace
    relative_path: str
    content: str
    finish_command: str | None = None
    stall_s: float = 0.0  # wait this long before every answer (timeout tests)

    @property
    def absolute_path(self) -> str:
        return f"{self.workspace.rstrip('/')}/{self.relative_path}"

    def shell_command(self) -> str:
        # Relative on purpose: it only lands in the workspace when the agent runs it there.
        write = f"printf %s {shlex.quote(self.content)} > {shlex.quote(self.relative_path)}"
        folder = self.relative_path.rpartition("/")[0]
        return f"mkdir -p {shlex.quote(folder)} && {write}" if folder else write

    def whole_file_reply(self) -> str:
        return f"{self.relative_path}\n```\n{self.content}```\n"


@dataclass
class RecordedRequest:
    run_id: str
    method: str
    path: str
    body: Any
    decision: str = ""


# ------------------------------------------------------------------------ deciding the reply
@dataclass
class Reply:
    text: str = ""
    tool_name: str | None = None
    tool_args: dict = field(default_factory=dict)

    @property
    def is_tool(self) -> bool:
        return self.tool_name is not None


def offered_tools(body: dict) -> dict[str, dict]:
    """Tool name -> JSON schema, for chat-completions, Responses and Anthropic tool lists."""
    tools: dict[str, dict] = {}
    for tool in body.get("tools") or []:
        if not isinstance(tool, dict):
            continue
        if isinstance(tool.get("function"), dict):  # chat completions
            tools[tool["function"].get("name", "")] = tool["function"].get("parameters") or {}
        elif "input_schema" in tool:  # Anthropic
            tools[tool.get("name", "")] = tool.get("input_schema") or {}
        elif tool.get("name"):  # Responses
            tools[tool["name"]] = tool.get("parameters") or {}
    return tools


def tool_results_seen(body: dict) -> int:
    count = 0
    for message in body.get("messages") or []:
        if message.get("role") == "tool":
            count += 1
        content = message.get("content")
        if isinstance(content, list):
            count += sum(1 for b in content if isinstance(b, dict) and b.get("type") == "tool_result")
    for item in body.get("input") or [] if isinstance(body.get("input"), list) else []:
        if isinstance(item, dict) and str(item.get("type", "")).endswith("call_output"):
            count += 1
    return count


def _shell_args(schema: dict, command: str) -> dict:
    props = schema.get("properties") or {}
    args: dict = {}
    for key in COMMAND_KEYS:
        if key in props:
            args[key] = [command] if props[key].get("type") == "array" else command
            break
    return args


def _write_args(schema: dict, plan: WritePlan) -> dict:
    props = schema.get("properties") or {}
    args: dict = {}
    for key in props:
        if key.lower() in PATH_KEYS:
            args[key] = plan.absolute_path
        elif key.lower() in CONTENT_KEYS:
            args[key] = plan.content
    return args


def decide(body: dict, plan: WritePlan) -> Reply:
    tools = offered_tools(body)
    if not tools:
        return Reply(text=plan.whole_file_reply())
    lowered = {name.lower(): name for name in tools}
    done = tool_results_seen(body)
    shell = next((lowered[n] for n in SHELL_TOOLS if n in lowered), None)
    if done == 0:
        writer = next((lowered[n] for n in WRITE_TOOLS if n in lowered), None)
        if writer is not None:
            return Reply(tool_name=writer, tool_args=_write_args(tools[writer], plan))
        if shell is not None:
            return Reply(tool_name=shell, tool_args=_shell_args(tools[shell], plan.shell_command()))
    if done == 1 and plan.finish_command and shell is not None:
        return Reply(tool_name=shell, tool_args=_shell_args(tools[shell], plan.finish_command))
    return Reply(text=FINAL_TEXT)


# ------------------------------------------------------------------------ wire formats
def _sse(data: dict, event: str | None = None) -> str:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data)}\n\n"


def chat_completion(body: dict, reply: Reply) -> Response:
    cid = f"chatcmpl-{uuid.uuid4().hex[:10]}"
    model = body.get("model", "fake")
    usage = {"prompt_tokens": PROMPT_TOKENS, "completion_tokens": COMPLETION_TOKENS,
             "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS}
    call = None
    if reply.is_tool:
        call = {"id": f"call_{uuid.uuid4().hex[:8]}", "type": "function",
                "function": {"name": reply.tool_name, "arguments": json.dumps(reply.tool_args)}}
    finish = "tool_calls" if call else "stop"
    if not body.get("stream"):
        message = {"role": "assistant", "content": None if call else reply.text}
        if call:
            message["tool_calls"] = [call]
        return JSONResponse({"id": cid, "object": "chat.completion", "created": int(time.time()),
                             "model": model, "usage": usage,
                             "choices": [{"index": 0, "message": message, "finish_reason": finish}]})

    def chunks() -> Iterator[str]:
        base = {"id": cid, "object": "chat.completion.chunk", "created": int(time.time()), "model": model}

        def chunk(delta: dict, finish_reason: str | None = None) -> str:
            return _sse({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]})

        yield chunk({"role": "assistant", "content": ""})
        if call:
            yield chunk({"tool_calls": [{"index": 0, "id": call["id"], "type": "function",
                                         "function": {"name": reply.tool_name, "arguments": ""}}]})
            yield chunk({"tool_calls": [{"index": 0, "function": {"arguments": call["function"]["arguments"]}}]})
        else:
            for start in range(0, len(reply.text), 16):
                yield chunk({"content": reply.text[start:start + 16]})
        yield chunk({}, finish)
        if (body.get("stream_options") or {}).get("include_usage"):
            yield _sse({**base, "choices": [], "usage": usage})
        yield "data: [DONE]\n\n"

    return StreamingResponse(chunks(), media_type="text/event-stream")


def responses_stream(body: dict, reply: Reply) -> Response:
    rid = f"resp_{uuid.uuid4().hex[:10]}"
    if reply.is_tool:
        item = {"type": "function_call", "id": f"fc_{uuid.uuid4().hex[:8]}", "status": "completed",
                "call_id": f"call_{uuid.uuid4().hex[:8]}", "name": reply.tool_name,
                "arguments": json.dumps(reply.tool_args)}
    else:
        item = {"type": "message", "id": f"msg_{uuid.uuid4().hex[:8]}", "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": reply.text, "annotations": []}]}
    usage = {"input_tokens": PROMPT_TOKENS, "input_tokens_details": {"cached_tokens": 0},
             "output_tokens": COMPLETION_TOKENS, "output_tokens_details": {"reasoning_tokens": 0},
             "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS}
    response = {"id": rid, "object": "response", "created_at": int(time.time()),
                "model": body.get("model", "fake"), "status": "completed", "output": [item], "usage": usage}

    def events() -> Iterator[str]:
        seq = iter(range(1000))

        def event(name: str, data: dict) -> str:
            return _sse({"type": name, "sequence_number": next(seq), **data}, event=name)

        yield event("response.created", {"response": {**response, "status": "in_progress", "output": []}})
        if item["type"] == "function_call":
            yield event("response.output_item.added", {"output_index": 0, "item": {**item, "arguments": ""}})
            yield event("response.function_call_arguments.delta",
                        {"output_index": 0, "item_id": item["id"], "delta": item["arguments"]})
            yield event("response.function_call_arguments.done",
                        {"output_index": 0, "item_id": item["id"], "arguments": item["arguments"]})
        else:
            part = item["content"][0]
            where = {"output_index": 0, "item_id": item["id"], "content_index": 0}
            yield event("response.output_item.added", {"output_index": 0, "item": {**item, "content": []}})
            yield event("response.content_part.added", {**where, "part": {**part, "text": ""}})
            yield event("response.output_text.delta", {**where, "delta": reply.text})
            yield event("response.output_text.done", {**where, "text": reply.text})
            yield event("response.content_part.done", {**where, "part": part})
        yield event("response.output_item.done", {"output_index": 0, "item": item})
        yield event("response.completed", {"response": response})

    return StreamingResponse(events(), media_type="text/event-stream")


def anthropic_message(body: dict, reply: Reply) -> Response:
    if reply.is_tool:
        block = {"type": "tool_use", "id": f"toolu_{uuid.uuid4().hex[:8]}", "name": reply.tool_name,
                 "input": reply.tool_args}
        stop = "tool_use"
    else:
        block = {"type": "text", "text": reply.text}
        stop = "end_turn"
    usage = {"input_tokens": PROMPT_TOKENS, "output_tokens": COMPLETION_TOKENS,
             "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
    message = {"id": f"msg_{uuid.uuid4().hex[:10]}", "type": "message", "role": "assistant",
               "model": body.get("model", "fake"), "content": [block], "stop_reason": stop,
               "stop_sequence": None, "usage": usage}
    if not body.get("stream"):
        return JSONResponse(message)

    def events() -> Iterator[str]:
        def event(name: str, data: dict) -> str:
            return _sse({"type": name, **data}, event=name)

        yield event("message_start", {"message": {**message, "content": [], "stop_reason": None,
                                                  "usage": {**usage, "output_tokens": 0}}})
        if block["type"] == "tool_use":
            yield event("content_block_start", {"index": 0, "content_block": {**block, "input": {}}})
            yield event("content_block_delta", {"index": 0, "delta": {
                "type": "input_json_delta", "partial_json": json.dumps(block["input"])}})
        else:
            yield event("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}})
            yield event("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": reply.text}})
        yield event("content_block_stop", {"index": 0})
        yield event("message_delta", {"delta": {"stop_reason": stop, "stop_sequence": None},
                                      "usage": {"output_tokens": COMPLETION_TOKENS}})
        yield event("message_stop", {})

    return StreamingResponse(events(), media_type="text/event-stream")


# ------------------------------------------------------------------------ the server
class FakeLLM:
    """Run with ``with FakeLLM() as fake:``; register a plan per run id, then point an agent at
    ``fake.endpoints(run_id)``."""

    def __init__(self) -> None:
        self.plans: dict[str, WritePlan] = {}
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        protocol_routes = [
            ("/run/{run_id}/v1/chat/completions", self._chat),
            ("/run/{run_id}/v1/responses", self._responses),
            ("/run/{run_id}/v1/messages", self._messages),
        ]
        routes = [Route(path, handler, methods=["POST"]) for path, handler in protocol_routes]
        routes.append(Route("/run/{run_id}/v1/messages/count_tokens", self._count_tokens, methods=["POST"]))
        routes.append(Route("/{path:path}", self._other, methods=["GET", "HEAD", "POST", "PUT", "DELETE"]))
        self.app = Starlette(routes=routes)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self._server = uvicorn.Server(uvicorn.Config(self.app, log_level="warning", lifespan="off",
                                                     timeout_graceful_shutdown=1))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True)

    def __enter__(self) -> FakeLLM:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake LLM server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()

    def register(self, run_id: str, plan: WritePlan) -> None:
        self.plans[run_id] = plan

    def endpoints(self, run_id: str, model: str = "fake-model") -> RunEndpoints:
        root = f"http://127.0.0.1:{self.port}/run/{run_id}"
        return RunEndpoints(openai_base=f"{root}/v1", anthropic_base=root, ollama_base=root, model=model,
                            api_key=f"sk-fake-llm-{run_id}")

    def calls(self, run_id: str) -> list[RecordedRequest]:
        """Model calls (not probes) made for one run."""
        return [r for r in self.requests if r.run_id == run_id and r.decision]

    # -- handlers
    async def _record(self, request: Request) -> None:
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = {"_raw": raw[:500].decode("utf-8", "replace")}
        parts = request.url.path.strip("/").split("/")
        run_id = parts[1] if len(parts) > 1 and parts[0] == "run" else ""
        with self._lock:
            self.requests.append(RecordedRequest(run_id, request.method, request.url.path, body))

    async def _answer(self, request: Request, render) -> Response:
        raw = await request.body()
        body = json.loads(raw) if raw else {}
        run_id = request.path_params["run_id"]
        plan = self.plans.get(run_id)
        if plan is None:
            return JSONResponse({"error": {"message": f"unknown run {run_id}"}}, status_code=404)
        if plan.stall_s:
            await asyncio.sleep(plan.stall_s)
        reply = decide(body, plan)
        decision = f"tool:{reply.tool_name}" if reply.is_tool else "text"
        with self._lock:
            self.requests.append(RecordedRequest(run_id, request.method, request.url.path, body, decision))
        return render(body, reply)

    async def _chat(self, request: Request) -> Response:
        return await self._answer(request, chat_completion)

    async def _responses(self, request: Request) -> Response:
        return await self._answer(request, responses_stream)

    async def _messages(self, request: Request) -> Response:
        return await self._answer(request, anthropic_message)

    async def _count_tokens(self, request: Request) -> Response:
        await self._record(request)
        return JSONResponse({"input_tokens": PROMPT_TOKENS})

    async def _other(self, request: Request) -> Response:
        await self._record(request)
        if request.method == "HEAD":
            return Response(status_code=200)
        return JSONResponse({"error": {"message": "not served by the fake", "type": "not_found"}},
                            status_code=404)
