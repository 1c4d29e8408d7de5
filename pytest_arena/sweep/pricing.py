"""The sweep's pricing table: where it is (``pricing.table``, else the shipped one) and whether it
prices the config's cloud model, checked when a session loads.

Apart from the session because both the session's state (the check, the measured settings) and its
services (the router's budget checks, what scripted traffic is priced as) read the table's path,
and the services must not import the session that owns them.
"""
from __future__ import annotations

from pathlib import Path

from pytest_arena.errors import ConfigError
from pytest_arena.sweep.config.backends import backend_spec
from pytest_arena.sweep.config.schema import ArenaConfig

__all__ = ["check_cloud_pricing", "pricing_table_path"]


def pricing_table_path(config: ArenaConfig, project_root: Path) -> Path | None:
    """pricing.table, relative to the pytest rootdir; None: the shipped table."""
    return project_root / config.pricing.table if config.pricing.table else None


def check_cloud_pricing(config: ArenaConfig, config_path: Path, project_root: Path) -> list[str]:
    """A cloud model the pricing table lacks costs $0 in the ledger and every report. With a budget
    cap that cap could never trip: ConfigError. Without one: the warnings for the session summary."""
    from pytest_arena.router.backends.base import backend_class
    from pytest_arena.router.pricing import load_pricing

    spec = backend_spec(config.models.cloud, config.models, "cloud", concurrency=1)
    if backend_class(spec.kind).local:
        return []  # the scripted stand-in is priced as the primary scenario (see Services.price_as)
    path = pricing_table_path(config, project_root)
    try:
        pricing = load_pricing(path)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{config_path}: field 'pricing.table': cannot read the pricing table {path}: "
                          f"{type(exc).__name__}: {exc}; fix the path or remove the field to use the shipped "
                          "table.") from None
    if pricing.rate_for(spec.model) is not None:
        return []
    caps = [f"budget.{name}" for name in ("cell_usd", "session_usd") if getattr(config.budget, name) is not None]
    if caps:
        raise ConfigError(
            f"{config_path}: field '{caps[0]}': the cloud model {spec.model!r} (models.cloud) has no price in "
            f"{pricing.path}, so its calls would cost $0 and the {' and '.join(caps)} cap could never trip; "
            f"add {spec.model!r} to the table's 'models' (USD per 1M tokens: input, output, cache_read), "
            f"set pricing.table to a table that prices it, or remove {' and '.join(caps)}.")
    from pytest_arena.router.strategies import get_strategy

    if not any("cloud" in get_strategy(strategy).sides for strategy in config.strategies):
        return []  # no strategy routes to it (a !cloud suffix still could; the ledger logs that)
    return [f"the cloud model {spec.model!r} (models.cloud) has no price in {pricing.path}: its calls are "
            f"recorded at $0, so every cost in this session's reports is too low; add it to the table's "
            f"'models' or set pricing.table to a table that prices it."]
