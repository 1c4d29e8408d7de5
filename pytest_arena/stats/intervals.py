"""Confidence intervals: task-clustered bootstrap (vectorised numpy) and Wilson score intervals.

The unit of resampling is the task. Each resample draws tasks with replacement and carries every
seed of a drawn task along, so seeds of one task never count as independent evidence. Statistics
are ratio estimators over per-task sums (e.g. passes / runs), so a resample is one matrix product:
``counts (B x T) @ per_task_sums (T x k)``.
"""
from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

CONFIDENCE = 0.95


def z_value(confidence: float = CONFIDENCE) -> float:
    return NormalDist().inv_cdf(0.5 + confidence / 2)


@dataclass(frozen=True, slots=True)
class Interval:
    point: float | None
    lower: float | None
    upper: float | None
    method: str  # "cluster-bootstrap" | "wilson" | "none"

    def as_dict(self) -> dict:
        return {"point": self.point, "ci_lower": self.lower, "ci_upper": self.upper, "method": self.method}

    def overlaps(self, other: "Interval") -> bool:
        if None in (self.lower, self.upper, other.lower, other.upper):
            return False
        return self.lower <= other.upper and other.lower <= self.upper


NO_INTERVAL = Interval(None, None, None, "none")


def wilson_interval(proportion: float, n: float, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Wilson score interval for a proportion observed on n units (n may be fractional)."""
    if n <= 0:
        raise ValueError("the Wilson interval needs n > 0")
    z = z_value(confidence)
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (proportion + z2 / (2 * n)) / denominator
    half = z / denominator * math.sqrt(proportion * (1 - proportion) / n + z2 / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def cell_rng(seed: int, label: str) -> np.random.Generator:
    """A generator per cell, derived from the run seed and the cell's name: adding or removing
    another cell never changes this cell's interval."""
    return np.random.default_rng(np.random.SeedSequence([seed, zlib.crc32(label.encode("utf-8"))]))


def resample_counts(n_tasks: int, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """How often each task is drawn in each resample: an int matrix (resamples x n_tasks)."""
    draws = rng.integers(0, n_tasks, size=(resamples, n_tasks))
    flat = draws + (np.arange(resamples) * n_tasks)[:, None]
    return np.bincount(flat.ravel(), minlength=resamples * n_tasks).reshape(resamples, n_tasks)


def percentile_interval(values: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float] | None:
    """Percentile interval (linear interpolation) of the finite values; None if there are none."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return None
    tail = (1 - confidence) / 2 * 100
    lower, upper = np.percentile(finite, [tail, 100 - tail])
    return float(lower), float(upper)


def ratio_replicates(counts: np.ndarray, numerators: np.ndarray, denominators: np.ndarray) -> np.ndarray:
    """sum(numerator) / sum(denominator) over the drawn tasks, per resample; NaN where the
    denominator is 0 (e.g. cost per solved task in a resample without a solved task)."""
    top = counts @ numerators
    bottom = counts @ denominators
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(bottom > 0, top / np.where(bottom > 0, bottom, 1), np.nan)


def ratio_interval(point: float | None, replicates: np.ndarray, confidence: float = CONFIDENCE) -> Interval:
    if point is None:
        return NO_INTERVAL
    bounds = percentile_interval(replicates, confidence)
    if bounds is None:
        return Interval(point, None, None, "none")
    return Interval(point, bounds[0], bounds[1], "cluster-bootstrap")


def pass_rate_interval(point: float | None, n_tasks: int, replicates: np.ndarray,
                       confidence: float = CONFIDENCE) -> Interval:
    """Cluster-bootstrap percentile interval for a pass rate; where the bootstrap degenerates
    (every resample equal: all pass, all fail, or a single task) a Wilson interval with n = the
    number of tasks, the resampling unit."""
    if point is None or n_tasks == 0:
        return NO_INTERVAL
    bounds = percentile_interval(replicates, confidence)
    if bounds is None or bounds[0] == bounds[1]:
        lower, upper = wilson_interval(point, n_tasks, confidence)
        return Interval(point, lower, upper, "wilson")
    return Interval(point, bounds[0], bounds[1], "cluster-bootstrap")
