"""The house keeps its plan: no import circles, the router imports nothing of the plugin, one import
name of our own (a user's ``router.py`` neither shadows ours nor is shadowed), the packages the
wheel ships are the folders there are, and plain ``pytest`` with the plugin installed imports no
pydantic. The import graph is read from the source (every import, lazy and type-only ones too)."""
from __future__ import annotations

import sys
import tomllib
from pathlib import Path

from tests.core.arena_project import make_config, make_task
from tests.core.import_graph import (
    ROUTER,
    Graph,
    circles,
    floors,
    package_dirs,
    source_graph,
)

ROOT = Path(__file__).resolve().parents[2]


def graph() -> Graph:
    return source_graph({"pytest_arena": ROOT / "pytest_arena", ROUTER: ROOT / "router"})


def test_the_package_has_no_import_circles():
    found = circles(graph())
    assert not found, "import circles: " + "; ".join(" → ".join(c + [c[0]]) for c in found)


def test_a_circle_is_found_when_there_is_one(tmp_path):
    # The check itself can fail: two modules that import each other, one of them lazily.
    pkg = tmp_path / "demo"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from demo.b import x\n")
    (pkg / "b.py").write_text("x = 1\ndef f():\n    from . import a\n")
    assert circles(source_graph({"demo": pkg})) == [["demo.a", "demo.b"]]


def test_the_router_imports_nothing_of_the_plugin():
    outside = {(module, target) for module, targets in graph().items() if module.startswith(ROUTER)
               for target in targets if not target.startswith(ROUTER)}
    assert not outside, f"the router reaches into the plugin: {sorted(outside)}"


def test_the_floors_of_the_import_graph_stay_few():
    # How deep the longest chain of imports is (one floor per module on it). Before the house was
    # laid out along the pipeline: 15 floors for 117 modules, with 3 circles folded in; now no
    # deeper for ~160 modules and no circles. A deeper chain is a plan worth re-reading.
    depth, chain = floors(graph())
    assert depth <= 15, f"{depth} floors: " + " → ".join(chain)


def test_the_wheel_ships_every_package_folder_and_no_other_name():
    setup = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    declared = set(setup["packages"])
    # The shipped task suites and configs: folders of data files, mapped from the repository's top level.
    data = {name for name, folder in setup["package-dir"].items() if folder in ("tasks", "configs")}
    assert data == {"pytest_arena.suites.tasks", "pytest_arena.suites.configs"}
    assert declared - data == package_dirs(ROOT), "pyproject's [tool.setuptools] packages and the folders differ"
    assert {name.split(".")[0] for name in declared} == {"pytest_arena"}
    assert setup["package-dir"][ROUTER] == "router"


def test_a_project_with_its_own_router_module_runs_a_sweep(pytester):
    # A web app's own router.py at the rootdir, which a rootdir conftest puts on sys.path first.
    pytester.makepyfile(router="raise ImportError('the project router.py was imported by pytest-arena')\n")
    pytester.makeconftest("")
    make_task(pytester.path)
    make_config(pytester.path, agents=("oracle",))
    result = pytester.runpytest_subprocess("--arena-config", "arena.yaml", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert "the project router.py" not in result.stdout.str() + result.stderr.str()


def test_the_public_names_resolve_and_importing_the_package_stays_light():
    import subprocess

    probe = ("import sys, pytest_arena\n"
             "heavy = sorted({'pydantic', 'starlette', 'numpy', 'httpx'} & set(sys.modules))\n"
             "missing = [n for n in pytest_arena.__all__ if getattr(pytest_arena, n, None) is None]\n"
             "print(heavy, missing)\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[] []"
    import pytest_arena

    assert {"AgentAdapter", "InstalledAgent", "register_agent", "run_process", "Strategy", "FrontDoor",
            "TaskClass", "SandboxKind", "register_backend"} <= set(pytest_arena.__all__)


def test_plain_pytest_with_the_plugin_installed_imports_no_pydantic(pytester):
    pytester.makeconftest("""
        import sys
        def pytest_sessionfinish(session):
            plugins = [name for name, _ in session.config.pluginmanager.list_name_plugin()]
            print("ARENA-LOADED", any("pytest_arena" in str(name) or name == "arena" for name in plugins))
            print("PYDANTIC", "pydantic" in sys.modules)
    """)
    pytester.makepyfile(test_one="def test_one():\n    assert True\n")
    result = pytester.runpytest_subprocess("-s", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*ARENA-LOADED True*", "*PYDANTIC False*"])


if __name__ == "__main__":  # python -m tests.core.test_house: the figures, for a closing note
    g = graph()
    depth, chain = floors(g)
    print(f"{len(g)} modules, {sum(map(len, g.values()))} import edges, {len(circles(g))} circles, {depth} floors")
    print("deepest chain: " + " → ".join(chain))
    sys.exit(0)
