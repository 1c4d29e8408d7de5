"""Legacy mode: the original project's i.i.d. row bootstrap, reproduced exactly (ORIGINAL.md 7.2),
so our numbers can be placed beside its published ones.

The algorithm, as the original ran it:
- drop rows with a truthy ``error`` before grouping (for our rows: an outcome other than
  pass/fail, see ``Observation.legacy_error``); a cell left empty disappears;
- cell key ``"::".join(str(v) or "none")`` over (category as written, route, router_strategy),
  cells in first-appearance order;
- one ``random.Random(42)`` shared by all cells; per cell of n rows (file order) and per resample,
  ``[rows[rng.randrange(n)] for _ in range(n)]``; 1,000 resamples; all metrics on the same
  resample; None values skipped;
- metrics: pass_rate = mean functional_pass over non-None; cost_usd = median row cost under the
  scenario; cloud_fraction = Σ cloud tokens / Σ all four split token fields (None when 0);
  wall_ms = median wall time;
- CI = percentile with linear interpolation at q = 0.025 and 0.975.

The random draws must come from CPython's ``randrange`` in that order; the metrics are then
computed with numpy on the drawn index matrix, which gives the same numbers as the original's
per-resample loop (pricing each row once instead of on every resample).
"""
from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import numpy as np

from pytest_arena.analysis.stats.observations import Observation

LEGACY_RESAMPLES = 1000
LEGACY_SEED = 42
LEGACY_CONFIDENCE = 0.95
LEGACY_QUANTILES = (0.025, 0.975)  # written out: (1 - 0.95) / 2 is 0.025000000000000022
LEGACY_STRATIFY = ("category", "route", "router_strategy")
LEGACY_SCHEMA_VERSION = "2.0"


def legacy_cell_key(obs: Observation) -> str:
    """The original's key: a None field is the word ``none``; an empty string stays empty."""
    return "::".join("none" if v is None else str(v) for v in (obs.raw_category, obs.cell.agent, obs.raw_strategy))


def _resample_values(index: np.ndarray, columns: dict[str, np.ndarray]) -> dict[str, list[float | None]]:
    """The four metrics for each row of ``index`` (one resample per row); None where undefined."""
    valid, passed = columns["pass_valid"][index], columns["passed"][index]
    graded = valid.sum(axis=1)
    pass_rate = np.where(graded > 0, passed.sum(axis=1) / np.maximum(graded, 1), np.nan)
    cost = np.median(columns["cost"][index], axis=1)
    cloud = columns["cloud_tokens"][index].sum(axis=1)
    split = columns["split_tokens"][index].sum(axis=1)
    cloud_fraction = np.where(split > 0, cloud / np.maximum(split, 1), np.nan)
    walls = columns["wall_ms"][index]
    if np.isnan(walls).any():
        wall = np.array([np.median(r[~np.isnan(r)]) if (~np.isnan(r)).any() else np.nan for r in walls])
    else:
        wall = np.median(walls, axis=1)
    return {name: [None if np.isnan(v) else float(v) for v in values]
            for name, values in (("pass_rate", pass_rate), ("cost_usd", cost),
                                 ("cloud_fraction", cloud_fraction), ("wall_ms", wall))}


def _percentile_ci(point: float | None, values: list[float | None]) -> dict[str, Any]:
    kept = [v for v in values if v is not None]
    if not kept:
        return {"point": point, "ci_lower": None, "ci_upper": None}
    lower, upper = np.quantile(np.array(kept), LEGACY_QUANTILES)
    return {"point": point, "ci_lower": float(lower), "ci_upper": float(upper)}


def legacy_bootstrap(observations: list[Observation], costs: list[float], scenario: str,
                     n_resamples: int = LEGACY_RESAMPLES, seed: int = LEGACY_SEED) -> dict[str, Any]:
    """The original's ``bootstrap_cis.json`` (schema 2.0) for these rows, in file order.

    ``costs[i]`` is the cost of ``observations[i]`` under ``scenario``.
    """
    rng = random.Random(seed)
    cells: dict[str, list[tuple[Observation, float]]] = {}
    for obs, cost in zip(observations, costs):
        if not obs.legacy_error:
            cells.setdefault(legacy_cell_key(obs), []).append((obs, cost))
    out_cells = {}
    for key, members in cells.items():
        n = len(members)
        draws = np.array([[rng.randrange(n) for _ in range(n)] for _ in range(n_resamples)], dtype=np.int64)
        columns = {
            "pass_valid": np.array([o.functional_pass is not None for o, _ in members]),
            "passed": np.array([bool(o.functional_pass) for o, _ in members], dtype=np.int64),
            "cost": np.array([c for _, c in members], dtype=float),
            "cloud_tokens": np.array([o.tokens.cloud_total for o, _ in members], dtype=np.int64),
            "split_tokens": np.array([o.tokens.cloud_total + o.tokens.local_total for o, _ in members], dtype=np.int64),
            "wall_ms": np.array([np.nan if o.wall_ms is None else o.wall_ms for o, _ in members], dtype=float),
        }
        points = _resample_values(np.arange(n)[None, :], columns)
        replicates = _resample_values(draws, columns)
        seeds = sorted({o.seed for o, _ in members if o.seed is not None})
        out_cells[key] = {
            "n_rows": n, "n_seeds": len(seeds), "seeds": seeds,
            **{metric: _percentile_ci(points[metric][0], replicates[metric])
               for metric in ("pass_rate", "cost_usd", "cloud_fraction", "wall_ms")},
        }
    return {
        "schema_version": LEGACY_SCHEMA_VERSION,
        "generated_at": datetime.now(UTC).isoformat(),
        "n_resamples": n_resamples, "ci": LEGACY_CONFIDENCE, "scenario": scenario,
        "stratify_by": list(LEGACY_STRATIFY), "rng_seed": seed, "cells": out_cells,
    }
