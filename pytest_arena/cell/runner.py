"""Run one cell end to end: workspace → agent (through the router) → scoring → row."""
from __future__ import annotations

import logging
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pytest_arena.agents.base import AgentResult, AgentRunContext, AgentSandbox
from pytest_arena.agents.process import report_mismatch, tool_prefixes
from pytest_arena.agents.registry import get_agent
from pytest_arena.cell import handoff, provenance
from pytest_arena.cell import story as cell_story
from pytest_arena.cell.agent_tools import NO_TOOLS, AgentTools, agent_tools
from pytest_arena.cell.rows import (
    Artifacts,
    Latency,
    Leftovers,
    Provenance,
    Quality,
    Routing,
    Row,
    SandboxUse,
    Scoring,
    Tokens,
)
from pytest_arena.cell.watch import NO_WATCH, Watch
from pytest_arena.errors import AgentNotInstalled, ArenaError, SolutionError
from pytest_arena.outcomes import Outcome
from pytest_arena.router.contracts import RunSpec, RunTotals, ScriptedPlan
from pytest_arena.router.errors import RouterError
from pytest_arena.sandbox import leftovers, selfcheck
from pytest_arena.sandbox.base import SandboxKind
from pytest_arena.sandbox.kinds import Role, resolve_sandbox_kind
from pytest_arena.sandbox.run import Limits, RouterLink, sandbox_kind
from pytest_arena.scoring.env import env_root
from pytest_arena.scoring.env import prepare as prepare_scoring_env
from pytest_arena.scoring.records import ScoreResult
from pytest_arena.scoring.score import JUNIT_MAX_BYTES, score
from pytest_arena.sweep.cells import Cell
from pytest_arena.sweep.session import ArenaSession
from pytest_arena.tasks.base import DEFAULT_TEST_RUNNER, Task

log = logging.getLogger("pytest_arena")


@dataclass
class CellRun:
    row: Row
    message: str  # one line for the pytest report
    payload: str  # row, ledger records and artifacts for the controller (pytest_arena/cell/handoff.py)
    interrupted: BaseException | None = None  # Ctrl-C or --timeout: re-raised once the payload is attached


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def not_scored(reason: str) -> ScoreResult:
    """The verdict of a cell whose tests were not run for what the agent left: a fail it caused."""
    return ScoreResult(status="fail", tests_passed=0, tests_total=0, duration_s=0.0, junit_path=None,
                       sandbox="not run", failures=[], tampering=None, scoring_env=None, output="", reason=reason)


def over_limit_result(over: str) -> ScoreResult:
    """The verdict of a workspace over a limit: a fail the agent caused, its tests not run."""
    return not_scored(f"the workspace the agent left is over a limit ({over}): not scored; "
                      f"see the config's `limits` section")


ROW_PER_CALL_MAX = 200  # calls detailed in a row; calls.jsonl (and the ledger) keep every one


def per_call_backends(records: list) -> list[str]:
    """``call_<i>/<side>/<model>`` of the first ``ROW_PER_CALL_MAX`` calls, then one entry saying
    how many more ``calls.jsonl`` holds: a cell's row stays small however many calls it made."""
    out = [f"call_{r.seq}/{r.choice}/{r.model}" + ("" if r.purpose == "agent" else f"/{r.purpose}")
           for r in records[:ROW_PER_CALL_MAX]]
    if len(records) > ROW_PER_CALL_MAX:
        out.append(f"... {len(records) - ROW_PER_CALL_MAX} more calls: see calls.jsonl")
    return out


def populate_workspace(task: Task, workspace: Path) -> None:
    """The agent's workspace: the task's public files only. reference/ never enters it."""
    task.materialise(("workspace", "tests") if task.spec.tests_visible else ("workspace",), workspace)


