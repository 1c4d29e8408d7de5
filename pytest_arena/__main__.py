"""`python -m pytest_arena <command>`: setup, analyze, plan, router, status, tasks, schema."""
from __future__ import annotations

import sys
from pathlib import Path

COMMANDS = {
    "setup": ("pytest_arena.sweep.setup", "install agents (and the embedded model) pinned and isolated"),
    "analyze": ("pytest_arena.analysis.analyze", "re-compute every report from one or more raw.jsonl files or folders"),
    "plan": ("pytest_arena.sweep.plan",
             "print a sweep's cells per axis, projected cloud spend and wall time, budget caps; runs nothing"),
    "router": ("pytest_arena.sweep.standalone",
               "serve one config's routing standalone (--config X.yaml), for driving an agent by hand"),
    "status": ("pytest_arena.plugin.status",
               "a sweep's state from any terminal: cells done and left, running cells, cost, ETA"),
    "tasks": ("pytest_arena.docgen.task_table", "print the task table generated from tasks/ (--check README.md)"),
    "schema": (None, "write configs/schema.json from the config model and the README config reference"),
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
    if command == "schema":
        from pytest_arena.docgen.config_reference import reference_markdown, write_schema
        from pytest_arena.docgen.readme_sections import sync_section

        check = "--check" in rest
        write_schema_to = Path("configs/schema.json")
        if check:
            import json

            from pytest_arena.sweep.config.schema import ArenaConfig

            stale = json.loads(write_schema_to.read_text()) != json.loads(json.dumps(ArenaConfig.model_json_schema()))
            code = sync_section(Path("README.md"), "config-reference", reference_markdown(), write=False,
                                fix_command="python -m pytest_arena schema")
            if stale:
                print(f"{write_schema_to} is out of date. Run `python -m pytest_arena schema`.", file=sys.stderr)
            return 1 if stale or code else 0
        write_schema(write_schema_to)
        print(f"wrote {write_schema_to}")
        return sync_section(Path("README.md"), "config-reference", reference_markdown(), write=True,
                            fix_command="python -m pytest_arena schema")
    import importlib

    module_name = COMMANDS[command][0]
    assert module_name is not None  # only "schema" has no module, and it is handled above
    module = importlib.import_module(module_name)
    return int(module.main(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
