"""Backends: where a routed call is answered. The built-in kinds (ollama, openai, embedded,
anthropic, scripted) are registered below, when this package loads, which importing any module of
it does first; a new kind is a ``Backend`` subclass registered with ``register_backend``
(docs/howto/add-a-backend.md). The contract and the registry are in base.py.
"""
from __future__ import annotations

from pytest_arena.router.backends.anthropic import AnthropicBackend
from pytest_arena.router.backends.base import (
    Backend,
    BackendOptions,
    CallContext,
    api_key_variables,
    backend_class,
    backend_kinds,
    make_backend,
    register_backend,
)
from pytest_arena.router.backends.ollama import OllamaBackend
from pytest_arena.router.backends.openai import EmbeddedBackend, OpenAIBackend
from pytest_arena.router.backends.scripted import ScriptedBackend

__all__ = [
    "BUILTIN_BACKENDS",
    "Backend",
    "BackendOptions",
    "CallContext",
    "api_key_variables",
    "backend_class",
    "backend_kinds",
    "make_backend",
    "register_backend",
]

# The built-in kinds, registered here through the same register_backend a third party calls, in the
# order errors list them: one table, so importing a backend's module registers nothing by surprise.
BUILTIN_BACKENDS: tuple[tuple[str, type[Backend]], ...] = (
    ("ollama", OllamaBackend),
    ("openai", OpenAIBackend),
    ("embedded", EmbeddedBackend),
    ("anthropic", AnthropicBackend),
    ("scripted", ScriptedBackend),
)
for _kind, _cls in BUILTIN_BACKENDS:
    register_backend(_kind)(_cls)
