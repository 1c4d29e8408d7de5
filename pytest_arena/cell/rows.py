"""The result row: one JSON object per cell in raw.jsonl.

A superset of the original project's row (same keys, same nesting), so its analysis habits and
data still apply, plus our own fields. Every field is filled by the harness.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from pytest_arena.outcomes import Outcome

ROW_SCHEMA_VERSION = 1


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Tokens(_Strict):
    prompt: int = 0
    completion: int = 0
    cached: int = 0
    reasoning: int = 0
    local_prompt: int = 0
    local_completion: int = 0
    cloud_prompt: int = 0
    cloud_completion: int = 0
    cloud_cached: int = 0  # the cached prompt tokens of cloud calls (``cached`` counts every call's)


class Latency(_Strict):
    wall_ms: int  # whole cell: workspace + agent + scoring
    per_call_ms: list[int]  # upstream time of each LLM call, from the ledger
    agent_ms: int  # the agent subprocess alone
    scoring_ms: int  # the acceptance-test run alone
    router_ms: float  # time the router itself added (decisions + overhead), summed over calls


class Quality(_Strict):
    functional_pass: bool | None  # None only for infra_error before tests could run
    tests_passed: int | None
    tests_total: int | None
    composite: float | None  # tests_passed / tests_total
    resolved: bool | None = None  # real-prs: every FAIL_TO_PASS and PASS_TO_PASS test passed (SWE-bench's rule)


class Scoring(_Strict):
    """How the acceptance-test report was checked (see pytest_arena/scoring/score.py)."""

    tampering_detected: bool  # a cross-check caught a report rewritten from inside the pytest process
    tampering: str | None  # what it caught
    env: str | None  # key of the clean interpreter environment pytest ran from
    # The test runner of a task that names one (task.yaml `runner`: go, rust, javascript, cpp, java);
    # absent from a pytest task's row, which is as it was before tasks could name a runner.
    runner: str | None = None
    # The cross-checks that applied (restored-tests, canaries, reference-tests, exit-code; see
    # docs/howto/task-test-runners.md); absent with `runner`: pytest's are restored-tests, canaries,
    # pristine-collection, exit-code.
    checks: list[str] | None = None

    @model_serializer(mode="wrap")
    def _pytest_unsaid(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        for name in ("runner", "checks"):
            if data.get(name) is None:
                data.pop(name, None)
        return data


class Routing(_Strict):
    total_calls: int = 0
    local_calls: int = 0
    cloud_calls: int = 0
    router_calls: int = 0  # the router's own classifier / embedding calls (tokens and cost included above)
    per_call_backends: list[str] = Field(default_factory=list)  # "call_<i>/<choice>/<model>"
    statuses: dict[str, int] = Field(default_factory=dict)  # ledger call status -> count


class Provenance(_Strict):
    harness_version: str
    python: str
    platform: str
    cpu: str
    cpus: int
    memory_gb: float
    git_sha: str | None  # of the pytest-arena checkout, when it is one
    pricing_sha256: str
    sandbox: str  # the scoring kind this machine chose (its name: pytest_arena/sandbox/kinds.py)
    host: str  # hostname of the machine that ran the cell
    worker: str  # "main", or the xdist worker id (the --tx id) that ran it


Level = Literal["hard", "soft", "absent"]  # pytest_arena/sandbox/base.py Level


class SandboxUse(_Strict):
    """One sandbox a cell ran in: the kind, the version of what enforced it, and each wall's level
    as it held: the kind's own statement, which its self-check on this machine (``selfcheck``, when
    it ran; pytest_arena/sandbox/selfcheck.py) found it keeps."""

    kind: str  # the sandbox kind's name (`seatbelt`, `container`, `none`, ...)
    version: str | None = None  # the version of what enforced it (None: the kind does not say)
    # Each wall: hard (the kernel enforces it on everything the command starts), soft (enforced, but
    # escapable by a determined command) or absent.
    files: Level  # nothing of the host's files is visible but the system and the paths named
    network: Level  # no network
    router_link: Level  # the router as the one network peer
    memory: Level  # the memory cap
    processes: Level  # the process-count cap
    wall_time: Level  # everything the command started is gone when its time is up
    selfcheck: str | None = None  # when the self-check that cleared the kind ran (UTC); None: not checked


class Artifacts(_Strict):
    """Where the cell folder (workspace, logs, junit.xml, transcript) ended up."""

    # results: under output_ref; host: left on ``host`` at ``path``; none: never made
    stored: Literal["results", "host", "none"]
    host: str
    path: str | None
    compressed_bytes: int
    # What the controller did not make in the cell folder, one line each (a symlink, a FIFO, a
    # member refused by tarfile's data filter): what the agent left, recorded, never followed
    not_extracted: list[str] = []


class Leftovers(_Strict):
    """What the agent left in its workspace, as the harness saw it (pytest_arena/sandbox/leftovers.py)."""

    files: int  # files, links and folders seen (up to the limit)
    bytes: int  # bytes of regular files seen
    over_limit: str | None = None  # the limit reached: the cell failed and was not scored
    notes: list[str] = []  # links and special files not copied, names escaped (at most 50)


class Row(_Strict):
    # ---- the original project's fields, same names ----
    task_id: str
    category: str  # task class: puzzles | refactors
    route: str  # the agent
    hardware_profile_ref: str
    tokens: Tokens
    latency: Latency
    quality: Quality
    routing: Routing
    output_ref: str  # cell folder, relative to the results folder (workspace, logs, junit.xml)
    started_at: str
    finished_at: str
    error: str | None  # a human-readable reason when outcome is not pass
    variant: str  # config variant_tag
    cloud_model_id: str
    local_model_id: str
    router_classifier_model_id: str
    router_strategy: str  # the operating point: `cascade`, or `cascade@threshold=15` in a parameter sweep
    seed: int
    config_sha: str
    # ---- ours ----
    schema_version: int = ROW_SCHEMA_VERSION
    # sha256 of the settings this cell's result depends on (pytest_arena/sweep/measured.py): resume
    # re-runs a cell whose latest row has another one
    measured_sha: str | None = None
    outcome: Outcome
    expect: Literal["pass", "fail"]
    node_id: str
    cell_key: str  # stable identity of the cell (independent of node id formatting)
    run_id: str
    shape: str
    agent_version: str
    agent_exit_code: int | None
    # The agent was killed at its time limit. Its outcome is still ``pass`` when its files pass
    # (reports count those passes apart); otherwise the outcome is ``timeout``.
    agent_timed_out: bool = False
    agent_reported: dict | None  # the agent's own usage/cost report, where it gives one
    strategy_params: dict[str, int | float] = {}  # swept param values of the operating point (full dotted names)
    usage_mismatch: str | None = None  # set when the agent's own token report and the ledger disagree widely
    cost_usd: float  # from the ledger, priced with the pricing table at call time
    # router.prompt_cache: the ledger priced cloud cached tokens at the cache-read rate (true) or as
    # input (false); re-pricing applies the same rule, so a row's cost under its own scenario is this one
    prompt_cache: bool = False
    backend_kinds: dict[str, str]  # {"local": "embedded", "cloud": "scripted"}: harness checks are visible
    provenance: Provenance
    # Where the agent and the acceptance tests ran: {"agent": <kind>, "scoring": <kind>}, each a
    # sandbox kind's name (pytest_arena/sandbox/kinds.py; "not started" / "not run" when nothing
    # ran there). Every report marks a row whose kind does not wall off files and network.
    sandbox: dict[str, str] = {}
    # Where the agent and the tests ran, with each wall's level as it held ({"agent": SandboxUse,
    # "scoring": SandboxUse}, only where something ran): a reader tells a Seatbelt cell from a
    # bubblewrap cell. Rows written before it have none (the reports then read what the kind states here).
    sandbox_guarantees: dict[str, SandboxUse] = {}
    # The commands the harness put first on the agent's PATH to run its task's tests with
    # (pytest_arena/cell/agent_tools.py): ["pytest"], ["jest"], or [] where the system's toolchain
    # is all (go, cargo, g++, javac). None: the agent never started, or a row from before they existed.
    agent_test_commands: list[str] | None = None
    scoring: Scoring | None = None  # None when the acceptance tests never ran
    artifacts: Artifacts | None = None  # filled when the row is handed to the controller
    leftovers: Leftovers | None = None  # the workspace the agent left, as scanned after it ended
