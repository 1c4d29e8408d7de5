"""Run the router standalone, for debugging an agent by hand.

  python -m pytest_arena.router --strategy heuristic --local ollama:qwen3:8b --cloud openai:gpt-5.5 --port 8787

The router imports nothing of the plugin: to serve one arena config's routing (its strategy, models
and services), use the plugin's command ``python -m pytest_arena router --config X.yaml``, which
takes the same flags as this one.

One run, ``default``, is registered and served both under ``/run/default/...`` and without the
prefix (``/v1/chat/completions``, ``/v1/messages``, ``/api/chat``...), on 127.0.0.1 and on a Unix
socket. With ``--token T`` every call must present T (``Authorization: Bearer T`` or
``x-api-key: T``); without it the run is open to any process on this machine.
"""
from __future__ import annotations

import argparse
import signal
import sys
import threading

from pytest_arena.router.backends.base import backend_class
from pytest_arena.router.contracts import BackendSpec, RunSpec
from pytest_arena.router.errors import ConfigError
from pytest_arena.router.runs import RECENT_RECORDS
from pytest_arena.router.service import RouterSettings, start_router

RUN_ID = "default"


def _key_variable(kind: str) -> str | None:
    """The variable a backend of ``kind`` reads its API key from (Backend.api_key_env)."""
    try:
        return backend_class(kind).api_key_env
    except ConfigError:
        return None  # an unknown kind: registering the run names it, with the kinds there are


def parse_backend(text: str, flag: str) -> BackendSpec:
    """``KIND:MODEL[@BASE_URL]``, e.g. ``ollama:qwen3:8b`` or ``openai:gpt-5.5@https://api.openai.com/v1``."""
    kind, sep, rest = text.partition(":")
    if not sep or not rest:
        raise SystemExit(f"{flag} {text!r}: expected KIND:MODEL[@BASE_URL], e.g. ollama:qwen3:8b")
    model, _, base_url = rest.partition("@")
    return BackendSpec(kind=kind, model=model, label=f"{kind}/{model}", base_url=base_url or None,
                       api_key_env=_key_variable(kind) if not base_url or "127.0.0.1" not in base_url else None)


def run_spec_from_args(args: argparse.Namespace) -> RunSpec:
    if not (args.local and args.cloud):
        raise SystemExit("give --local and --cloud (KIND:MODEL[@BASE_URL]); to serve an arena config's routing, "
                         "run `python -m pytest_arena router --config X.yaml`")
    return RunSpec(run_id=RUN_ID, strategy=args.strategy, local=parse_backend(args.local, "--local"),
                   cloud=parse_backend(args.cloud, "--cloud"))


def build_parser(prog: str = "python -m pytest_arena.router", run_flags: bool = True) -> argparse.ArgumentParser:
    """The router's own flags. ``run_flags`` False leaves out --strategy/--local/--cloud, for a caller
    that hands ``main`` its run (``python -m pytest_arena router --config``)."""
    parser = argparse.ArgumentParser(prog=prog, description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8787, help="port on 127.0.0.1 (0: any free port)")
    if run_flags:
        parser.add_argument("--strategy", default="heuristic", help="routing strategy (default: heuristic)")
        parser.add_argument("--local", help="local backend, KIND:MODEL[@BASE_URL]")
        parser.add_argument("--cloud", help="cloud backend, KIND:MODEL[@BASE_URL]")
    parser.add_argument("--ledger", help="append ledger records (JSONL) to this file")
    parser.add_argument("--env-file", default=".env", help="a .env file with API keys (default: .env)")
    parser.add_argument("--session-budget-usd", type=float, help="cloud spending cap")
    parser.add_argument("--token", help="require this token on every call (Authorization: Bearer or x-api-key); "
                                        "default: no token, open to any local process")
    parser.add_argument("--uds", help="also listen on this Unix socket (default: one in a private temp dir)")
    parser.add_argument("--transcript", help="write every call's request and response (transcript.jsonl, "
                                             "see pytest_arena/analysis/report/SCHEMA.md) to this file")
    parser.add_argument("--transcript-meta-only", action="store_true",
                        help="with --transcript: keep each call's facts, not its request and response bodies")
    parser.add_argument("--max-body-mb", type=float, default=32.0,
                        help="refuse (413) a request body over this many MiB (default 32; 0: no cap)")
    parser.add_argument("--max-messages", type=int, default=10_000,
                        help="refuse (400) a request with more messages (default 10000; 0: no cap)")
    parser.add_argument("--max-inflight", type=int, default=0,
                        help="refuse (429) a call while this many are in flight (default 0: no cap; the "
                             "standalone run is everything sent to it, load generators included)")
    return parser


def main(argv: list[str] | None = None, spec: RunSpec | None = None, args: argparse.Namespace | None = None) -> int:
    """Serve one run until Ctrl-C or SIGTERM: ``spec`` when given (with ``args`` parsed by
    ``build_parser(run_flags=False)``), else the run the flags describe."""
    if args is None:
        args = build_parser(run_flags=spec is None).parse_args(argv)
    if spec is None:
        spec = run_spec_from_args(args)
    spec.run_id = RUN_ID
    if args.transcript:
        spec.transcript_path, spec.transcript_bodies = args.transcript, not args.transcript_meta_only
    # Ctrl-C and `kill` both close it cleanly, at any moment from here on. SIGINT is set too: a
    # process started in the background by a script inherits SIGINT ignored, and Python then keeps
    # it ignored, so an explicit `kill -INT` would never stop the router.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    router = start_router(RouterSettings(port=args.port, ledger_path=args.ledger, env_file=args.env_file,
                                         session_budget_usd=args.session_budget_usd, unscoped_run_id=RUN_ID,
                                         unscoped_token=args.token or None, uds_path=args.uds,
                                         max_body_bytes=int(args.max_body_mb * 2**20) or None,
                                         max_messages=args.max_messages or None,
                                         max_inflight_per_run=args.max_inflight or None))
    try:
        try:
            endpoints = router.register_run(spec)
        except ConfigError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        print(f"pytest-arena router on {router.base_url} (strategy {spec.strategy}; "
              f"local {spec.local.label}, cloud {spec.cloud.label})")
        print(f"  OpenAI base:    {router.base_url}/v1   (or {endpoints.openai_base})")
        print(f"  Anthropic base: {router.base_url}      (or {endpoints.anthropic_base})")
        print(f"  Ollama host:    {router.base_url}      (or {endpoints.ollama_base})")
        print(f"  Unix socket:    {router.uds_path}   (the same routes)")
        if args.token:
            print("  auth:           every call must send the --token, as 'Authorization: Bearer <token>' or "
                  "'x-api-key: <token>'")
        else:
            print("  auth:           none: any process on this machine may call it (give --token to require one)")
        print(f"  ledger:         {args.ledger or 'no file'} (in memory: running totals and the last "
              f"{RECENT_RECORDS} records)", flush=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        router.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
