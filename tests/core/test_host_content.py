"""Hosts of a sweep are compared by what they run, not by git: real xdist workers over execnet
(``--tx socket=…//chdir=HOST-CHECKOUT``), each host an execnet socket server whose interpreter loads
its own copy of pytest-arena (laid out as a pip install puts it: ``pytest_arena/`` with ``router/``
inside, first on its PYTHONPATH) and runs in its own copy of the project (config, tasks). A
``popen`` worker would not do for that: xdist hands it the controller's ``sys.path``, so it always
runs the controller's pytest-arena. The controller runs a snapshot of this pytest-arena too (the
release every host copies), so that nothing edited in the working tree meanwhile reaches one side
only. Same content is accepted whatever git says; different task content, package content or
config settings are refused in one line naming what differs."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from pytest_arena.paths import SUITES_FOLDER
from pytest_arena.sweep.digest import PACKAGES, SUITES, content_files, digest_of, package_digest, package_folders

from .arena_project import TEST_AGENTS_CONFTEST, make_config, two_task_project
from .test_multihost import host_checkout, rows, snapshot_package, socket_servers

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def release(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The controller's pytest-arena: a snapshot of this one's package folders in a pip install's
    layout, without git (until a test commits it), first on the controller's PYTHONPATH."""
    site = snapshot_package(tmp_path_factory.mktemp("release"))
    monkeypatch.setenv("PYTHONPATH", str(site))
    return site


@pytest.fixture
def project(pytester: pytest.Pytester, release: Path) -> pytest.Pytester:
    project = two_task_project(pytester, TEST_AGENTS_CONFTEST)
    make_config(project.path, agents=("oracle",))
    return project


def installed_copy(host: Path, release: Path) -> Path:
    """This host's pytest-arena: a plain copy of the controller's, without git."""
    site = host / "site"
    shutil.copytree(release, site, ignore=shutil.ignore_patterns("__pycache__", ".git"))
    return site


def run_on(project: pytest.Pytester, host: Path) -> tuple[pytest.RunResult, int]:
    """The sweep with one worker: ``host``'s socket server, loading ``host``'s copy of pytest-arena."""
    with socket_servers(project, [host], env={"PYTHONPATH": str(host / "site")}) as ([port], tx):
        result = project.runpytest_subprocess("--arena-config", "arena.yaml", "-p", "no:cacheprovider",
                                              "--arena-no-report", "-d", *tx)
    return result, port


def refusal(result: pytest.RunResult, port: int) -> str:
    """The one line the controller printed for the refused host (and nothing of the worker's traceback)."""
    output = result.stdout.str() + result.stderr.str()
    where = f"host gw0 (socket=127.0.0.1:{port}): "
    lines = [line for line in output.splitlines() if where in line]
    assert len(lines) == 1, output
    assert "Traceback" not in output and "INTERNALERROR" not in output, output
    assert "replacing crashed worker" not in output, output
    assert result.ret == pytest.ExitCode.USAGE_ERROR, output
    return lines[0].split(where, 1)[1].removesuffix(" !")


def git(folder: Path, *args: str) -> str:
    env = dict(os.environ, GIT_AUTHOR_NAME="host", GIT_AUTHOR_EMAIL="host@example.org",
               GIT_COMMITTER_NAME="host", GIT_COMMITTER_EMAIL="host@example.org")
    return subprocess.run(["git", *args], cwd=folder, env=env, check=True, capture_output=True,
                          text=True).stdout.strip()


def commit(site: Path, message: str) -> str:
    git(site, "init", "-q")
    git(site, "add", "-A")
    git(site, "commit", "-q", "-m", message)
    return git(site, "rev-parse", "HEAD")


def test_a_worker_from_a_plain_copy_without_git_is_accepted_by_a_controller_in_a_git_checkout(project, release):
    commit(release, "the controller's checkout")
    host = host_checkout(project, "copied")
    installed_copy(host, release)
    result, _ = run_on(project, host)
    result.assert_outcomes(passed=2)
    got = rows(project.path)
    assert {r["outcome"] for r in got} == {"pass"} and len(got) == 2
    assert {r["provenance"]["git_sha"] for r in got} == {None}, "the worker ran the copy, which has no git"


