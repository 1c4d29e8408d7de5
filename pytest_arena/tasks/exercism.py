"""Task folders from Exercism-layout exercises: ``python -m pytest_arena tasks import exercism``.

pytest-arena ships a handful of puzzles; a researcher who wants enough tasks for an interval
imports a whole track. SOURCE is a checkout of one Exercism track (``exercises/practice/<slug>/``
under its root, a ``config.json`` there naming the track) or of a repository of several tracks in
that layout (aider's polyglot benchmark: ``<language>/exercises/practice/<slug>/``). Each exercise
holds ``.docs/instructions.md`` (and optionally ``introduction.md`` and ``instructions.append.md``)
and ``.meta/config.json``, whose ``files`` name the ``solution`` stubs, the ``test`` files, the
``example`` solution and optionally ``editor`` and ``invalidator`` files.

Each exercise becomes ``DIR/exercism-<language>/<slug>/``, a task folder of class ``puzzles``
(pytest_arena/tasks/folder.py): ``prompt.md`` (the instructions and a closing paragraph of ours
naming the files and the test command), ``workspace/`` (the stubs, the editor files and the
exercise's other files, such as build files), ``tests/`` (the test and invalidator files and
whatever sits in a ``test/`` or ``tests/`` folder, restored pristine before scoring),
``reference/`` (the example, placed at the solution paths), and ``task.yaml`` recording the
upstream path, repository and commit and the track's licence (a copy of the track's LICENSE sits
in ``DIR/exercism-<language>/``). Every exercise then goes
through the harness's own oracle/null check (the reference passes, the stub does not): one that
fails it is skipped, never kept. ``DIR/exercism-import.{json,md}`` say what was imported,
validated and skipped, and why.

Re-running is idempotent: a folder the importer wrote (its task.yaml ``source`` ends with
``IMPORTER_MARK``) is rewritten only when its content changes, one no longer produced is removed,
and a folder or task id it did not write is never touched. An id that pytest-arena already ships
(``exercism-python/pig-latin`` is a puzzle of its own, with its own prompt and tests) is never
reused: results rows are keyed by task id, so two different tasks under one id would merge in
every analysis that reads both sweeps; the upstream exercise gets the id ``<id>-upstream``.
"""
from __future__ import annotations

import argparse
import fnmatch
import hashlib
import json
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import yaml

from pytest_arena.errors import ScoringUnavailable, TaskError
from pytest_arena.tasks.base import Task
from pytest_arena.tasks.folder import load_task

__all__ = [
    "IMPORTER_MARK", "LANGUAGES", "Language", "REPORT_NAME", "UPSTREAM_SUFFIX", "Validator", "import_exercism",
    "main",
]

# The end of the ``source`` field of every task.yaml the importer writes: how a re-run knows its own folders.
IMPORTER_MARK = "(imported by `python -m pytest_arena tasks import exercism`)"
REPORT_NAME = "exercism-import"  # DIR/exercism-import.json and .md
UPSTREAM_SUFFIX = "-upstream"  # appended to an imported exercise's id that another task already has
TASK_CLASS = "puzzles"
_TIMEOUT_S = 600  # the agent's wall time per cell, as for the shipped puzzles
# Entries of an exercise folder that are not part of the exercise a student downloads (Exercism's
# metadata), and build or dependency output a local run may have left in the checkout.
_NOT_EXERCISE = {".docs", ".meta", ".approaches", ".articles", ".git", ".gitignore", ".DS_Store",
                 "node_modules", "target", "build", ".gradle", "bin", "obj", "__pycache__", ".pytest_cache"}
_ID_PART = re.compile(r"^[a-z0-9-]+$")
_LICENSE_FILES = ("LICENSE", "LICENSE.md", "LICENSE.txt", "COPYING")
_DOCS = ("introduction.md", "instructions.md", "instructions.append.md")

# (task) -> None when the oracle/null check holds, else what is wrong; ScoringUnavailable when
# this machine cannot score the task (pytest_arena.scoring.validation.harness_check).
Validator = Callable[[Task], str | None]


