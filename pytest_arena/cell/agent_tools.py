"""The commands an agent runs its task's tests with: the scorer's own, on its PATH.

An agent checks its work by running the tests it can see. Its sandbox shows the system and its
own install, so a toolchain from the system's packages (go, cargo, g++, javac) is there already;
the harness's pytest (a virtual environment) and jest (the runner cache) are not. For a task whose
tests run with either, the cell writes a small launcher (``pytest`` or ``jest``) into a folder of
its own, shows that folder and what the launcher runs read-only, and puts the folder first on the
agent's PATH. The launcher runs what scoring runs: the clean pytest copy under ``python -I -S``
(scoring/env.py), or jest with the scorer's configuration rooted at the workspace. What the agent
runs this way decides nothing: scoring runs again, in its own sandbox, on pristine tests.
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from pytest_arena.errors import ArenaError
from pytest_arena.scoring.env import env_root
from pytest_arena.scoring.env import prepare as prepare_scoring_env
from pytest_arena.scoring.runners import get_test_runner, runner_tools_dir
from pytest_arena.tasks.base import Task, runner_name_of

__all__ = ["NO_TOOLS", "AgentTools", "agent_tools"]


@dataclass(frozen=True)
class AgentTools:
    """``folder`` (first on the agent's PATH) holds a launcher per name in ``names``; ``readonly``
    is what the sandbox must show for them to run (the folder too)."""

    folder: Path | None
    readonly: tuple[Path, ...]
    names: tuple[str, ...]


NO_TOOLS = AgentTools(None, (), ())


def agent_tools(task: Task, install_root: Path, workspace: Path, folder: Path) -> AgentTools:
    """Write the launchers for ``task``'s test runner into ``folder`` (made here). Nothing when the
    runner needs none or cannot run on this machine: the agent then has what the system has,
    and scoring says what is missing, as it does without this."""
    runner = get_test_runner(runner_name_of(task))
    folder.mkdir(parents=True, exist_ok=True)
    shown: list[Path] = []
    if runner.toolchain is None:  # the harness's own pytest
        try:
            env = task.scoring_env(prepare_scoring_env(env_root(install_root)))
        except ArenaError:
            return NO_TOOLS
        commands = {"pytest": tuple(env.command(["-p", "no:cacheprovider"]))}
        shown.extend(env.readonly_paths)
    elif runner.agent_tools is not None:
        tools_dir = runner_tools_dir(install_root, runner.name)
        commands = runner.agent_tools(tools_dir, workspace, folder)
        shown.append(tools_dir)
    else:
        return NO_TOOLS
    if not commands:
        return NO_TOOLS
    for name, argv in commands.items():
        launcher = folder / name
        launcher.write_text(f'#!/bin/sh\nexec {shlex.join(argv)} "$@"\n')
        launcher.chmod(0o555)
    return AgentTools(folder, (folder, *shown), tuple(commands))
