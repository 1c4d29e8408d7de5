"""The backend contract and its registry: a backend turns one CanonicalRequest into a stream of
canonical events, and ``register_backend`` makes a class the one that serves a ``BackendSpec.kind``.
The built-in kinds are registered by the package's ``__init__``, which Python runs before any of
its modules, so a lookup here always sees them.

Streaming and non-streaming front doors both consume ``Backend.stream``; non-streaming ones
aggregate the events into a CanonicalResponse. Errors are raised as ``pytest_arena.router.errors``
exceptions. What the rest of the router and the plugin ask of a kind (are its calls local, which
environment variable holds its key, does the local output cap apply) are class attributes, read
through ``backend_class(kind)``: nothing outside a backend's own module names a kind to decide them.
"""
from __future__ import annotations

import abc
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import ClassVar, TypeVar

from pytest_arena.router.contracts import BackendSpec, CanonicalRequest, Event, LocalGuards, RunSpec, Side
from pytest_arena.router.errors import ConfigError, UpstreamConnectionError

__all__ = [
    "Backend",
    "BackendOptions",
    "CallContext",
    "UnstartedBackend",
    "api_key_variables",
    "backend_class",
    "backend_kinds",
    "make_backend",
    "register_backend",
]


@dataclass(slots=True)
class CallContext:
    run: RunSpec
    side: Side
    guards: LocalGuards | None  # set for local calls only
    started: float  # time.monotonic() when the call got its backend slot (when it arrived, without a limit)

    @property
    def deadline(self) -> float | None:
        if self.guards is None or self.guards.wall_timeout_s is None:
            return None
        return self.started + self.guards.wall_timeout_s

    def remaining(self) -> float | None:
        d = self.deadline
        return None if d is None else max(0.0, d - time.monotonic())


@dataclass(frozen=True, slots=True)
class BackendOptions:
    """The RouterSettings fields a backend needs (kept separate so backends do not import service)."""

    max_retries: int = 3
    retry_backoff_s: float = 0.5
    cloud_timeout_s: float = 600.0
    env_file: str | None = None


class Backend(abc.ABC):
    """Where one side's calls are answered. Subclass it, set the facts below, implement ``stream``
    and register the class with ``@register_backend("<kind>")``."""

    # It runs on this machine (or inside the router): as a run's classifier or embedding model its
    # calls are local calls, priced at nothing; as a run's cloud side it needs no price for a budget
    # cap to hold (the scripted stand-in, priced as BackendSpec.price_as).
    local: ClassVar[bool] = False
    # The environment variable a cloud BackendSpec of this kind names for its API key (the config
    # and ``python -m pytest_arena.router`` fill BackendSpec.api_key_env with it); None: no key.
    api_key_env: ClassVar[str | None] = None
    # A model generates the answers, so the local output cap (LocalGuards.max_output_tokens) applies;
    # False for a stand-in that writes whole files (the scripted backend).
    output_capped: ClassVar[bool] = True

    def __init__(self, spec: BackendSpec):
        self.spec = spec

    @classmethod
    def create(cls, spec: BackendSpec, options: BackendOptions) -> Backend:
        """The backend serving ``spec`` (what ``make_backend`` calls); by default ``cls(spec)``."""
        return cls(spec)

    @abc.abstractmethod
    def stream(self, req: CanonicalRequest, call: CallContext) -> AsyncIterator[Event]:
        """Yield TextDelta / ToolCallDelta events, then Usage, then exactly one Finish. A Usage may
        also come mid-stream (running counts, when the upstream sends them); the last one wins."""

    async def batches(self, req: CanonicalRequest, call: CallContext) -> AsyncIterator[list[Event]]:
        """``stream``'s events in the groups they arrived in (one read of the upstream's socket):
        the call pipeline meters and the front door writes each group in one go. By default one
        event a group; the HTTP streaming backends group by read."""
        async for ev in self.stream(req, call):
            yield [ev]

    def prepare(self) -> None:  # noqa: B027 (a hook: a backend without a key loads nothing)
        """Load what calls need before the first one (an API key); raises ConfigError. Called when
        a run whose strategy can route here registers, so a run that never can needs nothing."""

    async def embed(self, texts: list[str]) -> list[list[float]]:
        raise NotImplementedError(f"backend {self.spec.label} has no embedding endpoint")

    async def aclose(self) -> None:
        return None


class UnstartedBackend(Backend):
    """A declared backend whose server was never started (the run's strategy does not route to it).
    A call that reaches it anyway (e.g. a !local suffix) fails with a clear, recorded error."""

    async def stream(self, req: CanonicalRequest, call: CallContext) -> AsyncIterator[Event]:
        raise UpstreamConnectionError(
            f"backend {self.spec.label!r} was not started for this run: its strategy "
            f"({call.run.strategy}) does not route to this side")
        yield  # pragma: no cover - makes this an async generator


B = TypeVar("B", bound=type[Backend])
_BACKENDS: dict[str, type[Backend]] = {}


def register_backend(kind: str) -> Callable[[B], B]:
    """A class decorator: the class serves every ``BackendSpec`` whose ``kind`` is ``kind``.
    Registering another class under a kind already taken raises ValueError."""

    def register(cls: B) -> B:
        if not (isinstance(cls, type) and issubclass(cls, Backend)):
            raise TypeError(f"register_backend({kind!r}): {cls!r} is not a subclass of "
                            "pytest_arena.router.backends.Backend")
        held = _BACKENDS.get(kind)
        if held is not None and held is not cls:
            raise ValueError(f"backend kind {kind!r} is already served by {held.__module__}.{held.__qualname__}; "
                             f"register {cls.__module__}.{cls.__qualname__} under a kind of its own")
        _BACKENDS[kind] = cls
        return cls

    return register


def backend_class(kind: str) -> type[Backend]:
    """The class registered for ``kind``; ConfigError naming the kinds there are when none is."""
    cls = _BACKENDS.get(kind)
    if cls is None:
        raise ConfigError(f"unknown backend kind {kind!r} (registered: {', '.join(backend_kinds())}); "
                          "a new kind is added with pytest_arena.router.backends.register_backend")
    return cls


def backend_kinds() -> tuple[str, ...]:
    """Every registered kind, in registration order (the built-in ones first)."""
    return tuple(_BACKENDS)


def make_backend(spec: BackendSpec, options: BackendOptions | None = None) -> Backend:
    """The backend for ``spec.kind``, made by the class registered for it; ``options`` are the
    RouterSettings fields backends read (retries, timeouts, .env)."""
    try:
        cls = backend_class(spec.kind)
    except ConfigError as err:
        raise ConfigError(f"backend {spec.label!r}: {err.message}") from None
    return cls.create(spec, options or BackendOptions())


def api_key_variables() -> tuple[str, ...]:
    """Every environment variable a registered kind reads its API key from, each once."""
    return tuple(dict.fromkeys(cls.api_key_env for cls in _BACKENDS.values() if cls.api_key_env))
