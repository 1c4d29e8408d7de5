"""``python -m pytest_arena setup``: install agents (pinned, isolated) and the embedded model.

    python -m pytest_arena setup --agents aider,cline      # or --agents all
    python -m pytest_arena setup --agents all --root DIR   # default: $ARENA_AGENTS_DIR or ~/.cache/...
    python -m pytest_arena setup --embedded                # the offline local model
    python -m pytest_arena setup --runners go,javascript   # test runners of non-Python tasks (or all)
    python -m pytest_arena setup --check-sandbox           # every sandbox kind here: claimed vs held
    python -m pytest_arena setup --container-image         # the container sandbox's image (podman)

One progress line per step, each with the elapsed time; a summary line per agent with its
version and size on disk. Exit 1 with one message when something fails.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

from pytest_arena.agents.installers import InstallError, directory_size, read_marker
from pytest_arena.agents.registry import get_agent, known_agents
from pytest_arena.errors import ArenaError
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
    parser.add_argument("--container-image", action="store_true",
                        help="build the container sandbox's image (no registry; $ARENA_CONTAINER_DIR or "
                             "~/.cache/pytest-arena/container) and check that podman runs it")
    parser.add_argument("--check-sandbox", action="store_true",
                        help="run the sandbox self-check in every sandbox kind on this machine, afresh, and print "
                             "each wall's level claimed against held (docs/sandboxes.md); exit 1 if one is refused")
    parser.add_argument("--runners", default="",
                        help="check (and install what npm provides: jest) the test runners of tasks in other "
                             "languages, comma-separated or 'all': go, rust, javascript, cpp, java; system "
                             "packages are named for you to install (docs/howto/task-test-runners.md)")
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


def container_image(log: Callable[[str], None]) -> str | None:
    """Build the container kind's image and start a container from it; the one-line problem when
    podman cannot run it here (docs/howto/run-in-containers.md)."""
    from pytest_arena.sandbox.container import ContainerKind, build_image

    build_image(log)
    kind = ContainerKind()
    found = kind.available()
    if not found:
        return f"{kind.title} {found.reason} ({kind.install_hint})"
    log(f"sandbox: {kind.title} {kind.version()} runs the image: sandbox.agents / sandbox.scoring may name "
        f"{kind.name!r}, and auto picks it on this machine")
    return None


def check_sandboxes(out: Callable[[str], None] = print) -> int:
    """``--check-sandbox``: the self-check of every kind here, for each role it serves, probed afresh
    (passes refresh the cache), as one table; 1 when a kind that works here is refused."""
    from pytest_arena.sandbox import selfcheck
    from pytest_arena.sandbox.kinds import Role, auto_sandbox_kind, availability, sandbox_kinds

    roles: tuple[Role, ...] = ("agents", "scoring")
    checks, unavailable = [], []
    for kind in sandbox_kinds():
        found = availability(kind.name)
        if not found:
            unavailable.append((kind, found.reason))
            continue
        for role in roles:
            if kind in sandbox_kinds(role):
                checks.append(selfcheck.check(kind, role, refresh=True))
    out("sandbox self-check on this machine: each wall as the kind claims it / as it held against the probe "
        "(hard, soft, absent; - not tested; ! below the claim)")
    out(selfcheck.table(checks, unavailable))
    picks = []
    for role in roles:
        try:
            picks.append(f"{role} {auto_sandbox_kind(role).name}")
        except ArenaError:
            picks.append(f"{role}: none works here")
    out(f"auto picks: {', '.join(picks)}")
    refused = [c.refusal() for c in checks if not c.ok]
    for line in refused:
        out(f"REFUSED: {line}")
    return 1 if refused else 0


def setup_runners(value: str, root: Path, log: Callable[[str], None]) -> list[str]:
    """``--runners``: install what each runner needs beyond system packages (jest, from npm, into
    ``<root>/.runners/javascript``), then check each one; returns a line per runner that cannot
    run here, with the command that fixes it. System packages are never installed from here
    (that takes root and changes the machine): the line names them for apt-get."""
    from pytest_arena.scoring.runners import get_test_runner, registered_runners, runner_tools_dir

    names = [n.strip() for n in value.split(",") if n.strip()]
    toolchains = [r.name for r in registered_runners() if r.toolchain is not None]
    try:
        runners = [get_test_runner(n) for n in (toolchains if names == ["all"] else names)]
    except ValueError as exc:
        return [f"--runners: {exc}"]
    problems = []
    for runner in runners:
        if runner.toolchain is None:
            log(f"{runner.name}: the harness's own pytest, nothing to install")
            continue
        tools_dir = runner_tools_dir(root, runner.name)
        try:
            if runner.setup is not None:
                runner.setup(tools_dir, log)
        except ArenaError as exc:
            problems.append(f"{runner.name}: {exc}")
            continue
        missing = runner.toolchain.missing(tools_dir)
        if missing:
            problems.append(f"{runner.name} ({runner.title}): {missing}")
        else:
            log(f"{runner.name}: ready ({runner.title}, {runner.toolchain.version(tools_dir) or 'version unknown'})")
    return problems


def main(argv: list[str] | None = None) -> int:
    """Arguments are those after ``setup``; returns the process exit code."""
    args = _parser().parse_args(argv)
    if args.check_sandbox:
        code = check_sandboxes()
        if code or not (args.agents or args.embedded or args.tasks or getattr(args, "container_image", False)
                        or args.runners):
            return code
    try:
        agents = _selected_agents(args.agents)
    except ValueError as exc:
        print(f"setup: {exc}", file=sys.stderr)
        return 1
    if not agents and not args.embedded and not args.tasks and not args.container_image and not args.runners:
        names = "|".join(c.name for c in task_classes() if c.setup is not None)
        print(f"setup: nothing to do. Pass --agents NAME[,NAME...] or --agents all, --embedded, "
              f"and/or --tasks {names}, --container-image, --runners NAME[,NAME...].",
              file=sys.stderr)
        return 1
    root = (args.root or default_install_root()).expanduser().resolve()
    start = time.monotonic()

    def log(line: str) -> None:
        print(f"[{time.monotonic() - start:7.1f}s] {line}", flush=True)

    if args.container_image:
        problem = container_image(log)
        if problem or not (agents or args.embedded or args.tasks or args.runners):
            if problem:
                print(f"setup: {problem}", file=sys.stderr)
            return 1 if problem else 0
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
    if args.runners:
        problems = setup_runners(args.runners, root, log)
        if problems:
            print("setup: some test runners cannot run here:\n" + "\n".join(f"  {p}" for p in problems),
                  file=sys.stderr)
            return 1
    log("done")
    return 0
