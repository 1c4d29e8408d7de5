"""The documentation site builds with ``mkdocs build --strict``, and its reference pages carry what
the code defines: every config field, every ``--arena-*`` option and command, every row field,
every cell-folder file and every task (generated sections, kept current by
``python -m pytest_arena schema`` and ``tasks --write``, which fail their ``--check`` when stale)."""
from __future__ import annotations

import html
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.docs.conftest import ROOT, build_site


def page_text(site: Path, page: str) -> str:
    """The page's HTML with tags stripped and entities decoded: the text a reader sees."""
    raw = (site / f"{page or 'index'}.html").read_text(encoding="utf-8")
    return html.unescape(re.sub(r"<[^>]+>", "", raw))


def test_the_site_has_the_tutorial_the_howtos_and_the_reference(site):
    for page in ("", "tutorial", "install", "howto/add-an-agent", "howto/add-a-model", "howto/add-a-task",
                 "howto/reanalyse-and-compare", "howto/add-a-strategy", "howto/add-a-sandbox-kind",
                 "architecture", "reference/config", "reference/cli", "reference/rows",
                 "reference/cell-folder", "reference/tasks"):
        assert (site / f"{page or 'index'}.html").is_file(), page
    tutorial = page_text(site, "tutorial")
    assert "pytest --arena-config configs/smoke.yaml --arena-failures-ok" in tutorial
    assert "report.html" in tutorial


def test_the_reference_pages_carry_every_field_option_and_file_the_code_defines(site):
    from pydantic import BaseModel

    from pytest_arena.__main__ import COMMANDS
    from pytest_arena.cell.rows import Row
    from pytest_arena.docgen.cell_folder import entries
    from pytest_arena.docgen.cli_reference import pytest_options
    from pytest_arena.docgen.config_reference import _leaf_fields
    from pytest_arena.sweep.config.schema import ArenaConfig
    from pytest_arena.tasks.folder import TaskSpec, discover_tasks

    config = page_text(site, "reference/config")
    assert [path for path, _, _ in _leaf_fields(ArenaConfig) if path not in config] == []
    assert "router.local_guards.wall_timeout_s" in config

    cli = page_text(site, "reference/cli")
    assert [o.names[0] for o in pytest_options() if o.names[0] not in cli] == []
    assert [name for name in COMMANDS if f"python -m pytest_arena {name}" not in cli] == []
    assert "--compare" in cli and "--max-inflight" in cli

    rows = page_text(site, "reference/rows")
    models: list[type[BaseModel]] = [Row]
    for model in models:
        for field in model.model_fields.values():
            nested = [a for a in (field.annotation, *getattr(field.annotation, "__args__", ()))
                      if isinstance(a, type) and issubclass(a, BaseModel)]
            models += [n for n in nested if n not in models]
    missing = [f"{m.__name__}.{name}" for m in models for name in m.model_fields if name not in rows]
    assert missing == [] and len(models) > 5
    assert "infra_error" in rows and "INFRA-ERROR" in rows

    cells = page_text(site, "reference/cell-folder")
    assert [e.name for e in entries() if e.name not in cells] == []

    tasks = page_text(site, "reference/tasks")
    assert [t for t in discover_tasks(ROOT / "tasks").tasks if t not in tasks] == []
    assert [f.alias or n for n, f in TaskSpec.model_fields.items() if (f.alias or n) not in tasks] == []


def test_a_broken_link_fails_the_strict_build(tmp_path):
    pytest.importorskip("mkdocs", reason="mkdocs is not installed (pip install -e '.[docs]')")
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    shutil.copy(ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    with (tmp_path / "docs" / "tutorial.md").open("a", encoding="utf-8") as page:
        page.write("\nSee [the options](reference/cli.md#no-such-option).\n")
    result = build_site(tmp_path, tmp_path / "site")
    assert result.returncode != 0
    assert "does not contain an anchor '#no-such-option'" in result.stdout + result.stderr


def test_a_page_left_out_of_the_navigation_fails_the_strict_build(tmp_path):
    pytest.importorskip("mkdocs", reason="mkdocs is not installed (pip install -e '.[docs]')")
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    shutil.copy(ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    (tmp_path / "docs" / "howto" / "orphan.md").write_text("# An orphan\n", encoding="utf-8")
    result = build_site(tmp_path, tmp_path / "site")
    assert result.returncode != 0
    assert "howto/orphan.md" in result.stdout + result.stderr


def schema(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest_arena", "schema", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_the_generated_reference_sections_and_schema_json_are_current():
    result = schema("--check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_stale_generated_section_fails_the_check_and_schema_rewrites_it(tmp_path):
    shutil.copytree(ROOT / "docs" / "reference", tmp_path / "docs" / "reference")
    (tmp_path / "configs").mkdir()
    shutil.copy(ROOT / "configs" / "schema.json", tmp_path / "configs" / "schema.json")
    cli = tmp_path / "docs" / "reference" / "cli.md"
    text = cli.read_text(encoding="utf-8")
    stale = "\n".join(line for line in text.splitlines() if not line.startswith("| `--arena-resume`"))
    cli.write_text(stale + "\n", encoding="utf-8")

    result = schema("--check", "--root", str(tmp_path))
    assert result.returncode == 1
    assert f"{cli}: the pytest-options section is out of date. Run `python -m pytest_arena schema`." in result.stderr
    assert "+| `--arena-resume`" in result.stdout  # the diff shows what is missing
    assert cli.read_text(encoding="utf-8") == stale + "\n"  # --check writes nothing

    assert schema("--root", str(tmp_path)).returncode == 0
    assert "| `--arena-resume`" in cli.read_text(encoding="utf-8")
    assert schema("--check", "--root", str(tmp_path)).returncode == 0


def test_a_page_without_its_markers_gets_one_clear_error(tmp_path):
    shutil.copytree(ROOT / "docs" / "reference", tmp_path / "docs" / "reference")
    (tmp_path / "configs").mkdir()
    shutil.copy(ROOT / "configs" / "schema.json", tmp_path / "configs" / "schema.json")
    rows = tmp_path / "docs" / "reference" / "rows.md"
    rows.write_text("# Rows\n", encoding="utf-8")
    result = schema("--check", "--root", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: {rows}: the row-fields markers are missing. Put the lines <!-- row-fields:start --> and "
        "<!-- row-fields:end --> (in that order) where the section belongs, then run "
        "`python -m pytest_arena schema`.")
