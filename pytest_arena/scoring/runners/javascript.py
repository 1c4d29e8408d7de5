"""The ``javascript`` runner: jest, installed once from npm by ``python -m pytest_arena setup
--runners javascript`` into ``<install root>/.runners/javascript`` (bound read-only in the
scoring sandbox), run by the system's node, in band, with a configuration of our own.

Our configuration, not the workspace's (package.json, babel.config.js and jest.config.* are the
agent's to change, and Exercism's name presets only npm has): babel-jest with
@babel/preset-env for the current node (the tests' ``import``/``export``), exactly the task's test
files (``--runTestsByPath``), a setup file that turns ``xtest``/``xit``/``xdescribe`` into the
tests they skip (Exercism skips all but the first), the cache in the run's build folder. Verdicts
come from jest's ``--json`` report; ids are ``<test file>::<describe> > <test>``. V8 reserves far
more address space than it uses, so the memory setting caps node's heap (``--max-old-space-size``)
and the address-space cap is raised by ``V8_RESERVE_MB``.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path, PurePosixPath

from pytest_arena.sandbox.leftovers import read_bounded
from pytest_arena.scoring.runners.base import (
    Canaries,
    ControlFiles,
    Report,
    RunnerCase,
    RunnerContext,
    Step,
    StepRun,
    Verdict,
)
from pytest_arena.scoring.runners.common import (
    OUTPUT_MAX_BYTES,
    SYSTEM_PATH,
    first_error,
    missing_programs,
    read_output,
    system_program,
)

__all__ = ["INSTALL_HINT", "JEST_PACKAGES", "JavascriptToolchain", "agent_jest", "install_jest"]

INSTALL_HINT = "python -m pytest_arena setup --runners javascript (needs node and npm)"
# What setup installs (exact versions: the same jest on every machine).
JEST_PACKAGES = {"jest": "29.7.0", "babel-jest": "29.7.0", "@babel/core": "7.29.17",
                 "@babel/preset-env": "7.29.17"}
V8_RESERVE_MB = 3072
MARKER = "arena-runner.json"
_STATUS: dict[str, Verdict] = {"passed": "passed", "failed": "failed"}  # pending, todo, skipped, disabled: skipped
_SETUP_FILE = "globalThis.xtest = globalThis.test;\nglobalThis.xit = globalThis.it;\n" \
              "globalThis.xdescribe = globalThis.describe;\n"
_SUFFIXES = (".spec.js", ".test.js", ".spec.mjs", ".test.mjs", ".spec.cjs", ".test.cjs")


class JavascriptToolchain:
    control = ControlFiles(names=frozenset({"package.json", "package-lock.json", "babel.config.js",
                                            "babel.config.json", "babel.config.cjs", "babel.config.mjs",
                                            ".babelrc", ".babelrc.js", ".babelrc.json", "jest.config.js",
                                            "jest.config.ts", "jest.config.mjs", "jest.config.cjs",
                                            "jest.config.json", ".npmrc"}),
                           dirs=frozenset({"node_modules"}))
    tests_failed_exit = 1

    def missing(self, tools_dir: Path) -> str | None:
        problem = missing_programs(["node"], "apt-get install nodejs")
        if problem:
            return problem
        if installed_versions(tools_dir) != JEST_PACKAGES:
            return f"jest is not installed in {tools_dir}: {INSTALL_HINT}"
        return None

    def version(self, tools_dir: Path) -> str | None:
        versions = installed_versions(tools_dir)
        return f"jest {versions['jest']}" if versions and "jest" in versions else None

    def address_space_mb(self, memory_mb: int | None) -> int | None:
        return None if memory_mb is None else memory_mb + V8_RESERVE_MB

    def readonly(self, ctx: RunnerContext) -> tuple[Path, ...]:
        return (ctx.tools_dir,)

    def environment(self, ctx: RunnerContext) -> dict[str, str]:
        return {"PATH": SYSTEM_PATH, "NODE_ENV": "test", "CI": "true", "FORCE_COLOR": "0",
                "NODE_OPTIONS": ""}

    def steps(self, ctx: RunnerContext) -> list[Step]:
        config_path = _write_config(ctx.tools_dir, ctx.config_dir, ctx.scoring_dir, ctx.build_dir / "jest-cache",
                                    "**/*.?([cm])js")
        heap = [f"--max-old-space-size={ctx.memory_mb}"] if ctx.memory_mb else []
        tests = [str(ctx.path(rel)) for rel in ctx.test_files if rel.endswith(_SUFFIXES)]
        return [Step("tests", (*_jest(ctx.tools_dir, heap), "--config", str(config_path), "--ci", "--runInBand",
                               "--json", "--outputFile", str(ctx.report_dir / "jest.json"), "--runTestsByPath",
                               *tests), tests=True)]

    def plant(self, ctx: RunnerContext, test_files: Mapping[str, bytes], rng_name: Callable[[], str],
              rng_int: Callable[[int, int], int]) -> Canaries | None:
        specs = sorted(rel for rel in test_files if rel.endswith(_SUFFIXES))
        if not specs:
            return None
        failing, passing = rng_name(), rng_name()
        a, b = rng_int(2, 10**6), rng_int(2, 10**6)
        tests = [(failing, a + b + rng_int(1, 999)), (passing, a + b)]
        if rng_int(0, 1):
            tests.reverse()
        rel = (PurePosixPath(specs[0]).parent / f"{rng_name()}.spec.js").as_posix()
        content = "".join(f"test('{name}', () => {{\n  expect({a} + {b}).toBe({value});\n}});\n\n"
                          for name, value in tests)
        return Canaries(files={rel: content}, must_fail=f"{rel}::{failing}", must_pass=f"{rel}::{passing}")

    def read(self, ctx: RunnerContext, runs: Sequence[StepRun]) -> Report | None:
        data = read_bounded(ctx.report_dir / "jest.json", OUTPUT_MAX_BYTES)
        try:
            report = json.loads(data or b"")
        except ValueError:
            report = None
        if not isinstance(report, dict) or not isinstance(report.get("testResults"), list):
            text = read_output(runs[-1])
            return None if not text.strip() else Report([], f"jest wrote no report: {first_error(text)}")
        cases: list[RunnerCase] = []
        problems = []
        for result in report["testResults"]:
            if not isinstance(result, dict):
                continue
            rel = _relative(str(result.get("name", "")), ctx.scoring_dir)
            for test in result.get("assertionResults") or []:
                if not isinstance(test, dict):
                    continue
                title = " > ".join(str(t) for t in [*(test.get("ancestorTitles") or []), test.get("title", "")])
                verdict = _STATUS.get(str(test.get("status")), "skipped")
                detail = "\n".join(str(m) for m in test.get("failureMessages") or [])
                cases.append(RunnerCase(f"{rel}::{title}", verdict, detail[:4000]))
            if not result.get("assertionResults") and result.get("message"):
                problems.append(f"{rel}: {first_error(str(result['message']))}")
        return Report(cases, f"a test file did not run: {problems[0]}" if problems and not cases else None)


def agent_jest(tools_dir: Path, workspace: Path, folder: Path) -> dict[str, tuple[str, ...]]:
    """The ``jest`` an agent runs in its workspace: the scorer's jest and configuration (the same
    transform, ``xtest`` run too), rooted at the workspace, its cache in the agent's ``$TMPDIR``.
    Its configuration goes into ``folder`` (shown read-only); nothing when jest is not installed."""
    if JavascriptToolchain().missing(tools_dir) is not None:
        return {}
    config_path = _write_config(tools_dir, folder, workspace, None, "**/*.@(spec|test).?([cm])js")
    return {"jest": (*_jest(tools_dir, []), "--config", str(config_path), "--ci", "--runInBand")}


def _jest(tools_dir: Path, node_options: list[str]) -> tuple[str, ...]:
    jest = tools_dir / "node_modules" / "jest" / "bin" / "jest.js"
    return (system_program("node") or "node", *node_options, str(jest))


def _write_config(tools_dir: Path, folder: Path, root: Path, cache_dir: Path | None, test_match: str) -> Path:
    """Our jest configuration for tests under ``root`` whose paths match ``test_match`` (the
    scorer names each file it runs; an agent's bare ``jest`` finds the spec files), with the
    unskip setup file beside it in ``folder``; ``cache_dir`` None: jest's default (under the
    process's temporary folder)."""
    modules = tools_dir / "node_modules"
    setup_file = folder / "arena-unskip.js"
    setup_file.write_text(_SETUP_FILE)
    config: dict[str, object] = {
        "rootDir": str(root), "roots": [str(root)],
        "testMatch": [test_match], "testEnvironment": "node", "watchman": False,
        "setupFilesAfterEnv": [str(setup_file)],
        "transform": {r"\.[cm]?jsx?$": [str(modules / "babel-jest"), {
            "babelrc": False, "configFile": False,
            "presets": [[str(modules / "@babel/preset-env"), {"targets": {"node": "current"}}]]}]},
    }
    if cache_dir is not None:
        config["cacheDirectory"] = str(cache_dir)
    config_path = folder / "jest.config.json"
    config_path.write_text(json.dumps(config))
    return config_path


def _relative(name: str, root: Path) -> str:
    try:
        return Path(name).relative_to(root).as_posix()
    except ValueError:
        return name


def installed_versions(tools_dir: Path) -> dict[str, str] | None:
    """The packages setup installed into ``tools_dir`` (its marker), or None."""
    try:
        marker = json.loads((tools_dir / MARKER).read_text())
    except (OSError, ValueError):
        return None
    packages = marker.get("packages") if isinstance(marker, dict) else None
    if not isinstance(packages, dict) or not (tools_dir / "node_modules" / "jest" / "bin" / "jest.js").is_file():
        return None
    return {str(k): str(v) for k, v in packages.items()}


def install_jest(tools_dir: Path, log: Callable[[str], None]) -> None:
    """Install ``JEST_PACKAGES`` into ``tools_dir`` with npm (skipped when they are there): into a
    fresh folder beside it, then renamed into place, so a half-done install is never used."""
    from pytest_arena.errors import ArenaError

    if installed_versions(tools_dir) == JEST_PACKAGES:
        log(f"javascript: jest {JEST_PACKAGES['jest']} already installed in {tools_dir}, skipping")
        return
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise ArenaError("javascript: node and npm are needed to install jest: apt-get install nodejs npm")
    tools_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".javascript-", dir=tools_dir.parent))
    start = time.monotonic()
    specs = [f"{name}@{version}" for name, version in JEST_PACKAGES.items()]
    log(f"javascript: npm install {' '.join(specs)} ...")
    try:
        (staging / "package.json").write_text('{"private": true}\n')
        run = subprocess.run([npm, "install", "--prefix", str(staging), "--no-audit", "--no-fund", "--save-exact",
                              "--ignore-scripts", *specs], cwd=staging, capture_output=True, text=True,
                             timeout=1800, stdin=subprocess.DEVNULL)
        if run.returncode != 0:
            raise ArenaError(f"javascript: npm install failed (exit {run.returncode}): "
                             f"{(run.stderr or run.stdout).strip()[-1500:]}")
        (staging / MARKER).write_text(json.dumps({"packages": JEST_PACKAGES,
                                                  "installed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ")}) + "\n")
        staging.chmod(0o755)
        if tools_dir.exists():
            shutil.rmtree(tools_dir)
        staging.rename(tools_dir)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    log(f"javascript: jest {JEST_PACKAGES['jest']} installed in {tools_dir} ({time.monotonic() - start:.1f}s)")
