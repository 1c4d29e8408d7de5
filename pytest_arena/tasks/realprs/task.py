"""A prepared instance as a task (``pytest_arena.tasks.base.Task``), so cells, the runner, the
scorer, oracle and null treat it like any other task.

The parts map onto the instance: ``workspace`` is the repository at ``base_commit`` (what the
agent sees: no patch, no test_patch), ``tests`` the files after ``test_patch`` (restored before
scoring, hidden from the agent), ``reference`` the files after ``patch`` (what oracle writes).
Scoring runs exactly FAIL_TO_PASS + PASS_TO_PASS (its ``test_ids``); the cell passes (is
*resolved*, SWE-bench's rule, which its rows report) iff every one of them passes.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from pydantic import BaseModel

from pytest_arena.errors import ConfigError, TaskError
from pytest_arena.scoring.records import ScoringEnv
from pytest_arena.tasks.base import Part
from pytest_arena.tasks.realprs import NAME as TASK_CLASS
from pytest_arena.tasks.realprs.env import EnvError, EnvRecipe, ProjectEnv, build_env, check_python
from pytest_arena.tasks.realprs.files import copy_tree
from pytest_arena.tasks.realprs.instance import (
    KEY_INSTANCE_ID,
    KEY_MODEL,
    KEY_PREDICTION,
    Instance,
    read_jsonl,
)
from pytest_arena.tasks.realprs.patch import PatchError, model_patch
from pytest_arena.tasks.realprs.prepare import (
    FINGERPRINT_FILE,
    INSTANCE_FILE,
    cached_sdist,
    check_unchanged,
    instance_dir,
    prepare_instance,
    store_lock,
    user_repo,
)
from pytest_arena.tasks.realprs.recipe import Recipe, discover_recipes

__all__ = ["PatchError", "RealPrTask", "model_patch"]

SHAPE = "PR"
PREDICTION_FILE = "prediction.jsonl"  # one line: what swebench.harness.run_evaluation reads
PREDICTION_NOTES = "prediction-notes.txt"  # what of the workspace is not in the prediction's diff, and why
_IGNORED = {".git", "__pycache__", ".pytest_cache"}


class RealPrSpec(BaseModel):
    """The task.yaml fields the harness reads, for an instance."""

    title: str
    timeout_s: int
    scoring_timeout_s: int
    tests_visible: bool = False  # the agent sees the repository's tests at base, never test_patch
    source: str
    license: str
    stresses: str = "a real bug fix in a real repository (SWE-bench format)"


@dataclass(frozen=True, eq=False)
class RealPrTask:
    instance: Instance
    spec: RealPrSpec
    env_recipe: EnvRecipe
    source_root: str
    store: Path  # <root>: prepared instances, envs
    repos: Path | None = None  # the user's clones (SWE-bench data); None for our recipes
    scoring_mode: str = "local"  # scoring.real_prs
    task_class: str = TASK_CLASS
    shape: str = SHAPE
    _files: dict[str, dict[str, bytes]] = field(default_factory=dict, repr=False)

    @property
    def id(self) -> str:
        return f"{TASK_CLASS}/{self.instance.instance_id}"

    @cached_property
    def content_digest(self) -> str:
        """The instance (repository commit, patches, tests) and its environment recipe, without
        reading the repository (the user's data is prepared only when a cell runs)."""
        text = json.dumps([self.instance.model_dump(), self.env_recipe.key, self.source_root], sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:24]

    @property
    def check_reference_at_start(self) -> bool:
        """Ours are checked at session start; the user's SWE-bench data (validated by its makers)
        is prepared only when one of its cells runs, never all of it up front."""
        return self.repos is None

    @property
    def root(self) -> Path:
        """The prepared folder (patch, test_patch, reference): hidden from the scoring sandbox."""
        return instance_dir(self.store, self.instance.instance_id)

    @property
    def prompt(self) -> str:
        return self.instance.problem_statement.strip()

    @property
    def test_ids(self) -> list[str]:
        """FAIL_TO_PASS + PASS_TO_PASS: the tests the verdict counts."""
        return self.instance.test_ids

    @property
    def reports_resolved(self) -> bool:
        return True

    @cached_property
    def test_files(self) -> tuple[str, ...]:
        return tuple(self.files("tests"))

    def ensure_prepared(self) -> Path:
        """The prepared folder, made now from the user's clone when it is not there yet (or was
        made from another version of the instance, or by an older harness)."""
        if self._current():
            return self.root
        if self.repos is None:
            raise TaskError(f"real-prs instance {self.instance.instance_id} is not prepared in {self.store}: "
                            f"run `python -m pytest_arena setup --tasks real-prs`.")
        with store_lock(self.store):
            if not self._current():
                shutil.rmtree(self.root, ignore_errors=True)
            return prepare_instance(self.instance, user_repo(self.repos, self.instance), self.store)

    def _current(self) -> bool:
        """Whether the prepared folder is there (for the user's data: of this very instance, by
        this harness)."""
        if not (self.root / INSTANCE_FILE).is_file():
            return False
        return self.repos is None or ((self.root / FINGERPRINT_FILE).is_file() and Instance.model_validate_json(
            (self.root / INSTANCE_FILE).read_text("utf-8")) == self.instance)

    def files(self, part: Part) -> dict[str, bytes]:
        """Relative path -> content of every file of one part (the repository without .git)."""
        if part not in self._files:
            base = self.ensure_prepared() / ("repo" if part == "workspace" else part)
            out: dict[str, bytes] = {}
            for path in sorted(base.rglob("*")):
                rel = path.relative_to(base)
                if path.is_file() and not path.is_symlink() and not (set(rel.parts) & _IGNORED):
                    out[rel.as_posix()] = path.read_bytes()
            self._files[part] = out
        return self._files[part]

    def materialise(self, parts: tuple[Part, ...], dest: Path) -> None:
        """The repository (with its .git, so agents can diff: a copy, its own object store) and
        then the other parts on top. Checks first that this machine can score the instance (its
        Python) and that the prepared repository is as it was prepared."""
        check_python(self.env_recipe)
        dest.mkdir(parents=True, exist_ok=True)
        if "workspace" in parts:
            root = self.ensure_prepared()
            check_unchanged(root / "repo", root / FINGERPRINT_FILE, self.instance.base_commit,
                            f"real-prs instance {self.instance.instance_id}")
            copy_tree(root / "repo", dest)
        for part in parts:
            if part != "workspace":
                for rel, content in self.files(part).items():
                    (dest / rel).parent.mkdir(parents=True, exist_ok=True)
                    (dest / rel).write_bytes(content)

    def scoring_env(self, base: ScoringEnv) -> ProjectEnv:
        if self.scoring_mode == "swebench-docker":
            docker = shutil.which("docker")
            raise EnvError(
                f"scoring.real_prs is swebench-docker, which runs the official harness in Docker "
                f"({'docker is not installed here' if docker is None else 'not run by this harness yet'}): "
                f"the cell's prediction.jsonl is ready for `python -m swebench.harness.run_evaluation "
                f"--predictions_path <cell>/prediction.jsonl`; set scoring.real_prs: local to score here")
        return build_env(self.env_recipe, base, self.store, self.source_root)

    def record_solution(self, workspace: Path, cell_dir: Path, model: str) -> None:
        """The cell's diff as a SWE-bench prediction (for swebench.harness.run_evaluation), and
        ``prediction-notes.txt`` naming what of the workspace the diff leaves out. A workspace
        that gives no diff at all is the agent's doing: the prediction is empty and PatchError
        says why (the cell fails)."""
        def write(patch: str, notes: list[str]) -> None:
            prediction = {KEY_INSTANCE_ID: self.instance.instance_id, KEY_MODEL: model, KEY_PREDICTION: patch}
            (cell_dir / PREDICTION_FILE).write_text(json.dumps(prediction) + "\n")
            if notes:
                (cell_dir / PREDICTION_NOTES).write_text("".join(f"{note}\n" for note in notes), encoding="utf-8")

        try:
            made = model_patch(self.ensure_prepared() / "repo", workspace, self.instance.base_commit)
        except PatchError as exc:
            write("", [str(exc)])
            raise
        write(made.text, made.notes)


# --- the registry -----------------------------------------------------------------------------

def recipe_tasks(tasks_root: Path, store: Path) -> list[RealPrTask]:
    """The shipped instances (recipes under ``<tasks_root>/real-prs/``), each prepared by setup."""
    tasks = []
    for recipe in discover_recipes(tasks_root):
        folder = instance_dir(store, recipe.instance_id)
        sdist = cached_sdist(store / "sdists", recipe.pypi, recipe.base.version)
        if not (folder / INSTANCE_FILE).is_file() or sdist is None:
            raise ConfigError(f"real-prs instance {recipe.instance_id} is not prepared in {store}: run "
                              f"`python -m pytest_arena setup --tasks real-prs` (needs PyPI once).")
        instance = Instance.model_validate_json((folder / INSTANCE_FILE).read_text("utf-8"))
        if not matches(instance, recipe):
            raise ConfigError(f"real-prs instance {recipe.instance_id} in {store} was prepared from an "
                              f"older recipe: run `python -m pytest_arena setup --tasks real-prs` again.")
        if not (folder / FINGERPRINT_FILE).is_file():
            raise ConfigError(f"real-prs instance {recipe.instance_id} in {store} was prepared by an older "
                              f"harness (its repository may hold more than base_commit's objects): run "
                              f"`python -m pytest_arena setup --tasks real-prs` again.")
        tasks.append(RealPrTask(
            instance=instance,
            spec=RealPrSpec(title=recipe.changelog.strip().splitlines()[0][:80], timeout_s=recipe.timeout_s,
                            scoring_timeout_s=recipe.scoring_timeout_s, license=recipe.license,
                            source=f"{recipe.pypi} {recipe.base.version} -> {recipe.fix.version} (PyPI sdists)"),
            env_recipe=EnvRecipe(instance_id=recipe.instance_id, python=recipe.python, project=str(sdist),
                                 project_digest=recipe.base.sha256, requirements=tuple(recipe.requirements)),
            source_root=recipe.source_root, store=store))
    return tasks


def matches(instance: Instance, recipe: Recipe) -> bool:
    """Whether a prepared instance still says what its recipe says."""
    return (instance.FAIL_TO_PASS == recipe.fail_to_pass and instance.PASS_TO_PASS == recipe.pass_to_pass
            and instance.problem_statement.strip() == recipe.problem_statement.strip()
            and instance.version == recipe.base.version)


def jsonl_tasks(instances: Path, repos: Path, store: Path, timeout_s: int, scoring_timeout_s: int) -> list[RealPrTask]:
    """The user's SWE-bench instances; each is prepared from its clone when a cell first needs it."""
    tasks = []
    for instance in read_jsonl(instances):
        repo = instance_dir(store, instance.instance_id) / "repo"
        tasks.append(RealPrTask(
            instance=instance,
            spec=RealPrSpec(title=instance.instance_id, timeout_s=timeout_s, scoring_timeout_s=scoring_timeout_s,
                            source=f"{instances.name}: {instance.repo}@{instance.base_commit[:12]}",
                            license="see the repository"),
            env_recipe=EnvRecipe(instance_id=instance.instance_id, python=str(getattr(instance, "python", "") or ""),
                                 project=str(repo),
                                 project_digest=instance.environment_setup_commit or instance.base_commit,
                                 requirements=tuple(getattr(instance, "requirements", None) or ())),
            source_root=str(getattr(instance, "source_root", None) or "."), store=store, repos=repos))
    return tasks
