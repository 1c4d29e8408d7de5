"""The hosted-CI workflow (.github/workflows/ci.yml) cannot run here: this checks what can be checked
without GitHub. It is valid YAML with a Linux job that runs .ci/run and a macOS job that runs the
sandbox self-check, the Seatbelt tests and the smoke config; every path it names exists, every
``python -m pytest_arena`` command and option it uses is one the project has, and so is every
pytest option and install extra."""
from __future__ import annotations

import os
import re
import shlex
import tomllib
from pathlib import Path

import yaml

from pytest_arena.__main__ import COMMANDS
from pytest_arena.sweep import setup

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"


def load() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def commands(job: dict) -> list[list[str]]:
    """Every shell command of a job's ``run`` steps, split into words (continuations joined)."""
    out = []
    for step in job["steps"]:
        for line in step.get("run", "").replace("\\\n", " ").splitlines():
            if line.strip():
                out.append(shlex.split(line))
    return out


def test_the_workflow_has_a_linux_job_running_ci_run_and_a_macos_job_checking_seatbelt():
    workflow = load()
    assert set(workflow[True] if True in workflow else workflow["on"]) >= {"push", "pull_request"}  # YAML 1.1: on
    linux, macos = workflow["jobs"]["linux"], workflow["jobs"]["macos"]
    assert linux["runs-on"].startswith("ubuntu") and macos["runs-on"].startswith("macos")
    assert [".ci/run"] in commands(linux)
    assert os.access(ROOT / ".ci" / "run", os.X_OK)
    mac = commands(macos)
    assert ["python", "-m", "pytest_arena", "setup", "--check-sandbox"] in mac
    assert any(c[:3] == ["python", "-m", "pytest"] and "tests/test_seatbelt.py" in c for c in mac)
    assert ["pytest", "--arena-config", "configs/smoke.yaml", "--arena-failures-ok"] in mac
    for job in (linux, macos):
        for step in job["steps"]:
            if "uses" in step:
                assert re.fullmatch(r"[\w-]+/[\w-]+@v\d+", step["uses"]), step["uses"]  # pinned to a major version


def test_every_path_command_option_and_extra_it_names_exists():
    options = {a for action in setup._parser()._actions for a in action.option_strings}
    plugin = "\n".join(p.read_text() for p in (ROOT / "pytest_arena" / "plugin").glob("*.py"))
    extras = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"])
    jobs = load()["jobs"].values()
    words = [word for job in jobs for command in commands(job) for word in command]
    for word in words:
        if re.match(r"^(\.ci|tests|configs|constraints\.txt|pytest_arena)(/|$)", word):
            assert (ROOT / word).exists(), f"{WORKFLOW.name} names {word}, which does not exist"
    for job in jobs:
        for command in commands(job):
            if command[:3] == ["python", "-m", "pytest_arena"]:
                assert command[3] in COMMANDS, command
                if command[3] == "setup":
                    assert {w for w in command[4:] if w.startswith("--")} <= options, command
            if command[0] == "pytest" or command[:3] == ["python", "-m", "pytest"]:
                for flag in (w.split("=")[0] for w in command if w.startswith("--arena")):
                    assert f'"{flag}"' in plugin, f"pytest has no option {flag}"
            if "install" in command and "-e" in command:
                requested = re.fullmatch(r"\.\[([\w,-]+)\]", command[command.index("-e") + 1])
                assert requested and set(requested.group(1).split(",")) <= extras, command
