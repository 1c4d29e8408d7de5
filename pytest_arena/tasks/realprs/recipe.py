"""Instance recipes: ``tasks/real-prs/<instance_id>.yaml``, our own files (no third-party source).

A recipe names a permissively licensed project on PyPI, two consecutive releases (the later one
fixed a bug and added a test for it), the files of the fix and of its test, the tests that must
go from failing to passing and those that must keep passing, and a problem statement in our own
words. ``setup --tasks real-prs`` turns it into a SWE-bench instance (see ``prepare``).
"""
from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pytest_arena.errors import TaskError
from pytest_arena.tasks.realprs.instance import check_instance_id
from pytest_arena.yamlfile import read_model

RECIPE_FOLDER = "real-prs"


class Release(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str = Field(min_length=1)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="of the release's sdist on PyPI")


class Recipe(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    instance_id: str = Field(description="owner__name-version[-tag] (instance.INSTANCE_ID_PATTERN)")
    repo: str = Field(pattern=r"^[^/\s]+/[^/\s]+$", description="owner/name of the upstream repository")
    pypi: str = Field(min_length=1, description="the project's name on PyPI")
    license: str = Field(min_length=1)
    base: Release = Field(description="the release with the bug: the repository's tree")
    fix: Release = Field(description="the next release, which fixed it and added its test")
    changelog: str = Field(min_length=1, description="the fix release's changelog entry (the fact)")
    patch_files: list[str] = Field(min_length=1, description="source files of the fix -> patch")
    test_files: list[str] = Field(min_length=1, description="test files of the fix -> test_patch")
    python: str = Field(default="", description="a version specifier the interpreter must meet, e.g. '>=3.8'")
    requirements: list[str] = Field(default_factory=list, description="test requirements besides pytest")
    source_root: str = Field(default=".", description="folder holding the package (e.g. src)")
    timeout_s: int = Field(default=900, gt=0, description="agent wall-time limit for one cell")
    scoring_timeout_s: int = Field(default=120, gt=0)
    problem_statement: str = Field(min_length=1)
    fail_to_pass: list[str] = Field(alias="FAIL_TO_PASS", min_length=1)
    pass_to_pass: list[str] = Field(alias="PASS_TO_PASS", default_factory=list)

    @field_validator("instance_id", mode="before")
    @classmethod
    def _instance_id(cls, value: object) -> str:
        return check_instance_id(value)


def read_recipe(path: Path) -> Recipe:
    recipe = read_model(path, Recipe, TaskError, fields="instance_id, repo, pypi",
                        hint=" See docs/howto/real-prs.md.")
    if path.stem != recipe.instance_id:
        raise TaskError(f"{path}: field 'instance_id' is {recipe.instance_id}: name the file "
                        f"{recipe.instance_id}.yaml.")
    return recipe


def discover_recipes(tasks_root: Path) -> list[Recipe]:
    """Every recipe under ``<tasks_root>/real-prs/``, in file-name order."""
    return [read_recipe(path) for path in sorted((Path(tasks_root) / RECIPE_FOLDER).glob("*.yaml"))]