@dataclass(frozen=True)
class Language:
    """How a track's exercises are tested: the test runner task.yaml names (``runner``, one of
    pytest_arena.scoring.runners) and what the prompt says the tests run with."""

    runner: str
    runs_with: str
    scoring_timeout_s: int  # compiled languages build the tests in each scoring run


# The polyglot benchmark's six languages. Python's runner is the harness's default (pytest), so
# its task.yaml names none.
LANGUAGES: dict[str, Language] = {
    "python": Language("pytest", "`pytest -q`", 60),
    "go": Language("go", "`go test`", 180),
    "rust": Language("rust", "`cargo test -- --include-ignored`", 300),
    "javascript": Language("javascript", "jest (tests marked `xtest` run too)", 180),
    "cpp": Language("cpp", "g++ (C++17) and Catch2, with `EXERCISM_RUN_ALL_TESTS` defined", 300),
    "java": Language("java", "JUnit 5 (tests marked `@Disabled` run too)", 300),
}
# Folders of an exercise whose files, named in .meta/config.json or not, go with the tests (C++'s
# vendored Catch2 and its main sit in test/).
_TEST_FOLDERS = ("test", "tests")


@dataclass(frozen=True)
class Upstream:
    """Where a track came from, when SOURCE is a git checkout."""

    repo: str  # the origin remote's URL without credentials, "" when there is none
    commit: str
    path: str  # the track's root relative to the checkout's top ("" for the top itself)
    dirty: bool  # the track has uncommitted changes


@dataclass(frozen=True)
class Track:
    language: str  # the id's "exercism-<language>"
    root: Path  # the folder holding exercises/practice
    source_root: Path  # SOURCE, as given
    licence: str  # e.g. "MIT"; "not stated" when no LICENSE file was found
    licence_file: Path | None
    upstream: Upstream | None
    deprecated: frozenset[str]  # slugs the track's config.json marks deprecated


@dataclass(frozen=True)
class Exercise:
    """One exercise read from the source, as the three parts of a task folder."""

    track: Track
    slug: str
    folder: Path
    blurb: str
    docs: str  # introduction + instructions + append, as upstream wrote them
    solution: tuple[str, ...]
    test: tuple[str, ...]
    workspace: dict[str, bytes]
    tests: dict[str, bytes]
    reference: dict[str, bytes]
    notes: tuple[str, ...] = ()  # files left out, and why


@dataclass
class Entry:
    """What became of one exercise."""

    exercise: str  # the slug
    status: str  # "validated", "imported" (kept without the check, with a reason) or "skipped"
    reason: str = ""
    id: str | None = None
    digest: str | None = None  # the task's content digest, when written
    check_s: float | None = None  # the oracle/null check's wall time
    notes: list[str] = field(default_factory=list)


@dataclass
class LanguageReport:
    language: str
    track: str  # the track's folder, relative to SOURCE
    licence: str
    upstream: dict[str, Any] | None
    entries: list[Entry] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)  # folders of an earlier import no longer produced
    language_skipped: str = ""  # why the whole language was skipped

    def counts(self) -> dict[str, int]:
        counts = {"found": len(self.entries), "imported": 0, "validated": 0, "skipped": 0}
        for entry in self.entries:
            counts["skipped" if entry.status == "skipped" else "imported"] += 1
            counts["validated"] += entry.status == "validated"
        return counts

    def as_json(self) -> dict[str, Any]:
        return {"language": self.language, "track": self.track, "licence": self.licence, "upstream": self.upstream,
                "language_skipped": self.language_skipped, "counts": self.counts(), "removed": self.removed,
                "exercises": [vars(entry) for entry in self.entries]}


# --- reading the source -------------------------------------------------------------------