def test_a_worker_at_another_git_commit_of_the_same_content_is_accepted_and_records_its_sha(project, release):
    controller_sha = commit(release, "the controller's history")
    host = host_checkout(project, "committed")
    sha = commit(installed_copy(host, release), "the same files, another history")
    assert sha != controller_sha
    result, _ = run_on(project, host)
    result.assert_outcomes(passed=2)
    assert {r["provenance"]["git_sha"] for r in rows(project.path)} == {sha}, "the sha is provenance, recorded"


def test_a_worker_whose_task_differs_is_refused_in_one_line_naming_the_task(project, release):
    host = host_checkout(project, "stale")
    installed_copy(host, release)
    tests = host / "checkout/tasks/puzzles/adder/tests/test_adder.py"
    tests.write_text(tests.read_text() + "\n\ndef test_added_on_this_host():\n    assert True\n")
    result, port = run_on(project, host)
    assert refusal(result, port) == (f"task demo/adder differs from the controller's (here: "
                               f"{host / 'checkout/tasks/puzzles/adder'}); sync the tasks folder there with the "
                               "controller's")
    assert not (project.path / "results/demo/raw.jsonl").exists()


def test_a_worker_whose_pytest_arena_files_differ_is_refused_in_one_line_naming_the_files(project, release):
    host = host_checkout(project, "patched")
    site = installed_copy(host, release)
    patched = site / "pytest_arena/scoring/score.py"
    patched.write_text(patched.read_text() + "\n# patched on this host\n")
    (site / "pytest_arena/router/data/extra.json").write_text("{}")
    result, port = run_on(project, host)
    assert refusal(result, port) == ("pytest-arena's files differ from the controller's "
                               "(pytest_arena/router/data/extra.json (only here), pytest_arena/scoring/score.py "
                               "(changed)); install the same pytest-arena there (the same wheel, or a copy of the "
                               "controller's tree)")
    assert not (project.path / "results/demo/raw.jsonl").exists()


