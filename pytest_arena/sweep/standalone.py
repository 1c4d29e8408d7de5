"""``python -m pytest_arena router --config X.yaml``: the router standalone, serving one config's routing.

The run is ``router.strategy`` between the config's first local model and its cloud model, with
their services ready (the embedded model started, Ollama checked, keys present), for debugging an
agent by hand against the same routing a cell gets. This lives in the plugin, not the router: the
router imports nothing of the plugin, so the plugin builds the run and hands it to the router's
own ``main``, which keeps its flags (``--port``, ``--ledger``, ``--token``, ...).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pytest_arena.router import __main__ as router_main
from pytest_arena.router.contracts import RunSpec
from pytest_arena.sweep.config.loading import load_config
from pytest_arena.sweep.config.schema import ArenaConfig
from pytest_arena.sweep.pricing import pricing_table_path
from pytest_arena.sweep.services.lifecycle import Services
from pytest_arena.sweep.session import apply_host_settings, host_settings, host_state_dir, resolve_config_path


def run_spec(config: ArenaConfig, services: Services) -> RunSpec:
    """The standalone run of ``config``, its backends resolved (and started) by ``services``."""
    from pytest_arena.router.strategies import get_strategy

    strategy = config.router.strategy
    needs = get_strategy(strategy).needs
    return RunSpec(
        run_id=router_main.RUN_ID, strategy=strategy,
        local=services.backend(config.models.locals[0], "local"),
        cloud=services.backend(config.models.cloud, "cloud"),
        strategy_params=config.strategy_params(strategy),
        classifier=services.backend(config.models.router_classifier, "local") if "classifier" in needs else None,
        embedder=services.backend(config.models.embedding, "local")
        if "embedder" in needs and config.models.embedding else None,
        guards=config.guards(), cell_budget_usd=config.budget.cell_usd,
        classifier_timeout_s=config.router.classifier_timeout_s, prompt_cache=config.router.prompt_cache)


def main(argv: list[str] | None = None) -> int:
    """``router`` sub-command; ``argv`` is what follows ``router`` on the command line."""
    from pytest_arena.errors import ArenaError

    parser = router_main.build_parser(prog="python -m pytest_arena router", run_flags=False)
    parser.description = __doc__
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--config", required=True, type=Path,
                        help="the arena config YAML whose routing to serve, or a shipped config's name (smoke)")
    parser.add_argument("--arena-set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config field, as with pytest --arena-set")
    parser.set_defaults(port=None)  # the config's router.port unless --port is given
    args = parser.parse_args(argv)
    services: Services | None = None
    try:
        path = args.config if args.config.is_file() else resolve_config_path(args.config, Path.cwd())
        config = load_config(path, args.arena_set)  # a file's path as typed: errors name it so
        if args.port is None:
            args.port = config.router.port
        host = host_settings(config, "standalone")
        config = apply_host_settings(config, host)
        # No session: the standalone router has no cells, tasks or results, only the services they'd call.
        services = Services(config=config, project_root=Path.cwd(), worker="standalone",
                            host_dir=host_state_dir(config.variant_tag),
                            pricing_path=pricing_table_path(config, Path.cwd()))
        spec = run_spec(config, services)
    except ArenaError as exc:
        if services is not None:
            services.close()
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        return router_main.main(spec=spec, args=args)
    finally:
        services.close()  # an embedded model server it started stops with it
