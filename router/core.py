"""What every call of the router shares: its settings, the ledger, the budget, the backends (one
per distinct BackendSpec) with their concurrency limits, the session's fatal upstream error, and
the one record point that writes a call to the ledger and its run's transcript.

The run registry (runs.py) registers runs on it; the calls (call.py, own_calls.py) use it. Everything
here runs on the router's event loop; ``service.RouterHandle`` crosses threads.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter
from typing import Any

from pytest_arena.router.backends.base import Backend, BackendOptions, make_backend
from pytest_arena.router.budget import Budget
from pytest_arena.router.contracts import BackendSpec, CallStatus, LedgerRecord
from pytest_arena.router.ledger import Ledger
from pytest_arena.router.limits import BackendLimit, make_limit
from pytest_arena.router.pricing import PricingTable
from pytest_arena.router.run_state import RunState

__all__ = ["CoreSettings", "RouterCore"]

_log = logging.getLogger(__name__)


@dataclass(slots=True)
class CoreSettings:
    """What the pipeline needs from RouterSettings."""

    session_budget_usd: float | None = None
    routing_headers: bool = True
    unscoped_run_id: str | None = None
    # The unscoped run's token (python -m pytest_arena.router --token); None leaves that one run open to any caller.
    unscoped_token: str | None = None
    lock_dir: Path | None = None  # cross-process slots for shared local servers (see limits.py)
    max_body_bytes: int | None = 32 * 2**20  # RouterSettings.max_body_bytes and the two below
    max_messages: int | None = 10_000
    max_inflight_per_run: int | None = 16


def _backend_key(spec: BackendSpec) -> tuple[str | None, ...]:
    return (spec.kind, spec.model, spec.label, spec.base_url, spec.api_key_env, spec.fallback_model)


class RouterCore:
    """The state one router's calls share (see the module docstring); one per router."""

    def __init__(self, settings: CoreSettings, ledger: Ledger, pricing: PricingTable,
                 backend_options: BackendOptions | None = None):
        self.settings = settings
        self.ledger = ledger
        self.budget = Budget(pricing, settings.session_budget_usd)
        self.backend_options = backend_options or BackendOptions()  # RouterSettings' retries, timeouts, .env
        self.fatal_error: str | None = None
        self.unauthorized_calls = 0  # refused for a missing or wrong run token; in no run's ledger
        self._backends: dict[tuple[str | None, ...], Backend] = {}
        self._limits: dict[str, BackendLimit | None] = {}

    def backend(self, spec: BackendSpec) -> Backend:
        key = _backend_key(spec)
        backend = self._backends.get(key)
        if backend is None:
            backend = self._backends[key] = make_backend(spec, self.backend_options)
        return backend

    def limit(self, spec: BackendSpec) -> BackendLimit | None:
        if spec.label not in self._limits:
            self._limits[spec.label] = make_limit(spec, self.settings.lock_dir)
        return self._limits[spec.label]

    def record(self, run: RunState, rec: LedgerRecord, request: Any = None, answer: Any = None) -> None:
        """The one record point: the ledger, and the run's transcript with the call's bodies."""
        if run.transcript is not None:
            run.transcript.add(rec, request, answer)
        if rec.cost_usd:
            self.budget.spend(run, rec.cost_usd)
        self.ledger.add(rec)

    def record_rejected(self, run: RunState, protocol: str, message: str, arrived: float,
                        status: CallStatus = "client_error") -> None:
        """A request refused before routing (unparseable: ``client_error``; over one of the
        router's bounds: ``rejected``): still one record."""
        self.record(run, LedgerRecord(
            run_id=run.spec.run_id, seq=run.next_seq(), ts=time.time(), protocol=protocol, purpose="agent",
            strategy=run.spec.strategy, choice="local", reason="rejected before routing", backend="", model="",
            overhead_ms=(perf_counter() - arrived) * 1e3, status=status, error=message))

    async def aclose(self) -> None:
        self.ledger.flush()
        for backend in self._backends.values():
            try:
                await backend.aclose()
            except Exception:  # closing must not stop the other backends from closing
                _log.exception("closing backend %s", backend.spec.label)