def test_the_package_digest_leaves_out_bytecode_docs_and_task_folders_and_is_read_once(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub" / "__pycache__").mkdir(parents=True)
    (pkg / "sub" / "mod.py").write_text("x = 1\n")
    (pkg / "sub" / "__pycache__" / "mod.cpython-312.pyc").write_bytes(b"\0")
    (pkg / "data.json").write_text("{}")
    (pkg / "NOTES.md").write_text("docs")
    (pkg / ".mod.py.swp").write_text("editor")
    (pkg / "shipped" / "puzzles" / "adder").mkdir(parents=True)
    (pkg / "shipped" / "puzzles" / "adder" / "task.yaml").write_text("id: demo/adder\n")
    assert sorted(content_files("pkg", pkg)) == ["pkg/data.json", "pkg/sub/mod.py"]
    assert package_digest() is package_digest()


def test_every_package_pyproject_maps_from_its_own_folder_is_digested_or_a_shipped_suite():
    package_dir = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"].get("package-dir", {})
    suites = SUITES.replace("/", ".") + "."
    assert {name for name in package_dir if name and not name.startswith(suites)} <= set(PACKAGES)
    assert set(package_folders()) == {name.replace(".", "/") for name in PACKAGES}


def test_a_wheel_and_a_checkout_at_the_same_content_have_the_same_package_digest(release, tmp_path):
    # the checkout's layout: router/ and the suites beside pytest_arena/; a wheel's: all inside it
    checkout, wheel = tmp_path / "checkout", release / "pytest_arena"
    shutil.copytree(wheel, checkout / "pytest_arena", ignore=shutil.ignore_patterns("router", SUITES_FOLDER))
    shutil.copytree(wheel / "router", checkout / "router")
    for name in ("tasks", "configs"):
        shutil.copytree(wheel / SUITES_FOLDER / name, checkout / name)
    assert (wheel / SUITES_FOLDER / "tasks").is_dir()
    as_checkout = digest_of({"pytest_arena": checkout / "pytest_arena", "pytest_arena/router": checkout / "router"})
    as_wheel = digest_of({"pytest_arena": wheel, "pytest_arena/router": wheel / "router"})
    assert as_wheel.files == as_checkout.files and as_wheel.sha256 == as_checkout.sha256
    assert "pytest_arena/router/call.py" in as_wheel.files


def test_a_worker_whose_config_measures_differently_is_refused_in_one_line_naming_the_field(project):
    host = host_checkout(project, "retimed")
    # its own hosts: entry and results folder are its own business; the agents' time limit is not
    make_config(host / "checkout", agents=("oracle",), timeout_s=600, out_dir="results/elsewhere",
                extra="hosts: {workers: {gw0: {local_concurrency: 3}}}\n")
    result = project.runpytest_subprocess("--arena-config", "arena.yaml", "-p", "no:cacheprovider",
                                          "--arena-no-report", "-d", "--tx", f"popen//chdir={host / 'checkout'}")
    output = result.stdout.str() + result.stderr.str()
    lines = [line for line in output.splitlines() if "host gw0 (popen): " in line]
    assert len(lines) == 1 and "Traceback" not in output, output
    assert lines[0].split("host gw0 (popen): ", 1)[1].removesuffix(" !") == (
        "the config's settings differ from the controller's (benchmark.timeout_s 600 here, null there); use the "
        "same config there (only hosts: and operational fields such as out_dir may differ)")
    assert result.ret == pytest.ExitCode.USAGE_ERROR


def test_the_recorded_git_sha_is_pytest_arenas_own_never_that_of_a_checkout_around_its_install(release, tmp_path):
    project = tmp_path / "users-project"  # a user's repository with the venv inside it
    site = project / ".venv/lib/python3/site-packages"
    shutil.copytree(release, site)
    users_sha = commit(project, "the user's project")
    checkout = tmp_path / "arena-checkout"  # pytest-arena's own checkout
    shutil.copytree(release, checkout)
    arena_sha = commit(checkout, "pytest-arena")

    def recorded(path: Path) -> str:
        code = "from pytest_arena.sweep.checkout import package_git_sha as s; print(s())"
        return subprocess.run([sys.executable, "-c", code], env=dict(os.environ, PYTHONPATH=str(path)), cwd=tmp_path,
                              capture_output=True, text=True, check=True).stdout.strip()

    assert recorded(site) == "None" != users_sha
    assert recorded(checkout) == arena_sha


def test_a_pip_install_of_the_wheel_has_the_package_digest_of_the_checkout_it_was_built_from(tmp_path):
    # A data file a wheel left out would make every pip-installed host differ from a checkout.
    pytest.importorskip("build", reason="building a wheel needs the dev extra's `build` (not in the lowest run)")
    tree = tmp_path / "tree"
    tree.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE", "MANIFEST.in"):
        if (ROOT / name).is_file():
            shutil.copy2(ROOT / name, tree / name)
    for name in ("pytest_arena", "router", "tasks", "configs"):
        shutil.copytree(ROOT / name, tree / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    built = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--wheel", "--outdir",
                            str(tmp_path / "dist"), str(tree)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    code = "import json; from pytest_arena.sweep.digest import package_digest as d; print(json.dumps(d().files))"
    installed = json.loads(subprocess.run([sys.executable, "-c", code], env=dict(os.environ, PYTHONPATH=str(site)),
                                          cwd=tmp_path, capture_output=True, text=True, check=True).stdout)
    checkout = digest_of({"pytest_arena": tree / "pytest_arena", "pytest_arena/router": tree / "router"}).files
    assert {rel: sha for rel, sha in installed.items() if checkout.get(rel) != sha} == {}, "only in the wheel"
    assert {rel: sha for rel, sha in checkout.items() if installed.get(rel) != sha} == {}, "left out of the wheel"
