"""``python -m pytest_arena schema``: writes ``configs/schema.json`` and the generated sections of the
reference pages under ``docs/reference/`` (config fields, command-line options, row fields, cell-folder
files, ``task.yaml`` fields), all from the code; ``--check`` writes nothing and exits 1 when any of
them is stale, naming it and the command that fixes it (tests run the check, so stale documentation
fails CI).

The task table (``docs/reference/tasks.md``) has its own command, ``python -m pytest_arena tasks``:
counting each task's tests runs one pytest per task."""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pytest_arena.errors import ArenaError

__all__ = ["SECTIONS", "Section", "main"]

FIX_COMMAND = "python -m pytest_arena schema"
SCHEMA_JSON = Path("configs/schema.json")


@dataclass(frozen=True)
class Section:
    page: Path  # relative to the project root
    name: str  # between <!-- name:start --> and <!-- name:end -->
    render: Callable[[], str]


def _config() -> str:
    from pytest_arena.docgen.config_reference import reference_markdown

    return reference_markdown()


def _pytest_options() -> str:
    from pytest_arena.docgen.cli_reference import pytest_options_markdown

    return pytest_options_markdown()


def _commands() -> str:
    from pytest_arena.docgen.cli_reference import commands_markdown

    return commands_markdown()


def _rows() -> str:
    from pytest_arena.docgen.row_reference import rows_markdown

    return rows_markdown()


def _task_yaml() -> str:
    from pytest_arena.docgen.row_reference import task_yaml_markdown

    return task_yaml_markdown()


def _cell_folder() -> str:
    from pytest_arena.docgen.cell_folder import cell_folder_markdown

    return cell_folder_markdown()


REFERENCE = Path("docs/reference")
SECTIONS = (
    Section(REFERENCE / "config.md", "config-reference", _config),
    Section(REFERENCE / "cli.md", "pytest-options", _pytest_options),
    Section(REFERENCE / "cli.md", "commands", _commands),
    Section(REFERENCE / "rows.md", "row-fields", _rows),
    Section(REFERENCE / "cell-folder.md", "cell-files", _cell_folder),
    Section(REFERENCE / "tasks.md", "task-yaml", _task_yaml),
)


def sync(root: Path, *, write: bool) -> int:
    """Write (or check) ``configs/schema.json`` and every section under ``root``; 1 when any is stale."""
    from pytest_arena.docgen.config_reference import schema_text
    from pytest_arena.docgen.sections import sync_section

    missing = [p for p in (root / SCHEMA_JSON.parent, root / REFERENCE) if not p.is_dir()]
    if missing:
        raise ArenaError(f"{root.resolve()} is not a pytest-arena checkout (no {', '.join(map(str, missing))}): "
                         f"`{FIX_COMMAND}` regenerates the project's own schema and reference pages; run it in a "
                         "clone, or give the clone with --root")
    stale = 0
    schema_path = root / SCHEMA_JSON
    fresh = schema_text()
    if write:
        schema_path.write_text(fresh, encoding="utf-8")
        print(f"wrote {schema_path}")
    else:
        try:
            current = json.loads(schema_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            current = None
        if current != json.loads(fresh):
            print(f"{schema_path} is out of date. Run `{FIX_COMMAND}`.", file=sys.stderr)
            stale = 1
    for section in SECTIONS:
        stale |= sync_section(root / section.page, section.name, section.render(), write=write,
                              fix_command=FIX_COMMAND)
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=f"{FIX_COMMAND}",
        description="Write configs/schema.json and the generated reference pages (docs/reference/) from the code.")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 when schema.json or a generated section is out of date")
    parser.add_argument("--root", type=Path, default=Path("."),
                        help="the project folder holding configs/ and docs/ (default: the current folder)")
    args = parser.parse_args(argv)
    try:
        return sync(args.root, write=not args.check)
    except ArenaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
