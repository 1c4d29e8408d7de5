"""The services one session's cells call through, and their lifecycle: the router (started on first
use, closed at session end), the embedded model (one server per model, started on first use), the
Ollama check, the API keys, and each model name resolved into a ready ``BackendSpec`` once.

Apart from the session's state (``pytest_arena.sweep.session``) because its lifetime is the
processes and threads it starts, not the sweep's cells and rows: the session owns one ``Services``
and closes it, and the standalone router (``python -m pytest_arena router --config``) uses one with
no session at all. A service that cannot be used fails once, with one message that every cell
needing it then gets (``ServiceUnavailable``), instead of each cell finding out on its own.
"""
from __future__ import annotations

import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_arena.errors import ArenaError
from pytest_arena.router.contracts import BackendSpec
from pytest_arena.sweep.config.backends import backend_spec
from pytest_arena.sweep.config.schema import ArenaConfig

if TYPE_CHECKING:
    from pytest_arena.router.service import RouterHandle
    from pytest_arena.sweep.cells import Cell
    from pytest_arena.sweep.services.embedded import EmbeddedServer

__all__ = ["ServiceUnavailable", "Services"]


class ServiceUnavailable(ArenaError):
    """A backend a cell needs cannot be used (Ollama down, key missing, model not installed)."""