def find_tracks(source: Path) -> list[Track]:
    """The tracks in SOURCE: SOURCE itself when it holds exercises/practice/, else each of its
    folders that does. TaskError saying which layouts are read otherwise."""
    if not source.is_dir():
        raise TaskError(f"{source}: no such folder. Pass a checkout of an Exercism track "
                        f"(git clone https://github.com/exercism/python) or of aider's polyglot-benchmark.")
    if (source / "exercises" / "practice").is_dir():
        return [_read_track(source, source)]
    tracks = [_read_track(child, source) for child in sorted(source.iterdir())
              if (child / "exercises" / "practice").is_dir()]
    if not tracks:
        raise TaskError(f"{source}: neither exercises/practice/ nor <language>/exercises/practice/ is there. "
                        f"Pass the root of an Exercism track checkout or of a repository of several tracks.")
    return tracks


def _read_track(root: Path, source: Path) -> Track:
    config = _json_object(root / "config.json") or {}
    language = _id_part(str(config.get("slug") or "")) or _id_part(str(config.get("language") or "")) \
        or _id_part(root.name) or "unknown"
    deprecated = frozenset(
        str(entry.get("slug")) for entry in (config.get("exercises") or {}).get("practice") or []
        if isinstance(entry, dict) and entry.get("status") == "deprecated")
    licence_file = next((folder / name for folder in dict.fromkeys((root, source)) for name in _LICENSE_FILES
                         if (folder / name).is_file()), None)
    return Track(language=language, root=root, source_root=source, licence=_licence_name(licence_file),
                 licence_file=licence_file, upstream=_git_upstream(root), deprecated=deprecated)


def _id_part(text: str) -> str:
    """``text`` as a task-id part (lowercase letters, digits, dashes), "" when nothing is left."""
    part = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return part if _ID_PART.match(part) else ""


def _licence_name(path: Path | None) -> str:
    if path is None:
        return "not stated"
    text = " ".join(path.read_text("utf-8", errors="replace").split())
    for name, sign in (("MIT", "Permission is hereby granted, free of charge"), ("Apache-2.0", "Apache License"),
                       ("BSD-3-Clause", "Neither the name of"), ("CC-BY-SA-4.0", "Attribution-ShareAlike")):
        if sign in text:
            return name
    return f"see {path.name}"


def _git_upstream(root: Path) -> Upstream | None:
    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    top, commit = git("rev-parse", "--show-toplevel"), git("rev-parse", "HEAD")
    if not top or not commit:
        return None
    remote = git("config", "--get", "remote.origin.url") or ""
    path = root.resolve().relative_to(Path(top).resolve()).as_posix()
    status = git("status", "--porcelain", "--", ".")
    return Upstream(repo=_without_credentials(remote), commit=commit, path="" if path == "." else path,
                    dirty=bool(status))


def _without_credentials(url: str) -> str:
    """An https remote may carry a token (https://user:token@host/...): never record it."""
    parts = urlsplit(url)
    if parts.scheme and "@" in parts.netloc:
        return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))
    return url


