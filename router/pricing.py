"""Pricing table and per-call cost: the one implementation the router, the plugin and the
analysis all use.

cost = max(0, prompt - cached) * input + cached * cache_read + completion * output   (per 1M tokens)
Reasoning tokens are already inside ``completion`` and are not added again.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DEFAULT_TABLE = Path(__file__).with_name("data") / "pricing.json"
LOCAL_KEY = "__local__"
# Model labels of local backends: anything Ollama-style ("qwen3.6:35b") or explicitly local.
_LOCAL_PREFIXES = ("ollama/", "embedded/", "local/", "scripted")
_DATE_SUFFIX = re.compile(r"-\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True, slots=True)
class Rate:
    input: float
    output: float
    cache_read: float


@dataclass(frozen=True, slots=True)
class PricingTable:
    rates: dict[str, Rate]
    scenarios: dict[str, str]  # scenario name -> model key
    headline_scenarios: tuple[str, ...]
    sha256: str
    path: str

    def normalise(self, model_id: str | None) -> str | None:
        """Map a model id to a table key, or None when the table has no price for it."""
        if not model_id:
            return None
        mid = model_id.strip().lower()
        if ":" in mid or mid.startswith(_LOCAL_PREFIXES):
            return LOCAL_KEY
        for prefix in ("openai/", "anthropic/"):
            if mid.startswith(prefix):
                mid = mid[len(prefix):]
        if mid in self.rates:
            return mid
        mid = _DATE_SUFFIX.sub("", mid)
        while mid:
            if mid in self.rates:
                return mid
            if "-" not in mid:
                break
            mid = mid.rsplit("-", 1)[0]
        return None

    def rate_for(self, model_id: str | None) -> Rate | None:
        key = self.normalise(model_id)
        return self.rates.get(key) if key else None

    def cost(self, model_id: str | None, prompt: int, completion: int, cached: int = 0) -> float:
        """USD for one call; 0.0 for local or unknown models (see ``rate_for`` to tell them apart)."""
        rate = self.rate_for(model_id)
        if rate is None:
            return 0.0
        cached = max(0, min(cached, prompt))
        # Each term divided separately: bit-for-bit the original's arithmetic (legacy parity).
        return (max(0, prompt - cached) * rate.input / 1e6 + cached * rate.cache_read / 1e6
                + completion * rate.output / 1e6)

    def scenario_model(self, scenario: str) -> str:
        """A scenario name ("openai-gpt5.5") to its model key; an unknown name is a raw model id."""
        return self.scenarios.get(scenario, scenario)


def load_pricing(path: str | Path | None = None) -> PricingTable:
    return _load(str(Path(path) if path else DEFAULT_TABLE))


@lru_cache(maxsize=8)
def _load(path: str) -> PricingTable:
    raw = Path(path).read_bytes()
    data = json.loads(raw)
    rates = {k.lower(): Rate(**v) for k, v in data["models"].items()}
    return PricingTable(
        rates=rates,
        scenarios=dict(data.get("scenarios", {})),
        headline_scenarios=tuple(data.get("headline_scenarios", ())),
        sha256=hashlib.sha256(raw).hexdigest(),
        path=path,
    )
