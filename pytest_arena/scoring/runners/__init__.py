"""The test runners by name: the one registry task.yaml's ``runner`` field, the scorer, ``setup
--runners`` and the docs read.

The built-ins: ``pytest`` (the default: the harness's own clean pytest, scoring/score.py), and
one toolchain per language of Exercism's polyglot set whose toolchain and test libraries install
here from Debian's packages or npm and need no network at run time: ``go``, ``rust``,
``javascript``, ``cpp`` and ``java`` (base.py says how a toolchain runs). A project adds its own
with ``register_test_runner`` from a conftest.py or from the module of an installed pytest
plugin (docs/howto/task-test-runners.md).
"""
from __future__ import annotations

import difflib
from pathlib import Path

from pytest_arena.scoring.runners.base import (
    CANARIES,
    EXIT_CODE,
    PRISTINE_COLLECTION,
    REFERENCE_TESTS,
    RESTORED_TESTS,
    TestRunner,
)
from pytest_arena.scoring.runners.cpp import INSTALL_HINT as CPP_HINT
from pytest_arena.scoring.runners.cpp import CppToolchain
from pytest_arena.scoring.runners.golang import INSTALL_HINT as GO_HINT
from pytest_arena.scoring.runners.golang import GoToolchain
from pytest_arena.scoring.runners.java import INSTALL_HINT as JAVA_HINT
from pytest_arena.scoring.runners.java import JavaToolchain
from pytest_arena.scoring.runners.javascript import INSTALL_HINT as JS_HINT
from pytest_arena.scoring.runners.javascript import JavascriptToolchain, agent_jest, install_jest
from pytest_arena.scoring.runners.rust import INSTALL_HINT as RUST_HINT
from pytest_arena.scoring.runners.rust import RustToolchain

__all__ = [
    "DEFAULT_RUNNER", "RUNNERS_FOLDER", "TOOLCHAIN_CHECKS", "TestRunner", "check_test_runner", "get_test_runner",
    "register_test_runner", "registered_runners", "runner_tools_dir",
]

DEFAULT_RUNNER = "pytest"  # what a task that names no runner runs with
RUNNERS_FOLDER = ".runners"  # <install root>/.runners/<name>: what `setup --runners` installs
TOOLCHAIN_CHECKS = (RESTORED_TESTS, CANARIES, REFERENCE_TESTS, EXIT_CODE)

_runners: dict[str, TestRunner] = {}
# What a task.yaml may say instead, by the tool or the language's other name: the hint names the runner.
_TOOL_NAMES = {"golang": "go", "go-test": "go", "cargo": "rust", "jest": "javascript", "js": "javascript",
               "node": "javascript", "npm": "javascript", "catch2": "cpp", "c++": "cpp", "cmake": "cpp",
               "gradle": "java", "junit": "java", "maven": "java", "python": "pytest"}


def register_test_runner(runner: TestRunner) -> TestRunner:
    """Add (or replace) ``runner`` under its name; returns it."""
    _runners[runner.name] = runner
    return runner


def registered_runners() -> list[TestRunner]:
    """Every registered runner, the built-ins first."""
    return list(_runners.values())


def check_test_runner(name: str) -> str:
    """``name`` when a runner is registered under it; ValueError naming the known ones otherwise."""
    if name in _runners:
        return name
    hint = [_TOOL_NAMES[name]] if name in _TOOL_NAMES else difflib.get_close_matches(name, list(_runners), n=1)
    raise ValueError(f"unknown test runner {name!r}" + (f"; did you mean {hint[0]!r}?" if hint else "")
                     + f" (known: {', '.join(_runners)}; a conftest.py can add one with register_test_runner)")


def get_test_runner(name: str) -> TestRunner:
    """The runner registered as ``name`` (ValueError naming the known ones when none is)."""
    return _runners[check_test_runner(name)]


def runner_tools_dir(install_root: Path, name: str) -> Path:
    """Where ``setup --runners NAME`` installs what the runner needs beyond system packages."""
    return Path(install_root) / RUNNERS_FOLDER / name



register_test_runner(TestRunner(
    name=DEFAULT_RUNNER, title="pytest", language="Python",
    checks=(RESTORED_TESTS, CANARIES, PRISTINE_COLLECTION, EXIT_CODE)))
register_test_runner(TestRunner(
    name="go", title="go test", language="Go", checks=TOOLCHAIN_CHECKS, toolchain=GoToolchain(),
    install_hint=GO_HINT))
register_test_runner(TestRunner(
    name="rust", title="cargo test", language="Rust", checks=TOOLCHAIN_CHECKS, toolchain=RustToolchain(),
    install_hint=RUST_HINT))
register_test_runner(TestRunner(
    name="javascript", title="jest", language="JavaScript", checks=TOOLCHAIN_CHECKS,
    toolchain=JavascriptToolchain(), install_hint=JS_HINT, setup=install_jest, agent_tools=agent_jest))
register_test_runner(TestRunner(
    name="cpp", title="g++ and Catch2", language="C++", checks=TOOLCHAIN_CHECKS, toolchain=CppToolchain(),
    install_hint=CPP_HINT))
register_test_runner(TestRunner(
    name="java", title="javac and the JUnit 5 console launcher", language="Java", checks=TOOLCHAIN_CHECKS,
    toolchain=JavaToolchain(), install_hint=JAVA_HINT))
