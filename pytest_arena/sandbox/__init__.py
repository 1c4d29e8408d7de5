"""Sandboxes: run one command contained (files, network, router link, memory, processes, wall
time), and the hostile-file handling of what an agent leaves behind.

A sandbox kind is a ``SandboxKind`` (base.py) in the one registry (kinds.py); a project adds one
with ``register_sandbox_kind``; see docs/howto/add-a-sandbox-kind.md."""
from pytest_arena.sandbox.base import (
    Availability,
    Box,
    BoxBase,
    BoxSpec,
    Guarantees,
    Level,
    Limits,
    RouterLink,
    SandboxKind,
    SandboxResult,
    SandboxStartError,
)
from pytest_arena.sandbox.kinds import get_sandbox_kind, register_sandbox_kind, sandbox_kinds

__all__ = [
    "Availability", "Box", "BoxBase", "BoxSpec", "Guarantees", "Level", "Limits", "RouterLink", "SandboxKind",
    "SandboxResult", "SandboxStartError", "get_sandbox_kind", "register_sandbox_kind", "sandbox_kinds",
]
