"""Cost of a row under any pricing scenario, from its token counts (prices as data, in
``router/data/pricing.json``; the formula lives once, in ``router/pricing.py``).

Row rule: price the cloud prompt and completion tokens at the scenario's rates, whichever cloud
model actually served the row; local tokens (cached ones included) cost 0, as in the ledger; the
cloud calls' cached tokens are priced at the cache-read rate only where the ledger did so (the
row's ``prompt_cache``), else as input like the rest of the prompt. So a row re-priced under the
scenario of the model its ledger priced it as costs what the ledger says (one cost per cell);
only a row served by a fallback model at another price differs. The original project's rows
(ORIGINAL.md 6.2, ``compute_row_cost``) keep its rule: every cached token against the cloud
prompt, at the cache-read rate; a row with no local/cloud split at all is treated as cloud.
"""
from __future__ import annotations

import numpy as np

from pytest_arena.analysis.stats.observations import Tokens
from pytest_arena.router.pricing import PricingTable


def cloud_tokens_for_pricing(tokens: Tokens) -> tuple[int, int, int]:
    """(prompt, completion, cached) that a scenario prices for one row."""
    prompt, completion = tokens.cloud_prompt, tokens.cloud_completion
    if prompt == completion == tokens.local_prompt == tokens.local_completion == 0:
        prompt, completion = tokens.prompt, tokens.completion
    return prompt, completion, min(tokens.cache_reads, prompt)


def row_cost(table: PricingTable, scenario: str, tokens: Tokens) -> float:
    prompt, completion, cached = cloud_tokens_for_pricing(tokens)
    return table.cost(table.scenario_model(scenario), prompt, completion, cached)


def scenario_totals(table: PricingTable, scenarios: list[str], tokens: list[Tokens]) -> np.ndarray:
    """Total cost of these rows under each scenario (an array, one value per scenario).

    The price is linear in the token counts and each row's cached tokens never exceed its
    prompt, so pricing the summed counts once equals summing the per-row prices: one call to the
    pricing table per scenario instead of one per row.
    """
    prompt = completion = cached = 0
    for t in tokens:
        p, c, k = cloud_tokens_for_pricing(t)
        prompt, completion, cached = prompt + p, completion + c, cached + k
    return np.array([table.cost(table.scenario_model(s), prompt, completion, cached) for s in scenarios])


def unknown_scenarios(table: PricingTable, scenarios: list[str]) -> list[str]:
    """Scenarios whose model the table cannot price (they would silently cost 0)."""
    return [s for s in scenarios if table.rate_for(table.scenario_model(s)) is None]
