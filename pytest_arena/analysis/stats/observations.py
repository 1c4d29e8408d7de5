"""Rows in, observations out: one flat record per result row, for ours and the original format.

Our rows (``pytest_arena/cell/rows.py``) carry ``outcome``, ``cell_key``, ``cost_usd``,
``backend_kinds`` and ``expect``. The original project's rows (ORIGINAL.md 6.1) carry none of
these; for them:

- category ``A``/``D``/``B`` (v1.4.0-v1.4.2 data) maps to ``puzzles``/``refactors``/``real-prs``;
- the outcome is derived from ``quality.functional_pass`` and ``error``:
  tests passed -> ``pass`` (the original still scored quality when an agent exited non-zero);
  otherwise an error naming a timeout -> ``timeout``, an agent that never ran ("not installed",
  "unsupported") -> ``infra_error``, any other error -> ``agent_crash``;
  tests failed without error -> ``fail``; never graded without error -> ``infra_error``;
- a null seed becomes a replicate label ``rep<k>`` (k-th row of that cell and task in file
  order), so replicates still pair up across strategies by position;
- the cost is re-priced from token counts under the primary scenario (the original never
  stamped which cloud model served a row), cached tokens at the cache-read rate as it did.

A cell is (class, agent, strategy, local model, cloud model); ``unrecorded`` stands for a model
id the row does not carry.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Literal, overload

from pytest_arena.outcomes import Outcome
from pytest_arena.sandbox.kinds import isolates

UNRECORDED = "unrecorded"
HARNESS_CHECK_AGENTS = frozenset({"oracle", "null"})
LEGACY_CATEGORIES = {"A": "puzzles", "D": "refactors", "B": "real-prs"}
_NOT_RUN_MARKERS = ("not_installed", "not installed", "unsupported")
_OUTCOMES = {o.value for o in Outcome}
_PASS, _FAIL, _INFRA = Outcome.PASS.value, Outcome.FAIL.value, Outcome.INFRA_ERROR.value


class RowFormatError(ValueError):
    """A row that cannot be read; the message names the field."""


@dataclass(frozen=True, slots=True, order=True)
class CellId:
    task_class: str
    agent: str
    strategy: str
    local_model: str
    cloud_model: str

    @property
    def key(self) -> str:
        return "::".join((self.task_class, self.agent, self.strategy, self.local_model, self.cloud_model))

    @property
    def group(self) -> GroupId:
        return GroupId(self.task_class, self.agent, self.local_model, self.cloud_model)

    def as_dict(self) -> dict:
        return {"class": self.task_class, "agent": self.agent, "strategy": self.strategy,
                "local_model": self.local_model, "cloud_model": self.cloud_model}


@dataclass(frozen=True, slots=True, order=True)
class GroupId:
    """Strategies are compared within a group: same class, agent, local and cloud model."""

    task_class: str
    agent: str
    local_model: str
    cloud_model: str

    @property
    def key(self) -> str:
        return "::".join((self.task_class, self.agent, self.local_model, self.cloud_model))

    @property
    def title(self) -> str:
        return f"{self.task_class} · {self.agent} · local {self.local_model} · cloud {self.cloud_model}"

    def as_dict(self) -> dict:
        return {"class": self.task_class, "agent": self.agent,
                "local_model": self.local_model, "cloud_model": self.cloud_model}


@dataclass(slots=True)
class Tokens:
    prompt: int = 0
    completion: int = 0
    cached: int = 0
    local_prompt: int = 0
    local_completion: int = 0
    cloud_prompt: int = 0
    cloud_completion: int = 0
    cloud_cached: int = 0  # ours since the field exists; 0 where the row does not split ``cached``
    # cloud prompt tokens a scenario prices at the cache-read rate: ours, the cloud calls' cached
    # tokens when the ledger priced cache reads (row ``prompt_cache``), else none; the original's
    # rows, every cached token (its compute_row_cost)
    cache_reads: int = 0

    @property
    def local_total(self) -> int:
        return self.local_prompt + self.local_completion

    @property
    def cloud_total(self) -> int:
        return self.cloud_prompt + self.cloud_completion


@dataclass(slots=True)
class Observation:
    source: str  # "file:line" (or "row <i>" for rows handed over in memory)
    cell: CellId
    task_id: str
    seed: int | None
    seed_key: str  # str(seed), or "rep<k>" for a null seed
    outcome: str
    functional_pass: bool | None
    error: str | None
    expect: str  # "pass" | "fail": what a correct harness produces (null agent: "fail")
    harness_check: bool
    ledger_cost_usd: float | None  # ours: priced at call time; original rows: None
    tokens: Tokens
    total_calls: int
    local_calls: int
    cloud_calls: int
    wall_ms: float | None
    cell_key: str | None  # ours: identity for superseding re-runs
    original_format: bool
    raw_category: str  # as written in the row (the legacy bootstrap keys on it)
    raw_strategy: object  # as written (None, "" and "cascade" all differ in the legacy key)
    cost_usd: float = 0.0  # filled by the analysis: ledger cost, else re-priced (primary scenario)
    # the agent or the tests ran in a kind that does not wall off files and network (row.sandbox): marked
    unsandboxed: bool = False
    measured_sha: str | None = None  # ours: the settings the cell was measured under (pytest_arena/sweep/measured.py)
    agent_version: str | None = None  # ours: the agent's version as the row records it

    @property
    def counted(self) -> bool:
        """In the pass-rate denominator: every outcome except infra_error."""
        return self.outcome != _INFRA

    @property
    def passed(self) -> bool:
        return self.outcome == _PASS

    @property
    def legacy_error(self) -> bool:
        """What the original's bootstrap treated as an error row (dropped before grouping).

        Original rows: a truthy ``error``. Ours set ``error`` to the reason of every non-pass
        outcome, so here it means the run did not end in a scored pass/fail.
        """
        if self.original_format:
            return bool(self.error)
        return self.outcome not in (_PASS, _FAIL)


def _int(part: dict, key: str, where: str) -> int:
    value = part.get(key)
    if type(value) is int:  # the common case first: this runs eleven times per row
        return value
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RowFormatError(f"field '{where}.{key}' must be a number, got {value!r}")
    return int(value)


_TOKEN_FIELDS = ("prompt", "completion", "cached", "local_prompt", "local_completion", "cloud_prompt",
                 "cloud_completion", "cloud_cached")  # Tokens' field order


@overload
def _text(row: dict, name: str, *, required: Literal[True] = True) -> str: ...


@overload
def _text(row: dict, name: str, *, required: bool) -> str | None: ...


def _text(row: dict, name: str, *, required: bool = True) -> str | None:
    value = row.get(name)
    if value is None or value == "":
        if required:
            raise RowFormatError(f"missing field {name!r}")
        return None
    return str(value)


def _derive_original_outcome(functional_pass: bool | None, error: str | None) -> str:
    if functional_pass:
        return Outcome.PASS.value
    if error:
        lowered = error.lower()
        if "timeout" in lowered:
            return Outcome.TIMEOUT.value
        if any(marker in lowered for marker in _NOT_RUN_MARKERS):
            return Outcome.INFRA_ERROR.value
        return Outcome.AGENT_CRASH.value
    if functional_pass is False:
        return Outcome.FAIL.value
    return Outcome.INFRA_ERROR.value  # never graded (e.g. scoring unavailable)


def observe(row: dict, source: str) -> Observation:
    """One row (either format) to an observation; RowFormatError names what is wrong."""
    if not isinstance(row, dict):
        raise RowFormatError(f"a row must be a JSON object, got {type(row).__name__}")
    task_id = _text(row, "task_id")
    agent = _text(row, "route")
    raw_category = _text(row, "category")
    raw_strategy = row.get("router_strategy")  # kept as written: the legacy cell key uses it
    tokens_raw = row.get("tokens") or {}
    latency = row.get("latency") or {}
    quality = row.get("quality") or {}
    routing = row.get("routing") or {}
    for name, part in (("tokens", tokens_raw), ("latency", latency), ("quality", quality), ("routing", routing)):
        if not isinstance(part, dict):
            raise RowFormatError(f"field {name!r} must be an object")
    tokens = Tokens(*[_int(tokens_raw, f, "tokens") for f in _TOKEN_FIELDS])
    functional_pass = quality.get("functional_pass")
    if functional_pass is not None and not isinstance(functional_pass, bool):
        raise RowFormatError(f"field 'quality.functional_pass' must be true/false/null, got {functional_pass!r}")
    error = row.get("error") or None
    seed = row.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise RowFormatError(f"field 'seed' must be an integer or null, got {seed!r}")
    wall = latency.get("wall_ms")
    original_format = "outcome" not in row
    if original_format:
        outcome = _derive_original_outcome(functional_pass, error)
        expect = "pass"
        ledger_cost = None
        backend_kinds: dict = {}
        tokens.cache_reads = tokens.cached
    else:
        prompt_cache = row.get("prompt_cache", False)
        if not isinstance(prompt_cache, bool):
            raise RowFormatError(f"field 'prompt_cache' must be true or false, got {prompt_cache!r}")
        tokens.cache_reads = tokens.cloud_cached if prompt_cache else 0
        outcome = row["outcome"]
        if outcome not in _OUTCOMES:
            raise RowFormatError(f"field 'outcome' must be one of {sorted(_OUTCOMES)}, got {outcome!r}")
        expect = row.get("expect") or "pass"
        if expect not in ("pass", "fail"):
            raise RowFormatError(f"field 'expect' must be 'pass' or 'fail', got {expect!r}")
        cost = row.get("cost_usd")
        ledger_cost = None if cost is None else float(cost)
        backend_kinds = row.get("backend_kinds") or {}
        if not isinstance(backend_kinds, dict):
            raise RowFormatError("field 'backend_kinds' must be an object like {\"local\": \"ollama\"}")
    harness_check = agent in HARNESS_CHECK_AGENTS or "scripted" in backend_kinds.values()
    cell = CellId(
        task_class=LEGACY_CATEGORIES.get(raw_category, raw_category),
        agent=agent,
        strategy=str(raw_strategy) if raw_strategy else UNRECORDED,
        local_model=_text(row, "local_model_id", required=False) or UNRECORDED,
        cloud_model=_text(row, "cloud_model_id", required=False) or UNRECORDED,
    )
    return Observation(
        source=source, cell=cell, task_id=task_id, seed=seed,
        seed_key="" if seed is None else str(seed),
        outcome=outcome, functional_pass=functional_pass, error=error, expect=expect,
        harness_check=harness_check, ledger_cost_usd=ledger_cost, tokens=tokens,
        total_calls=_int(routing, "total_calls", "routing"),
        local_calls=_int(routing, "local_calls", "routing"),
        cloud_calls=_int(routing, "cloud_calls", "routing"),
        wall_ms=None if wall is None else float(_int(latency, "wall_ms", "latency")),
        cell_key=row.get("cell_key") if not original_format else None,
        original_format=original_format, raw_category=raw_category, raw_strategy=raw_strategy,
        unsandboxed=_unsandboxed(row.get("sandbox"), row.get("sandbox_guarantees")),
        measured_sha=row.get("measured_sha") if not original_format else None,
        agent_version=_version(row.get("agent_version")) if not original_format else None,
    )


def _version(value: object) -> str | None:
    return str(value) if value not in (None, "", "unknown") else None


def _unsandboxed(box: object, held: object = None) -> bool:
    """A kind that did not wall off files and network: as the row recorded the walls that held
    (``sandbox_guarantees``), else as the kind states here (a name no kind has here counts as one);
    rows before the sandbox field (and the original's) carry none: not marked."""
    if not isinstance(box, dict):
        return False
    recorded = held if isinstance(held, dict) else {}
    return any(name not in (None, "not started", "not run")
               and not isolates(str(name), _mapping(recorded.get(role)))
               for role, name in (("agent", box.get("agent")), ("scoring", box.get("scoring"))))


def _mapping(value: object) -> dict | None:
    return value if isinstance(value, dict) else None


@dataclass(slots=True)
class ObservationSet:
    observations: list[Observation]  # file order, superseded rows removed
    superseded: list[Observation]  # earlier rows of a cell_key that a later row replaced
    warnings: list[str]


def _run_file(obs: Observation) -> str:
    """The file a row came from ("file:line" sources); rows handed over in memory share one."""
    return obs.source.rsplit(":", 1)[0] if ":" in obs.source else ""


def observe_all(rows: list[dict]) -> ObservationSet:
    """Read every row; within one file the last row of a ``cell_key`` wins (a re-run: resume,
    --lf); null seeds get replicate labels.

    The same ``cell_key`` in two files is two runs of the cell: both count, pooled as repeats
    (the later file's row gets the seed label ``<seed>/r2``, so pairs still match within a run),
    and a warning names the files and points at ``--compare``.
    """
    parsed: list[Observation] = []
    warnings: list[str] = []
    for index, row in enumerate(rows):
        source = row.get("_source", f"row {index + 1}") if isinstance(row, dict) else f"row {index + 1}"
        try:
            parsed.append(observe(row, source))
        except RowFormatError as exc:
            warnings.append(f"{source}: skipped row: {exc}")
    last_index: dict[tuple[str, str], int] = {}
    for i, obs in enumerate(parsed):
        if obs.cell_key:
            last_index[(_run_file(obs), obs.cell_key)] = i
    kept, superseded = [], []
    for i, obs in enumerate(parsed):
        if obs.cell_key and last_index[(_run_file(obs), obs.cell_key)] != i:
            superseded.append(obs)
        else:
            kept.append(obs)
    warnings += _label_repeats(kept)
    replicate: Counter = Counter()
    for obs in kept:
        if obs.seed is None:
            slot = (obs.cell, obs.task_id)
            obs.seed_key = f"rep{replicate[slot]}"
            replicate[slot] += 1
    return ObservationSet(kept, superseded, warnings)


def _label_repeats(kept: list[Observation]) -> list[str]:
    """Cell keys found in several files: label the later files' rows as repeats; one warning per
    pair of files."""
    files_of: dict[str, list[str]] = {}
    for obs in kept:
        if obs.cell_key:
            files = files_of.setdefault(obs.cell_key, [])
            if _run_file(obs) not in files:
                files.append(_run_file(obs))
    shared: dict[tuple[str, str], list[str]] = {}
    for obs in kept:
        files = files_of.get(obs.cell_key or "", [])
        k = files.index(_run_file(obs)) if len(files) > 1 else 0
        if k:
            assert obs.cell_key  # only keyed rows are in files_of
            obs.seed_key = f"{obs.seed_key}/r{k + 1}"
            shared.setdefault((files[0], files[k]), []).append(obs.cell_key)
    return [f"{first} and {other} both have {len(keys)} cell(s) (e.g. {keys[0]}): pooled as repeats, both rows "
            f"count; to compare the two runs instead, use `python -m pytest_arena analyze A B --compare`"
            for (first, other), keys in shared.items()]