def decide_outcome(scored: ScoreResult | None, agent: AgentResult | None, totals: RunTotals | None,
                   infra: str | None) -> tuple[Outcome, str]:
    """Pass iff the acceptance tests pass and nothing outside the system under test broke;
    otherwise the most specific reason: timeout > budget > truncated > crash > fail.

    A call refused for its content (ledger status ``rejected``: the provider's 400/413/422, such as
    a prompt over the model's context, or one of the router's bounds) is the agent's or the
    model's failure, not the harness's: the cell is measured (a ``fail`` that names the refusals
    when nothing more specific applies), never an infra_error left out of the pass rate."""
    statuses = totals.statuses if totals else {}
    if infra:
        return Outcome.INFRA_ERROR, infra
    if statuses.get("auth_error") or statuses.get("upstream_error"):
        errors = [r.error for r in (totals.records if totals else []) if r.status in ("auth_error", "upstream_error")]
        return Outcome.INFRA_ERROR, f"backend failed on {len(errors)} call(s): {errors[0] if errors else ''}"
    assert scored is not None
    if scored.status == "infra_error":
        return Outcome.INFRA_ERROR, f"scoring sandbox failed: {scored.reason}"
    if scored.status == "pass":
        late = (" after the agent was killed at its time limit"
                if agent is not None and agent.failure == "timeout" else "")
        return Outcome.PASS, f"{scored.tests_passed}/{scored.tests_total} tests passed{late}"
    tests = f"{scored.tests_passed}/{scored.tests_total} tests passed"
    if agent is not None and agent.failure == "timeout":
        return Outcome.TIMEOUT, f"agent ran past its time limit ({agent.reason or 'killed'}); {tests}"
    if statuses.get("timeout"):
        return Outcome.TIMEOUT, f"{statuses['timeout']} local call(s) hit the wall-time guard; {tests}"
    if statuses.get("budget_exceeded"):
        return (Outcome.BUDGET_EXCEEDED,
                f"cloud budget exhausted ({statuses['budget_exceeded']} call(s) refused); {tests}")
    if statuses.get("truncated"):
        return Outcome.TRUNCATED, f"{statuses['truncated']} local call(s) cut by the output cap; {tests}"
    if agent is not None and agent.failure == "agent_crash":
        return Outcome.AGENT_CRASH, f"agent crashed: {agent.reason or f'exit {agent.exit_code}'}; {tests}"
    if not scored.reason or scored.reason.startswith(tests):  # the scorer's reason names the counts
        failed = scored.reason or tests
    else:
        failed = f"{tests}: {scored.reason}"
    if statuses.get("rejected"):  # the refusals first: they are why the agent got no further
        first = next((r.error for r in (totals.records if totals else []) if r.status == "rejected" and r.error), "")
        first = first if len(first) <= 300 else first[:299] + "…"
        return Outcome.FAIL, f"{statuses['rejected']} call(s) rejected: {first}; {failed}"
    return Outcome.FAIL, failed


def sandbox_for(session: ArenaSession, role: Role) -> tuple[SandboxKind, SandboxUse]:
    """The kind ``sandbox.agents`` / ``sandbox.scoring`` means on this machine (``auto``: the
    strongest available), cleared by its self-check (pytest_arena/sandbox/selfcheck.py; cached),
    and what the row records of it. Raises (an infra_error, one line naming the config file, the
    field and the fix) when it cannot run here or its self-check found a wall it claims leaking."""
    where = str(session.config_path)
    kind = resolve_sandbox_kind(getattr(session.config.sandbox, role), role, where)
    check = selfcheck.require(kind, role, where)
    return kind, SandboxUse(kind=kind.name, version=check.version, **kind.guarantees.as_dict(),
                            selfcheck=check.checked_at)


def agent_sandbox_for(session: ArenaSession, adapter, workspace: Path, home: Path, router,
                      file_bytes: int | None = None, kind: SandboxKind | None = None,
                      tools: AgentTools = NO_TOOLS) -> AgentSandbox:
    """The cell's agent sandbox, of the kind ``sandbox.agents`` means (``kind``, when the cell
    resolved it already): its workspace and private HOME writable, its install and the task's
    test commands (``tools``, first on its PATH) read-only, the router (if any) as its only
    network peer. Refuses when that kind cannot run here (the user may opt out:
    ``sandbox.agents: none``) or its self-check refused it."""
    if kind is None:
        kind = sandbox_for(session, "agents")[0]
    home.mkdir(parents=True, exist_ok=True)
    link = None
    if router is not None:
        link = RouterLink(uds_path=router.uds_path, port=router.port)
    return AgentSandbox(kind=kind.name, writable=(workspace, home),
                        readonly=(*adapter.sandbox_paths(session.install_root), *tool_prefixes(), *tools.readonly),
                        router=link, file_bytes=file_bytes, path=(tools.folder,) if tools.folder else (),
                        test_commands=tools.names)


