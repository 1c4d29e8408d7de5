"""`python -m pytest_arena <command>`: setup, analyze, plan, router, status, tasks, schema."""
from __future__ import annotations

import sys

COMMANDS = {
    "setup": ("pytest_arena.sweep.setup", "install agents (and the embedded model) pinned and isolated"),
    "analyze": ("pytest_arena.analysis.analyze", "re-compute every report from one or more raw.jsonl files or folders"),
    "plan": ("pytest_arena.sweep.plan",
             "print a sweep's cells per axis, projected cloud spend and wall time, budget caps; runs nothing"),
    "router": ("pytest_arena.sweep.standalone",
               "serve one config's routing standalone (--config X.yaml), for driving an agent by hand"),
    "status": ("pytest_arena.plugin.status",
               "a sweep's state from any terminal: cells done and left, running cells, cost, ETA"),
    "tasks": ("pytest_arena.docgen.task_table",
              "print the task table generated from tasks/ (--check/--write: docs/reference/tasks.md); "
              "`tasks import exercism`: task folders from Exercism exercises"),
    "schema": ("pytest_arena.docgen.reference",
               "write configs/schema.json and the generated reference pages in docs/reference/ (--check)"),
}


def usage() -> str:
    lines = ["usage: python -m pytest_arena <command> [options]", "", "commands:"]
    lines += [f"  {name:<9} {help_}" for name, (_, help_) in COMMANDS.items()]
    lines += ["", "Run cells with pytest: pytest --arena-config configs/smoke.yaml"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in COMMANDS:
        print(usage(), file=sys.stderr if argv and argv[0] not in ("-h", "--help") else sys.stdout)
        return 0 if not argv or argv[0] in ("-h", "--help") else 2
    command, rest = argv[0], argv[1:]
    import importlib

    module = importlib.import_module(COMMANDS[command][0])
    return int(module.main(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
