"""``python -m pytest_arena setup``: install agents (pinned, isolated) and the embedded model.

    python -m pytest_arena setup --agents aider,cline      # or --agents all
    python -m pytest_arena setup --agents all --root DIR   # default: $ARENA_AGENTS_DIR or ~/.cache/...
    python -m pytest_arena setup --embedded                # the offline local model

One progress line per step, each with the elapsed time; a summary line per agent with its
version and size on disk. Exit 1 with one message when something fails.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from pytest_arena.agents.installers import InstallError, directory_size, read_marker
from pytest_arena.agents.registry import get_agent, known_agents
from pytest_arena.paths import default_install_root
from pytest_arena.tasks.classes import get_task_class, task_classes

# The six real agents, in the order `--agents all` installs them (smallest first).
REAL_AGENTS = ("claude-code", "codex", "opencode", "cline", "aider", "mini-swe-agent")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pytest_arena setup",
        description="Install coding agents pinned and isolated (one venv or npm prefix each).",
    )
    parser.add_argument(
        "--agents", default="",
        help=f"comma-separated agent names or 'all' ({', '.join(REAL_AGENTS)})",
    )
    parser.add_argument(
        "--root", type=Path, default=None,
        help="install folder (default: $ARENA_AGENTS_DIR or ~/.cache/pytest-arena/agents)",
    )
    parser.add_argument("--embedded", action="store_true", help="also install the embedded local model")
    prepared = [c for c in task_classes() if c.setup is not None]  # the classes that declare a setup step
    parser.add_argument("--tasks", default="", choices=["", *(c.name for c in prepared)],
                        help="also prepare a task class's data: "
                        + "; ".join(f"{c.name} {c.setup_help}" for c in prepared))
    return parser


def _selected_agents(value: str) -> list[str]:
    names = [n.strip() for n in value.split(",") if n.strip()]
    if names == ["all"]:
        return list(REAL_AGENTS)
    unknown = [n for n in names if n not in known_agents()]
    if unknown:
        raise ValueError(
            f"unknown agent(s): {', '.join(unknown)}. Known: {', '.join(sorted(known_agents()))} or 'all'."
        )
    return names


def check_sandbox(log) -> str | None:
    """Log which sandbox agents and acceptance tests will use; the one-line fix when there is none."""
    from pytest_arena.sandbox.kinds import availability, preferred_kind

    kind = preferred_kind("agents")  # what sandbox.agents names unless a config opts out
    found = availability(kind.name)
    if found:
        log(f"sandbox: {kind.title} {kind.version()}: agents and acceptance tests run isolated "
            f"(workspace, private HOME and /tmp, the router as the only network peer)")
        return None
    return (f"{kind.title} {found.reason}: agents run only inside it. Install it with `{kind.install_hint}` "
            f"(or opt out per run with --arena-set sandbox.agents=none; rows then record it)")


def main(argv: list[str] | None = None) -> int:
    """Arguments are those after ``setup``; returns the process exit code."""
    args = _parser().parse_args(argv)
    try:
        agents = _selected_agents(args.agents)
    except ValueError as exc:
        print(f"setup: {exc}", file=sys.stderr)
        return 1
    if not agents and not args.embedded and not args.tasks:
        names = "|".join(c.name for c in task_classes() if c.setup is not None)
        print(f"setup: nothing to do. Pass --agents NAME[,NAME...] or --agents all, --embedded, "
              f"and/or --tasks {names}.",
              file=sys.stderr)
        return 1
    root = (args.root or default_install_root()).expanduser().resolve()
    start = time.monotonic()

    def log(line: str) -> None:
        print(f"[{time.monotonic() - start:7.1f}s] {line}", flush=True)

    log(f"install root: {root}")
    problem = check_sandbox(log)
    if problem:
        print(f"setup: {problem}", file=sys.stderr)
        return 1
    for name in agents:
        adapter = get_agent(name)
        try:
            adapter.install(root, log)
        except InstallError as exc:
            log(f"FAILED {exc}")
            print(f"setup: {name} could not be installed; see the message above. Other agents are unaffected.",
                  file=sys.stderr)
            return 1
        agent_dir = root / name
        marker = read_marker(agent_dir) or {}
        size = marker.get("size_bytes") or (directory_size(agent_dir) if agent_dir.exists() else 0)
        log(f"{name}: ready, version {adapter.version(root) or '-'}, {size / 1e6:.0f} MB in {agent_dir}")
    if args.embedded:
        from pytest_arena.sweep.services.embedded import install_embedded  # written with the embedded-model service

        try:
            install_embedded(log)
        except Exception as exc:  # noqa: BLE001 - any failure ends in one message
            log(f"FAILED embedded model: {exc}")
            return 1
    setup_step = get_task_class(args.tasks).setup if args.tasks else None
    if setup_step is not None:
        from pytest_arena.errors import ArenaError
        from pytest_arena.sweep.session import SHIPPED_TASKS

        try:
            setup_step(SHIPPED_TASKS, root, log)
        except ArenaError as exc:
            log(f"FAILED {args.tasks}: {exc}")
            return 1
    log("done")
    return 0