def _json_object(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def read_exercise(track: Track, folder: Path) -> Exercise | str:
    """The exercise in ``folder``, or why it cannot be imported."""
    config_path = folder / ".meta" / "config.json"
    if not config_path.is_file():
        return "no .meta/config.json"
    config = _json_object(config_path)
    if config is None:
        return ".meta/config.json is not a JSON object"
    files = config.get("files")
    if not isinstance(files, dict):
        return ".meta/config.json has no 'files' object"
    named: dict[str, tuple[str, ...]] = {}
    for key in ("solution", "test", "example", "editor", "invalidator"):
        value = files.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            return f".meta/config.json: files.{key} is not a list of paths"
        paths = tuple(PurePosixPath(v).as_posix() for v in value)
        if any(PurePosixPath(p).is_absolute() or ".." in PurePosixPath(p).parts for p in paths):
            return f".meta/config.json: files.{key} names a path outside the exercise"
        named[key] = paths
    for key in ("solution", "test", "example"):
        if not named[key]:
            return f".meta/config.json names no files.{key}"
    if not (folder / ".docs" / "instructions.md").is_file():
        return "no .docs/instructions.md"
    contents: dict[str, bytes] = {}
    for key, paths in named.items():
        for rel in paths:
            path = folder / rel
            if not path.is_file():
                return f"files.{key} names {rel}, which is not there"
            contents[rel] = path.read_bytes()
            if not _is_text(contents[rel]):
                return f"{rel} is not UTF-8 text (task folders hold text files only)"
    try:
        docs = "\n\n".join((folder / ".docs" / name).read_text("utf-8").strip()
                           for name in _DOCS if (folder / ".docs" / name).is_file())
    except UnicodeDecodeError:
        return ".docs/ holds a file that is not UTF-8 text"
    # Solution files first: a path named both as a solution and as a test or invalidator file is
    # the agent's to edit.
    solution = set(named["solution"]) | set(named["editor"])
    hidden = [rel for rel in (*named["test"], *named["invalidator"]) if rel not in solution]
    examples = set(named["example"])
    workspace = {rel: contents[rel] for rel in (*named["solution"], *named["editor"])}
    notes: list[str] = []
    for rel, content in _other_files(folder, set(contents)).items():
        if not _is_text(content):
            notes.append(f"left out {rel}: not UTF-8 text")
        elif PurePosixPath(rel).parts[0] in _TEST_FOLDERS:
            hidden.append(rel)
            contents[rel] = content
        else:
            workspace[rel] = content
    reference = {target: contents[rel] for rel, target in place_examples(named["example"], named["solution"]).items()}
    blurb = str(config.get("blurb") or "").strip() or _first_line(docs)
    return Exercise(track=track, slug=folder.name, folder=folder, blurb=" ".join(blurb.split()), docs=docs,
                    solution=named["solution"], test=tuple(hidden), workspace=workspace,
                    tests={rel: contents[rel] for rel in hidden if rel not in examples},
                    reference=reference, notes=tuple(notes))


def _is_text(content: bytes) -> bool:
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _first_line(text: str) -> str:
    return next((line.lstrip("# ").strip() for line in text.splitlines() if line.strip()), "")


def _other_files(folder: Path, named: set[str]) -> dict[str, bytes]:
    """The exercise's files its config does not name (build files, test helpers), without
    Exercism's metadata and without build output."""
    out: dict[str, bytes] = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if path.is_file() and not path.is_symlink() and not (set(rel.parts) & _NOT_EXERCISE) \
                and rel.as_posix() not in named:
            out[rel.as_posix()] = path.read_bytes()
    return out


def place_examples(examples: Iterable[str], solutions: Iterable[str]) -> dict[str, str]:
    """Where each example file goes in the reference: onto the solution file of the same name
    (Java), else onto the one solution file of the same suffix not yet taken (``.meta/example.py``
    onto ``pig_latin.py``, ``.meta/example.rs`` onto ``src/lib.rs``), else beside the first
    solution file of its suffix under its own name, else at its path without ``.meta/``."""
    solutions = list(solutions)
    placed: dict[str, str] = {}
    taken: set[str] = set()
    examples = list(examples)
    for example in examples:
        same_name = [s for s in solutions if PurePosixPath(s).name == PurePosixPath(example).name and s not in taken]
        if same_name:
            placed[example] = same_name[0]
            taken.add(same_name[0])
    for example in examples:
        if example in placed:
            continue
        suffix = PurePosixPath(example).suffix
        free = [s for s in solutions if PurePosixPath(s).suffix == suffix and s not in taken]
        pending = [e for e in examples if e not in placed and PurePosixPath(e).suffix == suffix]
        if len(free) == 1 and len(pending) == 1:
            placed[example] = free[0]
            taken.add(free[0])
            continue
        beside = next((s for s in solutions if PurePosixPath(s).suffix == suffix), None)
        if beside is not None:
            placed[example] = (PurePosixPath(beside).parent / PurePosixPath(example).name).as_posix()
        else:
            parts = PurePosixPath(example).parts
            inside = parts[1:] if parts[0] == ".meta" and len(parts) > 1 else parts
            placed[example] = PurePosixPath(*inside).as_posix()
    return placed


# --- writing task folders -----------------------------------------------------------------

def prompt_text(exercise: Exercise, language: Language, *, tests_visible: bool) -> str:
    """The exercise's own text, then a paragraph of ours: which files to edit, how the tests run."""
    edit = ", ".join(f"`{rel}`" for rel in exercise.solution)
    tests = ", ".join(f"`{rel}`" for rel in exercise.test)
    lines = ["", "---", "",
             f"Solve the exercise above by editing {edit} in this folder. Keep the names of the "
             f"functions, classes and files the stubs define: the tests use them."]
    if tests_visible:
        lines.append(f"The tests are in {tests}; do not edit them. They run with {language.runs_with}.")
    else:
        lines.append(f"Tests you do not see check your solution; they run with {language.runs_with}.")
    return exercise.docs + "\n" + "\n".join(lines) + "\n"


def task_yaml(exercise: Exercise, task_id: str, language: Language, *, tests_visible: bool,
              runner_field: bool) -> dict[str, Any]:
    track, upstream = exercise.track, exercise.track.upstream
    where = PurePosixPath(track.root.relative_to(track.source_root).as_posix(), "exercises", "practice",
                          exercise.slug).as_posix().removeprefix("./")
    source = f"Exercism {track.language} track, {where}"
    if upstream is not None:
        at = f"{upstream.commit[:12]}{' with local changes' if upstream.dirty else ''}"
        source += f", {upstream.repo or 'a git checkout'}" + (f" ({upstream.path})" if upstream.path else "")
        source += f" at {at}"
    spec: dict[str, Any] = {
        "id": task_id, "class": TASK_CLASS, "shape": "puzzle",
        "title": f"{exercise.slug} (Exercism {track.language})",
        "timeout_s": _TIMEOUT_S, "scoring_timeout_s": language.scoring_timeout_s, "tests_visible": tests_visible,
        "source": f"{source} {IMPORTER_MARK}",
        "license": f"{track.licence} (the track's licence; a copy is in ../LICENSE)" if track.licence_file
        else "not stated: the track has no LICENSE file",
        "stresses": exercise.blurb or f"the {exercise.slug} exercise",
    }
    if runner_field:
        spec["runner"] = language.runner
    return spec


def write_task_folder(exercise: Exercise, dest: Path, spec: dict[str, Any], prompt: str) -> None:
    dest.mkdir(parents=True)
    (dest / "task.yaml").write_text(yaml.safe_dump(spec, sort_keys=False, allow_unicode=True, width=1000), "utf-8")
    (dest / "prompt.md").write_text(prompt, "utf-8")
    parts = {"workspace": exercise.workspace, "tests": exercise.tests, "reference": exercise.reference}
    for part, files in parts.items():
        (dest / part).mkdir()
        for rel, content in files.items():
            target = dest / part / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)


