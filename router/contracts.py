"""Contracts shared by the router's parts and by the pytest plugin.

Every front door (OpenAI chat, OpenAI Responses, Anthropic Messages, Ollama) turns a request into
one ``CanonicalRequest``; a strategy picks ``local`` or ``cloud``; the chosen backend yields a
stream of canonical ``Event``s; the front door renders those events back into the caller's
protocol (aggregating them for non-streaming calls). The ledger writes one ``LedgerRecord`` per
call, and the plugin reads a run's totals as ``RunTotals`` by run id.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Side = Literal["local", "cloud"]
FinishReason = Literal["stop", "length", "tool_calls", "error"]
Role = Literal["system", "user", "assistant", "tool"]
CallStatus = Literal[
    "ok",               # the backend answered completely
    "truncated",        # a local guard (output cap) cut the answer
    "timeout",          # the local wall timeout cut the call (headers or body)
    "budget_exceeded",  # refused before the call: cloud budget cap reached
    "auth_error",       # upstream 401/403: the session stops
    "upstream_error",   # upstream error status after retries, garbage reply, connection refused
    "client_error",     # the caller's request was invalid (400 from the router itself), or it went away
    "rejected",         # refused for its content: the provider's 400/413/422 (a prompt over the context),
                        # or over a router bound (body size, message count, calls in flight)
]


# ----------------------------------------------------------------------------- canonical request
@dataclass(slots=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # always a JSON string in canonical form


@dataclass(slots=True)
class Message:
    role: Role
    content: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    tool_call_id: str | None = None  # role == "tool": which call this answers
    name: str | None = None  # role == "tool": the tool's name when the protocol carries it


@dataclass(slots=True)
class ToolSpec:
    name: str
    description: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)  # JSON schema


@dataclass(slots=True)
class CanonicalRequest:
    protocol: str  # its front door's name (FrontDoor.name): "openai-chat", "openai-responses", "anthropic", "ollama"
    model: str  # what the agent asked for, with any !local/!cloud suffix removed
    messages: list[Message]
    tools: list[ToolSpec] = field(default_factory=list)
    force: Side | None = None  # from a !local / !cloud suffix on the model name
    stream: bool = False
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    seed: int | None = None
    stop: list[str] | None = None
    tool_choice: Any = None
    include_usage: bool = False  # OpenAI stream_options.include_usage
    extra: dict[str, Any] = field(default_factory=dict)  # protocol details kept for rendering


# ----------------------------------------------------------------------------- canonical events
@dataclass(slots=True)
class TextDelta:
    text: str


@dataclass(slots=True)
class ToolCallDelta:
    index: int
    id: str | None = None  # set on the first delta of a call
    name: str | None = None  # set on the first delta of a call
    arguments: str = ""  # a fragment of the JSON argument string


@dataclass(slots=True)
class Usage:
    prompt: int = 0
    completion: int = 0
    cached: int = 0
    reasoning: int = 0


@dataclass(slots=True)
class Finish:
    reason: FinishReason
    model: str | None = None  # the model that served, as the upstream reports it


Event = TextDelta | ToolCallDelta | Usage | Finish


@dataclass(slots=True)
class CanonicalResponse:
    """A whole answer: what a non-streaming front door renders."""

    text: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish_reason: FinishReason = "stop"
    usage: Usage = field(default_factory=Usage)
    model: str | None = None


# ----------------------------------------------------------------------------- configuration
@dataclass(slots=True)
class BackendSpec:
    """Where one side's calls go.

    kind: a kind registered with pytest_arena.router.backends.register_backend; the built-in ones:
      ollama    native /api/chat at base_url (default http://127.0.0.1:11434)
      openai    any OpenAI-compatible /v1/chat/completions at base_url (cloud APIs, vLLM, llama.cpp)
      anthropic Anthropic Messages at base_url (default https://api.anthropic.com)
      embedded  the embedded llama.cpp server the plugin starts; base_url filled in at run time
      scripted  offline stand-in that drives the agent to write ``ScriptedPlan.files``
    """

    kind: str
    model: str  # the upstream model id (e.g. "qwen3.6:35b", "gpt-5.5", "smollm2-135m")
    label: str  # the name the config used (e.g. "ollama/qwen3.6:35b", "embedded/smollm2-135m")
    base_url: str | None = None
    api_key_env: str | None = None  # name of the env var that holds the key; never the key itself
    fallback_model: str | None = None  # explicit, recorded fallback (models.cloud_fallback)
    max_concurrency: int = 8
    # Price this side's calls as if this model had served them. Used for the scripted stand-in on the
    # cloud side, so an offline harness check still shows what its traffic would cost.
    price_as: str | None = None


@dataclass(slots=True)
class LocalGuards:
    max_output_tokens: int | None = 4096  # None disables
    wall_timeout_s: float | None = 180.0  # covers headers and streamed body; None disables
    repeat_penalty: float | None = 1.1
    num_ctx: int | None = 32768  # explicit Ollama context so prompts are not silently truncated
    think: bool | None = False  # Ollama `think`; None leaves the server default


@dataclass(slots=True)
class ScriptedPlan:
    """What the scripted backend makes the agent do: write these files, then finish."""

    files: dict[str, str]  # workspace-relative path -> content
    workspace: str  # absolute path of the agent's workspace
    final_message: str = "Done: wrote the requested files."


@dataclass(slots=True)
class RunSpec:
    """One cell's routing setup, registered with the router before the agent starts."""

    run_id: str
    strategy: str  # a registered name: pytest_arena.router.strategies.strategy_names()
    local: BackendSpec
    cloud: BackendSpec
    strategy_params: dict[str, Any] = field(default_factory=dict)  # thresholds etc.
    classifier: BackendSpec | None = None  # llm-classifier / cascade model
    embedder: BackendSpec | None = None  # embedding-knn model (None: offline fallback)
    guards: LocalGuards = field(default_factory=LocalGuards)
    cell_budget_usd: float | None = None
    seed: int | None = None
    scripted: ScriptedPlan | None = None
    classifier_timeout_s: float = 10.0  # timeout of one classifier call (llm-classifier, cascade)
    prompt_cache: bool = False  # forward the agent's prompt-caching hints to the cloud backend
    # Where this run's transcript.jsonl goes (router/transcript.py); None: no transcript. With
    # transcript_bodies False it keeps each call's facts without its request and response.
    transcript_path: str | None = None
    transcript_bodies: bool = True


@dataclass(slots=True)
class RunEndpoints:
    """Run-scoped base URLs handed to an agent. Never a hard-coded port."""

    openai_base: str  # .../run/<id>/v1        (chat completions and Responses)
    anthropic_base: str  # .../run/<id>        (client appends /v1/messages)
    ollama_base: str  # .../run/<id>           (client appends /api/chat)
    model: str  # a model name the agent may send; the router ignores it except for !suffixes
    # The run's own token (secrets.token_urlsafe): the router refuses, with a 401, any call under
    # /run/<id>/ that does not present it as ``Authorization: Bearer <token>`` or ``x-api-key``.
    api_key: str = field(repr=False)


# ----------------------------------------------------------------------------- ledger
@dataclass(slots=True)
class LedgerRecord:
    run_id: str
    seq: int  # per run, 0-based, in order of arrival
    ts: float  # unix time the call arrived
    protocol: str
    purpose: Literal["agent", "classifier", "embedding"]
    strategy: str
    choice: Side
    reason: str
    backend: str  # BackendSpec.label
    model: str  # model that served (upstream's word), or the requested upstream id on failure
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    cost_usd: float = 0.0
    decide_ms: float = 0.0  # the strategy's decision (a classifier call's time included)
    upstream_ms: float = 0.0  # waiting on the backend: its slot, the request, each read of the answer
    # Time inside the router's own steps: the call's time from arrival to its record, less
    # decide_ms and upstream_ms (parsing, auth, rendering, writing to the client). Not the router's
    # overhead as a client sees it: that also holds the HTTP server's and client library's work
    # outside these steps, several times more (docs/speed.md; benchmarks/router_overhead.py).
    overhead_ms: float = 0.0
    stream: bool = False
    status: CallStatus = "ok"
    error: str | None = None
    forced: Side | None = None
    # The price-table key cost_usd was computed at: the served model's when the table prices it,
    # else the configured model's (BackendSpec.model, or its price_as); None for local or unpriced.
    priced_as: str | None = None


@dataclass(slots=True)
class RunTotals:
    run_id: str
    calls: int = 0  # the agent's calls; the router's own (classifier, embedding) are router_calls
    local_calls: int = 0
    cloud_calls: int = 0
    router_calls: int = 0
    local_prompt: int = 0
    local_completion: int = 0
    cloud_prompt: int = 0
    cloud_completion: int = 0
    cached: int = 0
    cloud_cached: int = 0  # of ``cached``, the cloud calls' (re-pricing charges only these)
    reasoning: int = 0
    cost_usd: float = 0.0
    router_ms: float = 0.0  # sum of decide_ms + overhead_ms
    statuses: dict[str, int] = field(default_factory=dict)  # CallStatus -> count
    # The run's records, in arrival order. The sums above always cover every call; a run that
    # keeps only a window of recent records (the standalone router's) lists just those here.
    records: list[LedgerRecord] = field(default_factory=list)

    @property
    def prompt(self) -> int:
        return self.local_prompt + self.cloud_prompt

    @property
    def completion(self) -> int:
        return self.local_completion + self.cloud_completion

    def count(self, rec: LedgerRecord) -> None:
        """Add one record to the sums (not to ``records``): the ledger keeps them as calls end."""
        # Tokens and cost include the router's own calls: they were spent for this cell.
        self.statuses[rec.status] = self.statuses.get(rec.status, 0) + 1
        self.cached += rec.cached_tokens
        self.reasoning += rec.reasoning_tokens
        self.cost_usd += rec.cost_usd
        self.router_ms += rec.decide_ms + rec.overhead_ms
        if rec.purpose != "agent":
            self.router_calls += 1
        else:
            self.calls += 1
            if rec.choice == "local":
                self.local_calls += 1
            else:
                self.cloud_calls += 1
        if rec.choice == "local":
            self.local_prompt += rec.prompt_tokens
            self.local_completion += rec.completion_tokens
        else:
            self.cloud_prompt += rec.prompt_tokens
            self.cloud_completion += rec.completion_tokens
            self.cloud_cached += rec.cached_tokens