def run_cell(session: ArenaSession, cell: Cell, node_id: str, watch: Watch = NO_WATCH) -> CellRun:
    config = session.config
    task = session.registry.get(cell.task_id)
    adapter = get_agent(cell.agent)
    run_id = f"{config.variant_tag}-{uuid.uuid4().hex[:12]}"
    started_at = _now()
    t0 = time.monotonic()
    cell_dir = session.host_dir / "cells" / run_id  # on this host; handoff.pack sends it home
    (cell_dir / "logs").mkdir(parents=True)
    scratch = Path(tempfile.mkdtemp(prefix="arena-cell-"))
    workspace = scratch / "workspace"
    workspace.mkdir()
    home = scratch / "home"

    agent_result: AgentResult | None = None
    totals: RunTotals | None = None
    scored: ScoreResult | None = None
    infra: str | None = None
    agent_version = "unknown"
    backend_kinds: dict[str, str] = {}
    agent_ms = scoring_ms = 0
    router = None
    box: AgentSandbox | None = None
    interrupted: BaseException | None = None
    before: cell_story.Snapshot | None = None
    limits = config.limits.leftovers()
    seen: leftovers.Walk | None = None  # the workspace the agent left, scanned within the limits
    uses: dict[str, SandboxUse] = {}  # where the agent and the tests run: what the row records
    scoring_kind: str | None = None
    try:
        # Both kinds first: a kind that cannot run here, or that its self-check refuses, ends
        # the cell before the agent spends anything.
        agent_kind, uses["agent"] = sandbox_for(session, "agents")
        scorer, uses["scoring"] = sandbox_for(session, "scoring")
        scoring_kind = scorer.name
        populate_workspace(task, workspace)
        before = cell_story.snapshot(workspace, limits)  # patch.diff: the agent's change against this
        version = adapter.version(session.install_root)
        if version is None:
            raise AgentNotInstalled(
                f"agent {cell.agent} is not installed in {session.install_root}: "
                f"run `{adapter.install_command(session.install_root)}`")
        agent_version = version
        endpoints = None
        if adapter.uses_llm:
            local, cloud, classifier, embedder = session.services.backends_for(cell)
            backend_kinds = {"local": local.kind, "cloud": cloud.kind}
            scripted = None
            if "scripted" in (local.kind, cloud.kind):
                scripted = ScriptedPlan(
                    files={rel: content.decode("utf-8") for rel, content in task.files("reference").items()},
                    workspace=str(workspace))
            router = session.services.router()
            endpoints = router.register_run(RunSpec(
                run_id=run_id, strategy=cell.strategy, local=local, cloud=cloud,
                strategy_params=config.strategy_params(cell.strategy, dict(cell.strategy_params)),
                classifier=classifier, embedder=embedder,
                guards=config.guards(), cell_budget_usd=config.budget.cell_usd, seed=cell.seed, scripted=scripted,
                classifier_timeout_s=config.router.classifier_timeout_s, prompt_cache=config.router.prompt_cache,
                transcript_path=None if config.router.transcript == "off" else str(cell_dir / cell_story.TRANSCRIPT),
                transcript_bodies=config.router.transcript == "full"))
            watch.routed(run_id, router)  # live calls and cost, e.g. for the progress display
        timeout_s = config.benchmark.timeout_s or task.spec.timeout_s
        tools = agent_tools(task, session.install_root, workspace, scratch / "tools")
        box = agent_sandbox_for(session, adapter, workspace, home, router, limits.file_bytes, agent_kind, tools)
        ctx = AgentRunContext(task=task, workspace=workspace, prompt=task.prompt, endpoints=endpoints,
                              seed=cell.seed, timeout_s=timeout_s, home=home, log_dir=cell_dir / "logs",
                              install_root=session.install_root, sandbox=box)
        a0 = time.monotonic()
        try:
            agent_result = adapter.run(ctx)
        finally:
            agent_ms = int((time.monotonic() - a0) * 1000)
            if router is not None:
                totals = router.finish_run(run_id)
                if router.fatal_error:
                    session.stop_reason = router.fatal_error
        s0 = time.monotonic()
        seen = leftovers.walk(workspace, limits)
        if seen.over is not None:  # the agent's doing: counts against the cell, never scored
            scored = over_limit_result(seen.over)
        else:
            sandbox_limits = Limits(wall_s=config.scoring.timeout_s or task.spec.scoring_timeout_s,
                                    memory_mb=config.scoring.memory_mb, max_procs=config.scoring.max_procs)
            try:
                task.record_solution(workspace, cell_dir, model=f"{cell.agent}+{cell.strategy_point}")
            except SolutionError as exc:  # the agent's doing: a fail, not scored
                scored = not_scored(f"the agent's solution could not be recorded: {exc}")
            else:
                scored = score(task, workspace, scratch / "scoring", limits=sandbox_limits,
                               env=task.scoring_env(prepare_scoring_env(env_root(session.install_root))),
                               leftover_limits=limits, kind=scoring_kind)
        scoring_ms = int((time.monotonic() - s0) * 1000)
        if scored.junit_path:
            leftovers.copy_file(Path(scored.junit_path), cell_dir / "junit.xml", JUNIT_MAX_BYTES)
    except (ArenaError, RouterError) as exc:
        infra = str(exc)
    except Exception as exc:  # a harness bug must still leave a row behind
        infra = f"harness error: {exc.__class__.__name__}: {exc}"
    except BaseException as exc:  # Ctrl-C or pytest-timeout's --timeout: the cell still gets its row
        interrupted = exc
        infra = f"interrupted: {exc.__class__.__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
    finally:
        try:
            if workspace.exists():
                # Links are copied as links (text: nothing on this side follows them); FIFOs,
                # sockets and devices never are; nothing past the limits is. The scan made after
                # the agent (if it got that far) is the copy's walk too.
                seen = leftovers.copy_tree(workspace, cell_dir / "workspace", limits, walked=seen)
                if before is not None:
                    cell_story.write_patch(cell_dir, before, workspace, limits)
        except Exception as exc:  # noqa: BLE001 - the cell keeps its row whatever its leftovers are
            log.warning("%s: the workspace could not be kept: %s", node_id, exc)
            if infra is None and scored is None:
                infra = f"harness error: the workspace could not be kept: {type(exc).__name__}: {exc}"
        leftovers.remove_tree(scratch)

    outcome, reason = decide_outcome(scored, agent_result, totals, infra)
    reason = leftovers.printable(reason)  # agent- and model-made text: no escape sequence reaches a terminal
    if seen is not None and seen.notes:
        (cell_dir / cell_story.NOT_COPIED).write_text("\n".join(seen.notes) + "\n", encoding="utf-8")
    if interrupted is not None and "timeout" in type(interrupted).__name__.lower() + str(interrupted).lower():
        outcome, reason = Outcome.TIMEOUT, f"stopped by pytest's --timeout: {str(interrupted).strip()[:200]}"
    mismatch = None
    if agent_result is not None and totals is not None:
        mismatch = report_mismatch(cell.agent, agent_result.reported, totals.prompt, totals.completion)
        if mismatch:
            log.warning("%s: %s (cell %s)", node_id, mismatch, cell_dir)
    row = assemble_row(
        session, cell, node_id, run_id=run_id, started_at=started_at, wall_ms=int((time.monotonic() - t0) * 1000),
        outcome=outcome, reason=reason,
        prov=provenance.collect(scoring_kind or sandbox_kind(), config.pricing.table, session.worker),
        totals=totals, scored=scored, agent_result=agent_result, agent_version=agent_version,
        backend_kinds=backend_kinds, box=box, agent_ms=agent_ms, scoring_ms=scoring_ms, mismatch=mismatch,
        seen=seen, uses=uses)
    cell_story.write_calls(cell_dir, totals.records if totals else [])
    cell_story.write_test_output(cell_dir, scored, infra)
    row, payload = handoff.pack(row, totals.records if totals else [], cell_dir, session.artifacts_cap_bytes)
    return CellRun(row=row, message=reason, payload=payload, interrupted=interrupted)


