"""The budget: what calls cost and whether the cloud may be called. Prices a call from the pricing
table, keeps the cell's and the session's spending, and admits cloud agent calls under their caps
(``RunSpec.cell_budget_usd``, ``RouterSettings.session_budget_usd``) so concurrent calls cannot
overshoot a cap by more than the one call that crossed it.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from pytest_arena.router.backends.base import backend_class
from pytest_arena.router.contracts import BackendSpec, RunSpec, Side, Usage
from pytest_arena.router.errors import BudgetExceededError, ConfigError
from pytest_arena.router.pricing import LOCAL_KEY, PricingTable

__all__ = ["Budget", "BudgetedRun"]

_log = logging.getLogger(__name__)


class BudgetedRun(Protocol):
    """A run as the budget sees it (run_state.RunState is one): its spec, what it has spent, and
    its cloud calls admitted but not yet recorded."""

    spec: RunSpec
    spent_usd: float
    cloud_inflight: int


class Budget:
    """The session's spending and its cloud admissions; used from the router's event loop only."""

    def __init__(self, pricing: PricingTable, session_cap_usd: float | None):
        self.pricing = pricing
        self.session_cap_usd = session_cap_usd
        self.session_spent_usd = 0.0
        self.session_cloud_inflight = 0
        self.max_cloud_call_usd = 0.0  # the dearest cloud call so far: the admission's in-flight estimate
        self._changed = asyncio.Event()
        self._unpriced_warned: set[str] = set()  # served model names already warned about (price_key)

    def side_of(self, spec: BackendSpec) -> Side:
        """Which side a backend's calls count on: local when its kind runs on this machine
        (Backend.local) or its model is a local one by name, else cloud."""
        if backend_class(spec.kind).local or self.pricing.normalise(spec.model) == LOCAL_KEY:
            return "local"
        return "cloud"

    def check_priced(self, spec: RunSpec) -> None:
        """A run with a cap whose cloud model has no price could never trip it: ConfigError."""
        if spec.cell_budget_usd is None and self.session_cap_usd is None:
            return
        if not backend_class(spec.cloud.kind).local and self.pricing.rate_for(spec.cloud.model) is None:
            raise ConfigError(
                f"run {spec.run_id}: cloud model {spec.cloud.model!r} has no price in {self.pricing.path}, so a "
                "budget cap cannot be enforced; add it to the pricing table (RouterSettings.pricing_path)")

    def spend(self, run: BudgetedRun, cost_usd: float) -> None:
        """Count one recorded call's cost against its cell and the session."""
        run.spent_usd += cost_usd
        self.session_spent_usd += cost_usd
        self.max_cloud_call_usd = max(self.max_cloud_call_usd, cost_usd)

    def charge(self, run: BudgetedRun, spec: BackendSpec, side: Side, served: str,
               usage: Usage) -> tuple[float, str | None]:
        """(USD, price-table key) of one call: 0 for local; cached prompt tokens at the cache-read
        rate only when the run prices prompt caching (RunSpec.prompt_cache), else as uncached input."""
        if side == "local":
            return 0.0, None
        key = self.price_key(spec, served)
        if key is None:
            return 0.0, None
        cached = usage.cached if run.spec.prompt_cache else 0
        return self.pricing.cost(key, usage.prompt, usage.completion, cached), key

    def price_key(self, spec: BackendSpec, served: str) -> str | None:
        """The price a cloud call is charged at: the backend's ``price_as`` stand-in, else the model
        the upstream says served it, else the configured model. Budgets are admitted on the
        configured model's price, so an alias the table lacks (a dated or vendor name) must not
        make the call free; each such name is logged once."""
        configured = self.pricing.normalise(spec.price_as or spec.model)
        configured = None if configured == LOCAL_KEY else configured
        if spec.price_as:
            return configured
        key = self.pricing.normalise(served)
        if key is not None and key != LOCAL_KEY:  # a cloud call is never priced as local
            return key
        name = served or spec.model
        if name not in self._unpriced_warned:
            self._unpriced_warned.add(name)
            if configured is None:
                _log.warning("cloud model %r (backend %s) has no price in %s: its calls cost $0 in the ledger "
                             "and every report; add it to the pricing table", name, spec.label, self.pricing.path)
            else:
                _log.warning("the upstream of %s named the serving model %r, which has no price in %s; its "
                             "calls are charged at the configured model's price (%s)", spec.label, name,
                             self.pricing.path, configured)
        return configured

    def check(self, run: BudgetedRun) -> None:
        """BudgetExceededError once the cell's or the session's cap is spent."""
        cap = run.spec.cell_budget_usd
        if cap is not None and run.spent_usd >= cap:
            raise BudgetExceededError(
                f"pytest-arena: cloud budget exhausted for this cell (spent ${run.spent_usd:.4f} of the "
                f"${cap:.4f} cell budget); no further cloud calls are made in this run")
        cap = self.session_cap_usd
        if cap is not None and self.session_spent_usd >= cap:
            raise BudgetExceededError(
                f"pytest-arena: cloud budget exhausted for this session (spent ${self.session_spent_usd:.4f} "
                f"of the ${cap:.4f} session budget); no further cloud calls are made")

    async def admit_cloud(self, run: BudgetedRun) -> None:
        """Admit one cloud agent call under the budget caps, or refuse it (BudgetExceededError).

        With calls already in flight, another is admitted only if the caps can absorb all of them
        at the dearest call's price so far (before any call is priced: one at a time); otherwise
        it waits for an in-flight call to be recorded. So concurrent calls cannot overshoot a cap
        by more than the one call that crossed it."""
        cell_cap, session_cap = run.spec.cell_budget_usd, self.session_cap_usd
        while cell_cap is not None or session_cap is not None:
            self.check(run)
            if self._fits(cell_cap, run.spent_usd, run.cloud_inflight) and \
                    self._fits(session_cap, self.session_spent_usd, self.session_cloud_inflight):
                break
            changed = self._changed
            await changed.wait()
        run.cloud_inflight += 1
        self.session_cloud_inflight += 1

    def _fits(self, cap: float | None, spent: float, inflight: int) -> bool:
        if cap is None or inflight == 0:
            return True
        return self.max_cloud_call_usd > 0 and spent + (inflight + 1) * self.max_cloud_call_usd <= cap

    def release_cloud(self, run: BudgetedRun) -> None:
        """An admitted cloud call was recorded: wake the calls waiting in ``admit_cloud``."""
        run.cloud_inflight -= 1
        self.session_cloud_inflight -= 1
        if run.spec.cell_budget_usd is not None or self.session_cap_usd is not None:
            changed, self._changed = self._changed, asyncio.Event()
            changed.set()
