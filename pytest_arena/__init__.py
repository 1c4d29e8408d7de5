"""pytest-arena: benchmark coding agents under hybrid local/cloud LLM routing, as a pytest plugin.

The names a third party builds on are exported here: the agent adapter and its installed-agent
template, ``register_agent`` and ``run_process``, and the four seams (strategy, front door, task
class, sandbox kind) with the backend registry. They are imported on first use, so that importing
the plugin (``pytest11`` loads ``pytest_arena.plugin``, and with it this module) stays cheap: plain
``pytest`` with the plugin installed imports no pydantic.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from pytest_arena.version import __version__

_EXPORTS = {
    # agents
    "AgentAdapter": "pytest_arena.agents.base",
    "AgentResult": "pytest_arena.agents.base",
    "AgentRunContext": "pytest_arena.agents.base",
    "AgentSandbox": "pytest_arena.agents.base",
    "InstalledAgent": "pytest_arena.agents.installers",
    "register_agent": "pytest_arena.agents.registry",
    "run_process": "pytest_arena.agents.process",
    # strategy
    "Strategy": "pytest_arena.router.strategies",
    "register_strategy": "pytest_arena.router.strategies",
    "get_strategy": "pytest_arena.router.strategies",
    # front door
    "FrontDoor": "pytest_arena.router.protocols",
    "register_front_door": "pytest_arena.router.protocols",
    # backend
    "Backend": "pytest_arena.router.backends",
    "register_backend": "pytest_arena.router.backends",
    # task and task class
    "Task": "pytest_arena.tasks",
    "TaskClass": "pytest_arena.tasks",
    "register_task_class": "pytest_arena.tasks",
    "get_task_class": "pytest_arena.tasks",
    # sandbox kind
    "SandboxKind": "pytest_arena.sandbox",
    "Guarantees": "pytest_arena.sandbox",
    "register_sandbox_kind": "pytest_arena.sandbox",
    "get_sandbox_kind": "pytest_arena.sandbox",
    # test runner
    "TestRunner": "pytest_arena.scoring.runners",
    "register_test_runner": "pytest_arena.scoring.runners",
    "get_test_runner": "pytest_arena.scoring.runners",
}

__all__ = ["__version__", *_EXPORTS]

if TYPE_CHECKING:  # the names in __all__, for type checkers (``X as X``: a re-export)
    from pytest_arena.agents.base import AgentAdapter as AgentAdapter
    from pytest_arena.agents.base import AgentResult as AgentResult
    from pytest_arena.agents.base import AgentRunContext as AgentRunContext
    from pytest_arena.agents.base import AgentSandbox as AgentSandbox
    from pytest_arena.agents.installers import InstalledAgent as InstalledAgent
    from pytest_arena.agents.process import run_process as run_process
    from pytest_arena.agents.registry import register_agent as register_agent
    from pytest_arena.router.backends import Backend as Backend
    from pytest_arena.router.backends import register_backend as register_backend
    from pytest_arena.router.protocols import FrontDoor as FrontDoor
    from pytest_arena.router.protocols import register_front_door as register_front_door
    from pytest_arena.router.strategies import Strategy as Strategy
    from pytest_arena.router.strategies import get_strategy as get_strategy
    from pytest_arena.router.strategies import register_strategy as register_strategy
    from pytest_arena.sandbox import Guarantees as Guarantees
    from pytest_arena.sandbox import SandboxKind as SandboxKind
    from pytest_arena.sandbox import get_sandbox_kind as get_sandbox_kind
    from pytest_arena.sandbox import register_sandbox_kind as register_sandbox_kind
    from pytest_arena.scoring.runners import TestRunner as TestRunner
    from pytest_arena.scoring.runners import get_test_runner as get_test_runner
    from pytest_arena.scoring.runners import register_test_runner as register_test_runner
    from pytest_arena.tasks import Task as Task
    from pytest_arena.tasks import TaskClass as TaskClass
    from pytest_arena.tasks import get_task_class as get_task_class
    from pytest_arena.tasks import register_task_class as register_task_class

def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'pytest_arena' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