def _runner_fields(scored: ScoreResult) -> dict[str, Any]:
    """A non-pytest runner's name and the cross-checks that applied; nothing for pytest, whose
    rows stay as they were before runners existed."""
    if scored.runner == DEFAULT_TEST_RUNNER:
        return {}
    return {"runner": scored.runner, "checks": list(scored.checks)}


def crashed_cell_row(session: ArenaSession, cell: Cell, node_id: str, prov: Provenance, reason: str) -> Row:
    """The infra_error row the controller writes for a cell whose worker died under it."""
    now = _now()
    return assemble_row(
        session, cell, node_id, run_id=f"{session.config.variant_tag}-{uuid.uuid4().hex[:12]}", started_at=now,
        wall_ms=0, outcome=Outcome.INFRA_ERROR, reason=reason, prov=prov, totals=None, scored=None,
        agent_result=None, agent_version="unknown", backend_kinds={}, box=None, agent_ms=0, scoring_ms=0,
        mismatch=None).model_copy(update={"artifacts": Artifacts(stored="none", host=prov.host, path=None,
                                                                 compressed_bytes=0)})


def assemble_row(session: ArenaSession, cell: Cell, node_id: str, *, run_id: str, started_at: str, wall_ms: int,
                 outcome: Outcome, reason: str, prov: Provenance, totals: RunTotals | None,
                 scored: ScoreResult | None, agent_result: AgentResult | None, agent_version: str,
                 backend_kinds: dict[str, str], box: AgentSandbox | None, agent_ms: int, scoring_ms: int,
                 mismatch: str | None, seen: leftovers.Walk | None = None,
                 uses: dict[str, SandboxUse] | None = None) -> Row:
    """The cell's row. ``uses``: the sandboxes resolved for it (recorded where something ran)."""
    config = session.config
    task = session.registry.get(cell.task_id)
    totals = totals or RunTotals(run_id=run_id)
    tokens = Tokens(
        prompt=totals.prompt, completion=totals.completion, cached=totals.cached, reasoning=totals.reasoning,
        local_prompt=totals.local_prompt, local_completion=totals.local_completion,
        cloud_prompt=totals.cloud_prompt, cloud_completion=totals.cloud_completion, cloud_cached=totals.cloud_cached)
    quality = Quality(
        functional_pass=None if scored is None or scored.status == "infra_error" else scored.status == "pass",
        tests_passed=scored.tests_passed if scored and scored.status != "infra_error" else None,
        tests_total=scored.tests_total if scored and scored.status != "infra_error" else None,
        composite=(scored.tests_passed / scored.tests_total) if scored and scored.tests_total else (
            0.0 if scored and scored.status != "infra_error" else None),
        resolved=((scored.status == "pass")
                  if task.reports_resolved and scored and scored.status != "infra_error" else None))
    routing = Routing(
        total_calls=totals.calls, local_calls=totals.local_calls, cloud_calls=totals.cloud_calls,
        router_calls=totals.router_calls,
        per_call_backends=per_call_backends(totals.records),
        statuses=dict(totals.statuses))
    return Row(
        task_id=cell.task_id, category=cell.task_class, route=cell.agent,
        hardware_profile_ref=provenance.hardware_profile_ref(prov),
        tokens=tokens,
        latency=Latency(wall_ms=wall_ms,
                        per_call_ms=[int(r.upstream_ms) for r in totals.records[:ROW_PER_CALL_MAX]],
                        agent_ms=agent_ms, scoring_ms=scoring_ms, router_ms=round(totals.router_ms, 3)),
        quality=quality, routing=routing,
        output_ref=f"cells/{cell.slug}",
        started_at=started_at, finished_at=_now(),
        error=None if outcome is Outcome.PASS else reason,
        variant=config.variant_tag, cloud_model_id=cell.cloud_model, local_model_id=cell.local_model,
        router_classifier_model_id=config.models.router_classifier, router_strategy=cell.strategy_point,
        strategy_params=dict(cell.strategy_params),
        seed=cell.seed, config_sha=session.config_sha, measured_sha=session.measured_sha(cell),
        outcome=outcome, expect=cell.expect, node_id=node_id, cell_key=cell.key, run_id=run_id,
        shape=task.shape, agent_version=agent_version,
        agent_exit_code=agent_result.exit_code if agent_result else None,
        agent_timed_out=agent_result is not None and agent_result.failure == "timeout",
        agent_reported=agent_result.reported if agent_result else None,
        usage_mismatch=mismatch,
        leftovers=None if seen is None else Leftovers(
            files=len(seen.entries), bytes=seen.total_bytes, over_limit=seen.over, notes=seen.notes[:50]),
        cost_usd=round(totals.cost_usd, 8), prompt_cache=config.router.prompt_cache,
        backend_kinds=backend_kinds, provenance=prov,
        sandbox={"agent": box.kind if box else "not started",
                 "scoring": scored.sandbox if scored else "not run"},
        agent_test_commands=list(box.test_commands) if box else None,
        sandbox_guarantees={role: use for role, use in (uses or {}).items()
                            if (role == "agent" and box is not None and box.kind == use.kind)
                            or (role == "scoring" and scored is not None and scored.sandbox == use.kind)},
        scoring=Scoring(tampering_detected=scored.tampering is not None, tampering=scored.tampering,
                        env=scored.scoring_env, **_runner_fields(scored))
        if scored and scored.status != "infra_error" else None)