def _tree_digest(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            h.update(path.relative_to(folder).as_posix().encode() + b"\0")
            h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def owned_by_importer(folder: Path) -> bool:
    """Whether ``folder`` is a task folder this importer wrote (never touch any other)."""
    try:
        spec = yaml.safe_load((folder / "task.yaml").read_text("utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False
    return isinstance(spec, dict) and str(spec.get("source", "")).endswith(IMPORTER_MARK)


def ids_not_ours(out: Path) -> dict[str, Path]:
    """Task ids declared under ``out`` by folders this importer did not write."""
    found: dict[str, Path] = {}
    for spec_path in sorted(out.glob("*/*/task.yaml")) if out.is_dir() else []:
        if owned_by_importer(spec_path.parent):
            continue
        try:
            spec = yaml.safe_load(spec_path.read_text("utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue
        if isinstance(spec, dict) and isinstance(spec.get("id"), str):
            found[spec["id"]] = spec_path.parent
    return found


# --- the import ---------------------------------------------------------------------------

@dataclass
class _Built:
    entry: Entry
    staged: Path  # the task folder, written under DIR's staging folder
    dest: Path


def import_exercism(source: Path, out: Path, *, validate: Validator | None, shipped: Mapping[str, Path],
                    tests_visible: bool = True, only: Iterable[str] = (), languages: Iterable[str] = (),
                    jobs: int = 2, log: Callable[[str], None] = print) -> list[LanguageReport]:
    """Import every exercise of every track in ``source`` into ``out``; returns (and writes to
    ``out/exercism-import.{json,md}``) what became of each. ``shipped``: the task ids pytest-arena
    ships (id -> folder), never reused. ``only``: slug globs (a partial run removes nothing it did
    not consider). ``validate`` None: no oracle/null check (each task says so in the report)."""
    only, wanted = list(only), {_id_part(name) for name in languages}
    tracks = find_tracks(source)
    if wanted - {track.language for track in tracks}:
        missing = sorted(wanted - {track.language for track in tracks})
        raise TaskError(f"{source}: no track for --language {', '.join(missing)} "
                        f"(tracks there: {', '.join(track.language for track in tracks)}).")
    out.mkdir(parents=True, exist_ok=True)
    previous = _read_report(out)
    taken = {**shipped, **ids_not_ours(out)}
    staging = out / f".{REPORT_NAME}-staging"
    shutil.rmtree(staging, ignore_errors=True)
    reports: list[LanguageReport] = []
    try:
        for track in tracks:
            if wanted and track.language not in wanted:
                continue
            report = _import_track(track, out, staging, validate=validate, taken=taken, tests_visible=tests_visible,
                                   only=only, jobs=jobs, previous=previous.get(track.language, {}), log=log)
            reports.append(report)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    write_report(out, source, reports)
    return reports


def _import_track(track: Track, out: Path, staging: Path, *, validate: Validator | None, taken: Mapping[str, Path],
                  tests_visible: bool, only: list[str], jobs: int, previous: Mapping[str, str],
                  log: Callable[[str], None]) -> LanguageReport:
    upstream = None if track.upstream is None else vars(track.upstream)
    report = LanguageReport(language=track.language, track=track.root.relative_to(track.source_root).as_posix(),
                            licence=track.licence, upstream=upstream)
    language = LANGUAGES.get(track.language)
    practice = track.root / "exercises" / "practice"
    folders = [f for f in sorted(practice.iterdir()) if f.is_dir() and not f.name.startswith(".")
               and (not only or any(fnmatch.fnmatchcase(f.name, pattern) for pattern in only))]
    lang_dir = out / f"exercism-{track.language}"
    if language is None:
        why_not = f"no test runner for {track.language} exercises (pytest-arena imports {', '.join(LANGUAGES)})"
        report.language_skipped = why_not
        report.entries = [Entry(exercise=f.name, status="skipped", reason=why_not) for f in folders]
        log(f"{track.language}: {len(folders)} exercises skipped: {why_not}")
        return report
    built: list[_Built] = []
    for folder in folders:
        entry = Entry(exercise=folder.name, status="skipped")
        report.entries.append(entry)
        if folder.name in track.deprecated:
            entry.reason = "deprecated in the track's config.json"
            continue
        if not _ID_PART.match(folder.name):
            entry.reason = "its folder name is not a slug (lowercase letters, digits and dashes)"
            continue
        exercise = read_exercise(track, folder)
        if isinstance(exercise, str):
            entry.reason = exercise
            continue
        entry.notes = list(exercise.notes)
        task_id = f"exercism-{track.language}/{exercise.slug}"
        if task_id in taken:
            renamed = task_id + UPSTREAM_SUFFIX
            if renamed in taken:
                entry.reason = f"task ids {task_id} and {renamed} are both taken ({taken[task_id]}, {taken[renamed]})"
                continue
            entry.notes.append(f"imported as {renamed}: {task_id} is another task ({taken[task_id]}), never "
                               f"overwritten; results rows are keyed by task id, so the upstream exercise gets its own")
            task_id = renamed
        dest = lang_dir / task_id.split("/", 1)[1]
        if dest.exists() and not owned_by_importer(dest):
            entry.reason = f"{dest} exists and was not written by this importer: left as it is"
            continue
        staged = staging / track.language / dest.name
        spec = task_yaml(exercise, task_id, language, tests_visible=tests_visible,
                         runner_field=language.runner != "pytest")
        write_task_folder(exercise, staged, spec, prompt_text(exercise, language, tests_visible=tests_visible))
        try:
            load_task(staged)
        except TaskError as exc:
            entry.reason = f"the task folder does not load: {exc}"
            continue
        entry.id = task_id
        built.append(_Built(entry, staged, dest))
    _check(built, validate, previous, jobs, language, log)
    written = _place(built, lang_dir, track)
    considered = {entry.exercise for entry in report.entries}
    for folder in sorted(lang_dir.iterdir()) if lang_dir.is_dir() else []:
        if folder.is_dir() and folder not in written and owned_by_importer(folder) and (
                not only or folder.name.removesuffix(UPSTREAM_SUFFIX) in considered):
            shutil.rmtree(folder)
            report.removed.append(folder.relative_to(out).as_posix())
    counts = report.counts()
    log(f"{track.language}: {counts['found']} exercises: {counts['imported']} imported "
        f"({counts['validated']} validated), {counts['skipped']} skipped")
    return report


def _check(built: list[_Built], validate: Validator | None, previous: Mapping[str, str], jobs: int,
           language: Language, log: Callable[[str], None]) -> None:
    """The oracle/null check of each built task (in ``jobs`` threads); a task the last import
    validated with the same content is not checked again."""
    def one(item: _Built) -> None:
        entry = item.entry
        task = load_task(item.staged)
        entry.digest = task.content_digest
        if validate is None:
            entry.status, entry.reason = "imported", "not validated: the import ran with --no-validate"
            return
        if entry.id is not None and previous.get(entry.id) == entry.digest:
            entry.status, entry.reason = "validated", "unchanged since the last import, which validated it"
            return
        start = time.monotonic()
        try:
            problem = validate(task)
        except ScoringUnavailable as exc:
            entry.status, entry.reason = "imported", f"not validated: runner {language.runner} not available: {exc}"
            return
        except TaskError as exc:
            problem = str(exc)
        entry.check_s = round(time.monotonic() - start, 2)
        if problem is None:
            entry.status, entry.reason = "validated", "the example passes its tests and the stub does not"
        else:
            entry.status, entry.reason = "skipped", problem
        log(f"  {entry.id}: {entry.status}" + ("" if problem is None else f" ({problem})"))

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        list(pool.map(one, built))


def _place(built: list[_Built], lang_dir: Path, track: Track) -> set[Path]:
    """Move each kept task into place (a folder whose content did not change stays as it is)."""
    written: set[Path] = set()
    for item in built:
        if item.entry.status == "skipped":
            continue
        written.add(item.dest)
        if item.dest.exists():
            if _tree_digest(item.dest) == _tree_digest(item.staged):
                continue
            shutil.rmtree(item.dest)
        item.dest.parent.mkdir(parents=True, exist_ok=True)
        item.staged.rename(item.dest)
    licence = lang_dir / "LICENSE"
    if written and track.licence_file is not None and (
            not licence.is_file() or licence.read_bytes() != track.licence_file.read_bytes()):
        licence.write_bytes(track.licence_file.read_bytes())
    return written


# --- the report ---------------------------------------------------------------------------

def _read_report(out: Path) -> dict[str, dict[str, str]]:
    """language -> {task id: content digest} of the tasks the last import validated."""
    data = _json_object(out / f"{REPORT_NAME}.json") or {}
    validated: dict[str, dict[str, str]] = {}
    for language, section in (data.get("languages") or {}).items():
        validated[language] = {e["id"]: e["digest"] for e in section.get("exercises", [])
                               if e.get("status") == "validated" and e.get("id") and e.get("digest")}
    return validated


def write_report(out: Path, source: Path, reports: list[LanguageReport]) -> None:
    """``out/exercism-import.json`` and ``.md``: this run's languages, and the sections of an
    earlier import's other languages as they were."""
    path = out / f"{REPORT_NAME}.json"
    languages = dict((_json_object(path) or {}).get("languages") or {})
    languages.update({r.language: {"source": str(source), **r.as_json()} for r in reports})
    data = {"generated_by": "python -m pytest_arena tasks import exercism", "languages": languages}
    path.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n", "utf-8")
    (out / f"{REPORT_NAME}.md").write_text(report_markdown(data), "utf-8")


def report_markdown(data: Mapping[str, Any]) -> str:
    lines = ["# Exercism import", "", "| language | found | imported | validated | skipped |",
             "|---|---:|---:|---:|---:|"]
    for language, section in data["languages"].items():
        c = section["counts"]
        lines.append(f"| {language} | {c['found']} | {c['imported']} | {c['validated']} | {c['skipped']} |")
    for language, section in data["languages"].items():
        lines += ["", f"## {language}", "", f"Source: `{section['source']}` (track `{section['track'] or '.'}`), "
                  f"licence: {section['licence']}."]
        if section.get("upstream"):
            up = section["upstream"]
            lines.append(f"Upstream: {up['repo'] or 'a git checkout'} at `{up['commit']}`"
                         + (" (with local changes)" if up["dirty"] else "") + ".")
        if section.get("language_skipped"):
            lines.append(f"Every exercise skipped: {section['language_skipped']}.")
        skipped = [e for e in section["exercises"] if e["status"] == "skipped"]
        kept = [e for e in section["exercises"] if e["status"] == "imported"]
        noted = [e for e in section["exercises"] if e["notes"]]
        for title, entries in (("Skipped", skipped), ("Imported without the oracle/null check", kept)):
            if entries and not section.get("language_skipped"):
                lines += ["", f"{title}:", ""] + [f"- `{e['exercise']}`: {e['reason']}" for e in entries]
        if noted:
            lines += ["", "Notes:", ""] + [f"- `{e['exercise']}`: {note}" for e in noted for note in e["notes"]]
        if section.get("removed"):
            lines += ["", "Removed (written by an earlier import, no longer produced):", ""]
            lines += [f"- `{rel}`" for rel in section["removed"]]
    return "\n".join(lines) + "\n"


# --- the command --------------------------------------------------------------------------

def main(argv: list[str], *, validate: Validator, shipped: Callable[[], Mapping[str, Path]]) -> int:
    """``python -m pytest_arena tasks import exercism SOURCE --out DIR``; ``validate`` and
    ``shipped`` come from the command's caller (the scoring and the shipped suite sit above the
    tasks in the package's layers)."""
    parser = argparse.ArgumentParser(
        prog="python -m pytest_arena tasks import exercism",
        description="Turn a checkout of an Exercism track (exercises/practice/<slug>/), or of a repository of "
                    "several tracks (<language>/exercises/practice/<slug>/, as aider's polyglot-benchmark), into "
                    "task folders exercism-<language>/<slug>/ in DIR. Select them with benchmark.tasks_dir: DIR "
                    "and benchmark.task_ids: [\"exercism-python/*\"].")
    parser.add_argument("source", type=Path, metavar="SOURCE", help="the checkout")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="where the task folders go")
    parser.add_argument("--no-validate", action="store_true",
                        help="skip the oracle/null check (the example passes, the stub does not); on by default")
    parser.add_argument("--only", action="append", default=[], metavar="GLOB",
                        help="import only exercises whose slug matches (repeatable), e.g. --only 'b*'")
    parser.add_argument("--language", action="append", default=[], metavar="NAME",
                        help="import only this track of a several-track SOURCE (repeatable)")
    parser.add_argument("--hide-tests", action="store_true",
                        help="tests_visible: false (default: the agent's workspace holds the tests, "
                             "as a student's does)")
    parser.add_argument("--jobs", type=int, default=2, help="oracle/null checks run at once (default 2)")
    args = parser.parse_args(argv)
    try:
        reports = import_exercism(args.source, args.out, validate=None if args.no_validate else validate,
                                  shipped=shipped(), tests_visible=not args.hide_tests, only=args.only,
                                  languages=args.language, jobs=args.jobs)
    except TaskError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for report in reports:
        for entry in report.entries:
            if entry.status != "validated" and not report.language_skipped:
                print(f"{report.language}/{entry.exercise}: {entry.status}: {entry.reason}")
            for note in entry.notes:
                print(f"{report.language}/{entry.exercise}: note: {note}")
    print(f"report: {args.out / (REPORT_NAME + '.md')} and .json")
    return 0 if any(r.counts()["imported"] for r in reports) else 1