@dataclass
class Services:
    """One host's services for one config, started lazily and thread-safely (cells of one worker
    may ask at once); ``close`` stops what was started."""

    config: ArenaConfig  # with this host's settings applied (local_base_url, local_concurrency)
    project_root: Path  # the pytest rootdir: where .env and a relative pricing.table are read
    worker: str  # the xdist worker id ("main" without xdist): names this host's ledger copy
    host_dir: Path  # this host's state folder: the router's ledger copy lives there
    pricing_path: Path | None  # pricing.table resolved (pytest_arena.sweep.pricing); None: the shipped table
    _router: RouterHandle | None = field(default=None, init=False)
    _embedded: dict[str, EmbeddedServer] = field(default_factory=dict, init=False)
    _service_errors: dict[str, str] = field(default_factory=dict, init=False)  # "side:name" -> its message
    _resolved: dict[str, BackendSpec] = field(default_factory=dict, init=False)  # "side:name" -> ready spec
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    @property
    def price_as(self) -> str:
        """The primary pricing scenario's model: what scripted cloud traffic is priced as."""
        from pytest_arena.router.pricing import load_pricing

        table = load_pricing(self.pricing_path)
        return table.scenario_model(self.config.pricing.primary)

    def has_key(self, name: str) -> bool:
        """Whether the router will find the API key variable ``name``. Asks the router's key store,
        which holds a key once read (it is then gone from os.environ), without reading it."""
        from pytest_arena.router.keys import KEYS

        return KEYS.available(name, self.project_root / ".env")

    def backend(self, name: str, side: str, *, prepare: bool = True) -> BackendSpec:
        """The ready-to-use backend for a model name, starting or checking its service once.
        Raises ServiceUnavailable with one clear message (cached: every cell gets the same one).
        With prepare=False the spec is only resolved (for a side the cell's strategy never uses)."""
        key = f"{side}:{name}"
        if not prepare and key not in self._resolved:
            return backend_spec(name, self.config.models, side, concurrency=self._concurrency(side),
                                price_as=self.price_as)
        with self._lock:
            if key in self._service_errors:
                raise ServiceUnavailable(self._service_errors[key])
            if key in self._resolved:
                return self._resolved[key]
            spec = backend_spec(name, self.config.models, side, concurrency=self._concurrency(side),
                                price_as=self.price_as)
            try:
                spec = self._prepare(spec)
            except ArenaError as exc:
                self._service_errors[key] = str(exc)
                raise ServiceUnavailable(str(exc)) from None
            self._resolved[key] = spec
            return spec

    def backends_for(self, cell: Cell) -> tuple[BackendSpec, BackendSpec, BackendSpec | None, BackendSpec | None]:
        """(local, cloud, classifier, embedder) for a cell, with the services its strategy routes to
        started or checked: an always-cloud sweep needs no local server, always-local no cloud key.
        Every missing piece is named in one ServiceUnavailable, not just the first one met."""
        from pytest_arena.router.strategies import get_strategy

        models, strategy = self.config.models, get_strategy(cell.strategy)
        wanted = [
            ("local", cell.local_model, "local", "local" in strategy.sides),
            ("cloud", cell.cloud_model, "cloud", "cloud" in strategy.sides),
            ("classifier", models.router_classifier, "local", "classifier" in strategy.needs),
            ("embedder", models.embedding, "local", "embedder" in strategy.needs and bool(models.embedding)),
        ]
        specs: dict[str, BackendSpec] = {}  # a role left out is one the strategy does not use
        problems: list[str] = []
        for role, name, side, needed in wanted:
            if role in ("classifier", "embedder") and not needed:
                continue
            try:  # name is None only for an unset models.embedding, and then no embedder is needed
                specs[role] = self.backend(name or "", side, prepare=needed)
            except ServiceUnavailable as exc:
                if str(exc) not in problems:
                    problems.append(str(exc))
        if problems:
            raise ServiceUnavailable(" AND ".join(problems))
        return specs["local"], specs["cloud"], specs.get("classifier"), specs.get("embedder")

    def router(self) -> RouterHandle:
        """This host's router, started on first use (one per session and worker)."""
        with self._lock:
            if self._router is None:
                from pytest_arena.router.service import RouterSettings, start_router

                env_file = self.project_root / ".env"
                limits = self.config.router
                settings = RouterSettings(
                    # this host's copy; the controller writes the results folder's ledger from the rows' hand-offs
                    ledger_path=self.host_dir / "ledger" / f"ledger.{self.worker}.jsonl",
                    session_budget_usd=self.config.budget.session_usd,
                    pricing_path=self.pricing_path,  # the table the checks read
                    routing_headers=limits.banner,
                    env_file=env_file if env_file.is_file() else None,
                    max_retries=limits.max_retries,
                    max_body_bytes=None if limits.max_body_mb is None else int(limits.max_body_mb * 2**20),
                    max_messages=limits.max_messages,
                    max_inflight_per_run=limits.max_inflight_per_run,
                    # one queue per local server for every worker and session on this machine
                    lock_dir=Path(tempfile.gettempdir()) / "pytest-arena-locks",
                )
                self._router = start_router(settings)
            return self._router

    def close(self) -> None:
        """Stop what was started: the router, then every embedded model server."""
        if self._router is not None:
            self._router.close()
            self._router = None
        for server in self._embedded.values():
            server.stop()
        self._embedded.clear()

    def _concurrency(self, side: str) -> int:
        router = self.config.router
        return router.local_concurrency if side == "local" else router.cloud_concurrency

    def _prepare(self, spec: BackendSpec) -> BackendSpec:
        """The spec made usable: its embedded server started, its Ollama checked, its key present."""
        if spec.kind == "embedded":
            from pytest_arena.sweep.services.embedded import start_embedded

            server = self._embedded.get(spec.model)
            if server is None:
                server = start_embedded(spec.model, n_ctx=self.config.router.local_guards.num_ctx or 8192)
                self._embedded[spec.model] = server
            spec.base_url = server.base_url
            return spec
        if spec.kind == "ollama":
            from pytest_arena.sweep.services.ollama import ensure_ollama

            ensure_ollama(spec.base_url, [spec.model])
            return spec
        if spec.api_key_env and not self.has_key(spec.api_key_env):
            raise ServiceUnavailable(
                f"{spec.label}: the environment variable {spec.api_key_env} is not set. "
                f"Export it or put {spec.api_key_env}=... in {self.project_root / '.env'}; "
                "or use 'scripted' as models.cloud for an offline harness check.")
        return spec
