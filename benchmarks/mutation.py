"""Mutation testing for the modules whose tests guard a number or a wall (issue 20, point 4).

A small, self-contained, deterministic mutation runner (see benchmarks/MUTATION.md for why not
mutmut). For each target (a module, or some functions of it):

1. the work tree is copied to a scratch folder (``--copy``, default /work/mut-copy; never the
   checkout itself), without .git, results and caches;
2. the module is parsed with ``ast`` and one mutant is made per (node, operator): compare
   operators at their boundary or negated (``<``/``<=``, ``==``/``!=``, ``in``/``not in``,
   ``is``/``is not``), ``and``/``or``, ``not x`` -> ``x``, ``+``/``-``, ``*`` -> ``/``,
   ``+=``/``-=``, ``min``/``max``, integer and float constants +1 (1 -> 0), ``True``/``False``,
   ``return X`` -> ``return None``, ``raise ...`` -> ``pass``, ``if cond:`` -> ``if False:``
   (the guarded branch removed). The mutated text replaces only the node's own source segment,
   so comments and layout stay. Python source held in a string constant (the sandbox's
   ``_LAUNCHER``) is mutated the same way when a target names it;
3. the target's test subset (the fast tests that exercise it; new ``*_mutants.py`` files first
   unless ``--before``) runs once unmutated (it must pass), then once per mutant with
   ``-x -q -p no:cacheprovider`` and a timeout; a failing run kills the mutant.

    python benchmarks/mutation.py                       # every target
    python benchmarks/mutation.py --module router/limits.py --module router/keys.py
    python benchmarks/mutation.py --before              # without the *_mutants.py tests
    python benchmarks/mutation.py --list                # the mutants only, no test runs

Prints a table (module, mutants, killed, survived (of which unreached: on a line no test runs in
the test process, reported without a run), timeout (counted as killed), score %) and the
survivors (file:line, the mutation); ``--json PATH`` writes every mutant's result. Run it under
``nice -n 10`` on a shared machine.
"""
from __future__ import annotations

import argparse
import ast
import copy
import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@dataclasses.dataclass
class Target:
    path: str  # relative to the repo
    functions: tuple[str, ...] = ()  # only these functions/methods ("name" or "Class.name"); () = whole module
    embedded: tuple[str, ...] = ()  # module-level string constants holding Python source to mutate too
    tests: tuple[str, ...] = ()  # the existing tests that exercise it, fastest first
    new_tests: tuple[str, ...] = ()  # tests added to kill survivors (left out with --before)

    @property
    def name(self) -> str:
        return self.path + (f"::{','.join(self.functions)}" if self.functions else "")


_BUDGET_TESTS = ("tests/router/test_ledger_and_budget.py",
                 "tests/router/test_access.py::test_a_call_without_the_runs_token_is_refused_in_its_protocols_shape",
                 "tests/router/test_keys.py::test_an_always_local_run_needs_no_cloud_key")

# The modules of issue 20, point 4, and the tests that exercise each (found with grep; pytester
# tests narrowed with -k to the ones that reach the module, the rest of the suite is not run).
TARGETS = [
    Target("router/keys.py",
           tests=("tests/router/test_keys.py", "tests/router/test_faults.py::test_key_from_env_file_is_sent"),
           new_tests=("tests/router/test_keys_mutants.py",)),
    Target("router/limits.py",
           tests=("tests/router/test_shared_limits.py",),
           new_tests=("tests/router/test_limits_mutants.py",)),
    # The router's run registry, record point, budget and output meter (one module each since the house).
    *(Target(path, functions=functions, tests=_BUDGET_TESTS, new_tests=("tests/router/test_budget_mutants.py",))
      for path, functions in (
          ("router/runs.py", ("Runs.register",)),
          ("router/core.py", ("RouterCore.record",)),
          ("router/budget.py", ("Budget.spend", "Budget.charge", "Budget.check", "Budget.admit_cloud",
                                "Budget._fits", "Budget.release_cloud")),
          ("router/meter.py", ("OutputMeter.tokens", "OutputMeter.at_least")))),
    Target("pytest_arena/outcomes.py",
           tests=("tests/core/test_pytest_conventions.py",
                  "tests/core/test_plugin.py::test_oracle_passes_null_fails_as_expected_and_rows_are_complete",
                  "tests/core/test_plugin.py::test_timeout_and_crash_each_get_their_outcome"),
           new_tests=("tests/core/test_outcomes_mutants.py",)),
    Target("pytest_arena/sandbox/launcher.py",
           functions=("PrefixBox.run", "PrefixKind.available", "killed_reason", "inside", "_wait", "tail",
                      "minimal_environment", "interpreter_paths"),
           embedded=("_LAUNCHER",),
           tests=("tests/test_sandbox.py",),
           new_tests=("tests/test_sandbox_mutants.py",)),
    Target("pytest_arena/sandbox/bubblewrap.py", functions=("BubblewrapKind.prefix", "BubblewrapKind.exit_code"),
           tests=("tests/test_sandbox.py",),
           new_tests=("tests/test_sandbox_mutants.py",)),
    Target("pytest_arena/sandbox/run.py", functions=("run_sandboxed", "sandbox_kind"),
           tests=("tests/test_sandbox.py",),
           new_tests=("tests/test_sandbox_mutants.py", "tests/test_sandbox_kinds.py")),
    # The outcome decision itself lives in runner.py (outcomes.py only names the outcomes).
    Target("pytest_arena/cell/handoff.py",
           tests=("tests/core/test_multihost.py::test_popen_chdir_worker_and_artifacts_over_the_cap_stay_on_the_host",
                  "tests/core/test_cell_story.py::test_a_folder_over_the_cap_keeps_its_row_json_on_the_host",
                  "tests/core/test_plugin.py::test_oracle_passes_null_fails_as_expected_and_rows_are_complete"),
           new_tests=("tests/core/test_handoff_mutants.py",)),
    Target("pytest_arena/scoring/score.py",
           functions=("score", "prepare_scoring_dir", "_canary_tampering", "_capped_canary",
                      "_collection_mismatch", "_merged", "_counted", "_key_of", "_hit_a_cap",
                      "_test_targets", "_control_files", "_remove_control_files", "_write_pristine",
                      "read_junit", "junit_test_id", "plant_canaries", "_not_copied"),
           tests=("tests/test_scoring.py",),
           new_tests=("tests/test_scoring_mutants.py",)),
    Target("pytest_arena/cell/runner.py", functions=("decide_outcome",),
           tests=("tests/core/test_plugin.py::test_oracle_passes_null_fails_as_expected_and_rows_are_complete",
                  "tests/core/test_plugin.py::test_timeout_and_crash_each_get_their_outcome",
                  "tests/core/test_plugin.py::test_failed_cell_reports_reason_and_lf_reruns_only_it",
                  "tests/core/test_cell_story.py::test_a_pass_after_the_agents_time_limit_is_a_pass_that_says_so",
                  "tests/core/test_cell_story.py::test_a_killed_agent_whose_files_fail_is_a_timeout_not_flagged_as_a_pass"),
           new_tests=("tests/core/test_outcomes_mutants.py",)),
]


# --- making mutants ---------------------------------------------------------------------------

@dataclasses.dataclass
class Mutant:
    target: str
    path: str
    line: int
    end_line: int
    description: str
    source: str  # the whole mutated module
    status: str = "pending"  # killed | survived | timeout | pending
    seconds: float = 0.0
    detail: str = ""  # the first failing test, for a killed one


_CMP_SWAPS = {ast.Lt: [ast.LtE], ast.LtE: [ast.Lt], ast.Gt: [ast.GtE], ast.GtE: [ast.Gt],
              ast.Eq: [ast.NotEq], ast.NotEq: [ast.Eq], ast.In: [ast.NotIn], ast.NotIn: [ast.In],
              ast.Is: [ast.IsNot], ast.IsNot: [ast.Is]}
_OP_TEXT = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!=",
            ast.In: "in", ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not",
            ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_BIN_SWAPS = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div}


class _Offsets:
    """(line, byte column) of an ast node -> index into the source text."""

    def __init__(self, text: str):
        self.lines = text.splitlines(keepends=True)
        self.starts = [0]
        for line in self.lines:
            self.starts.append(self.starts[-1] + len(line))

    def index(self, lineno: int, col: int) -> int:
        line = self.lines[lineno - 1]
        return self.starts[lineno - 1] + len(line.encode("utf-8")[:col].decode("utf-8", "replace"))

    def span(self, node: ast.AST) -> tuple[int, int]:
        return self.index(node.lineno, node.col_offset), self.index(node.end_lineno, node.end_col_offset)


def _skipped_nodes(tree: ast.AST) -> set[int]:
    """ids of nodes never mutated: docstrings, annotations, f-string internals."""
    skip: set[int] = set()

    def mark(node):
        for sub in ast.walk(node):
            skip.add(id(sub))

    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                mark(body[0])
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if node.returns:
                mark(node.returns)
            for arg in [*node.args.args, *node.args.kwonlyargs, *node.args.posonlyargs,
                        node.args.vararg, node.args.kwarg]:
                if arg is not None and arg.annotation is not None:
                    mark(arg.annotation)
        if isinstance(node, ast.AnnAssign):
            mark(node.annotation)
        if isinstance(node, ast.JoinedStr):
            mark(node)
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            mark(node)
    return skip


def _scopes(tree: ast.Module, functions: tuple[str, ...]) -> list[ast.AST]:
    if not functions:
        return [tree]
    found = []

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                qual = f"{prefix}{child.name}"
                if qual in functions or child.name in functions and not prefix:
                    found.append(child)
                else:
                    visit(child, qual + ".")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
    visit(tree, "")
    names = {f.name for f in found}
    missing = {q for q in functions if q.split(".")[-1] not in names}
    if missing:
        raise SystemExit(f"functions not found: {sorted(missing)}")
    return found


def _node_mutations(node: ast.AST, text: str, offsets: _Offsets):
    """(description, replacement text, (start, end)) for each mutation of one node."""
    def expr(new):  # a replacement expression, parenthesised so it binds as the original did
        return f"({ast.unparse(new)})"

    if isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            for swap in _CMP_SWAPS.get(type(op), []):
                new = copy.deepcopy(node)
                new.ops[i] = swap()
                yield (f"{_OP_TEXT[type(op)]} -> {_OP_TEXT[swap]}", expr(new), offsets.span(node))
    elif isinstance(node, ast.BoolOp):
        new = copy.deepcopy(node)
        new.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        yield ("and -> or" if isinstance(node.op, ast.And) else "or -> and", expr(new), offsets.span(node))
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        yield ("not x -> x", expr(node.operand), offsets.span(node))
    elif isinstance(node, ast.BinOp) and type(node.op) in _BIN_SWAPS:
        if any(isinstance(side, (ast.Constant, ast.JoinedStr)) and isinstance(getattr(side, "value", ""), str)
               for side in (node.left, node.right)):
            return  # string concatenation: not a number
        new = copy.deepcopy(node)
        new.op = _BIN_SWAPS[type(node.op)]()
        yield (f"{_OP_TEXT[type(node.op)]} -> {_OP_TEXT[type(new.op)]}", expr(new), offsets.span(node))
    elif isinstance(node, ast.AugAssign) and type(node.op) in (ast.Add, ast.Sub):
        new = copy.deepcopy(node)
        new.op = ast.Sub() if isinstance(node.op, ast.Add) else ast.Add()
        yield (f"{_OP_TEXT[type(node.op)]}= -> {_OP_TEXT[type(new.op)]}=", ast.unparse(new), offsets.span(node))
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("min", "max"):
        other = "max" if node.func.id == "min" else "min"
        yield (f"{node.func.id}() -> {other}()", other, offsets.span(node.func))
    elif isinstance(node, ast.Constant) and isinstance(node.value, bool):
        yield (f"{node.value} -> {not node.value}", str(not node.value), offsets.span(node))
    elif isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        # One mutant per number: 1 -> 0, any other n -> n + 1 (0 -> 1): an off-by-one either way
        # at a boundary, without doubling the run time.
        value = 0 if node.value == 1 else node.value + 1
        yield (f"{node.value!r} -> {value!r}", f"({value!r})", offsets.span(node))
    elif isinstance(node, ast.Return) and node.value is not None and not (
            isinstance(node.value, ast.Constant) and node.value.value is None):
        yield ("return X -> return None", "return None", offsets.span(node))
    elif isinstance(node, ast.Raise):
        yield ("raise removed", "pass", offsets.span(node))
    elif isinstance(node, ast.If):
        yield ("if guard removed (cond -> False)", "False", offsets.span(node.test))


def _mutations_of(text: str, functions: tuple[str, ...] = ()):
    """(line, description, mutated text) of every mutation of ``text`` (a module's source)."""
    tree = ast.parse(text)
    offsets = _Offsets(text)
    skip = _skipped_nodes(tree)
    seen = set()
    for scope in _scopes(tree, functions):
        for node in ast.walk(scope):
            if id(node) in skip or id(node) in seen or not hasattr(node, "lineno"):
                continue
            seen.add(id(node))
            for description, replacement, (start, end) in _node_mutations(node, text, offsets):
                mutated = text[:start] + replacement + text[end:]
                yield (node.lineno, node.end_lineno), description, mutated


def _embedded_mutations(text: str, name: str):
    """Mutations of Python source held in the module-level string constant ``name``."""
    tree = ast.parse(text)
    offsets = _Offsets(text)
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets) \
                and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            inner = node.value.value
            start, end = offsets.span(node.value)
            for (line, _), description, mutated_inner in _mutations_of(inner):
                ast.parse(mutated_inner)
                # The string starts on its assignment's line; inner line 1 is the rest of that line.
                # It runs in another process: (0, 0) marks it as never traced.
                yield (node.value.lineno + line - 1, 0), f"[{name}] {description}", \
                    text[:start] + repr(mutated_inner) + text[end:]
            return
    raise SystemExit(f"no string constant {name} in the module")


def make_mutants(target: Target, repo: Path = REPO) -> list[Mutant]:
    text = (repo / target.path).read_text()
    mutants = []
    found = list(_mutations_of(text, target.functions))
    for name in target.embedded:
        found += list(_embedded_mutations(text, name))
    seen = set()
    for (line, end_line), description, mutated in sorted(found, key=lambda item: item[0]):
        if mutated in seen or mutated == text:
            continue
        seen.add(mutated)
        compile(mutated, target.path, "exec")  # every mutant must at least compile
        mutants.append(Mutant(target.name, target.path, line, end_line, description, mutated))
    return mutants


# --- running them -----------------------------------------------------------------------------

_COPY_IGNORE = shutil.ignore_patterns(".git", "results", "mutants", "__pycache__", "*.pyc", ".pytest_cache",
                                      "node_modules", ".venv")
# A pytest plugin, written into the copy only: records which lines of one module run in the test
# process (and its threads), so a mutant on a line no test reaches is reported without a run.
_TRACE_PLUGIN = """\
import json, os, sys, threading
_FILE, _LINES = os.environ["MUTATION_TRACE_FILE"], set()
def _local(frame, event, arg):
    if event == "line":
        _LINES.add(frame.f_lineno)
    return _local
def _global(frame, event, arg):
    if frame.f_code.co_filename == _FILE:
        _LINES.add(frame.f_lineno)
        return _local
    return None
sys.settrace(_global)
threading.settrace(_global)
def pytest_unconfigure(config):
    with open(os.environ["MUTATION_TRACE_OUT"], "w") as out:
        json.dump(sorted(_LINES), out)
"""


def make_copy(dest: Path) -> None:
    if dest.resolve() == REPO or REPO in dest.resolve().parents:
        raise SystemExit("the copy must be outside the checkout")
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(REPO, dest, ignore=_COPY_IGNORE, symlinks=True)
    (dest / "_mutation_trace.py").write_text(_TRACE_PLUGIN)


def _env(copy_dir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    # The editable install points at the checkout: the copy must win, in subprocesses too.
    env["PYTHONPATH"] = os.pathsep.join([str(copy_dir), *filter(None, [env.get("PYTHONPATH")])])
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # a same-size mutant in the same second must never hit a stale .pyc
    env.pop("PYTEST_ADDOPTS", None)
    env.pop("PYTEST_XDIST_WORKER", None)
    env.update(extra or {})
    return env


_ACTIVE: set[int] = set()  # process groups of the test runs in progress (killed on Ctrl-C)


def _run_tests(copy_dir: Path, tests: list[str], timeout: float, plugins: tuple[str, ...] = (),
               extra_env: dict[str, str] | None = None) -> tuple[str, float, str]:
    """('passed' | 'failed' | 'timeout', seconds, first failing line)."""
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
           "-o", "addopts=-p pytester", *[a for p in plugins for a in ("-p", p)], *tests]
    start = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=copy_dir, env=_env(copy_dir, extra_env), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    _ACTIVE.add(proc.pid)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return "timeout", time.monotonic() - start, ""
    finally:
        if proc.poll() is None:  # interrupted: leave nothing running
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        _ACTIVE.discard(proc.pid)
    elapsed = time.monotonic() - start
    if proc.returncode == 0:
        return "passed", elapsed, ""
    failing = next((line for line in out.splitlines() if line.startswith(("FAILED", "ERROR"))),
                   out.strip().splitlines()[-1] if out.strip() else f"exit {proc.returncode}")
    return "failed", elapsed, failing[:200]


def _write(path: Path, text: str) -> None:
    path.write_text(text)
    cache = path.parent / "__pycache__"
    for pyc in cache.glob(path.stem + ".*.pyc") if cache.is_dir() else ():
        pyc.unlink()


def _tests_of(target: Target, before: bool, copy_dir: Path = REPO) -> list[str]:
    tests = [t for t in (() if before else target.new_tests) if (copy_dir / t.split("::")[0]).exists()]
    return tests + list(target.tests)


def run_target(target: Target, mutants: list[Mutant], copies: list[Path], before: bool, log) -> str | None:
    """Run each mutant (their status is filled in as they go); an error message, or None."""
    tests = _tests_of(target, before, copies[0])
    original = (copies[0] / target.path).read_text()
    for copy_dir in copies:
        _write(copy_dir / target.path, original)
    trace_out = copies[0] / "_mutation_trace.json"
    status, baseline, detail = _run_tests(copies[0], tests, timeout=1200, plugins=("_mutation_trace",), extra_env={
        "MUTATION_TRACE_FILE": str(copies[0] / target.path), "MUTATION_TRACE_OUT": str(trace_out)})
    if status != "passed":
        return f"the unmutated test run did not pass ({status}): {detail}"
    reached = set(json.loads(trace_out.read_text())) if trace_out.exists() else None
    timeout = max(3 * baseline, baseline + 30)  # the traced run is slower than an untraced one
    log(f"{target.name}: {len(mutants)} mutants, tests {baseline:.1f} s unmutated (traced), "
        f"timeout {timeout:.0f} s, {len(reached or ())} lines reached")
    todo = []
    for mutant in mutants:
        if mutant.status != "pending":  # carried over from --survivors-of
            continue
        if reached is not None and mutant.end_line and not reached & set(range(mutant.line, mutant.end_line + 1)):
            mutant.status, mutant.detail = "survived", "no test reaches this line"
        else:
            todo.append(mutant)
    done = iter(range(1, len(todo) + 1))
    lock = threading.Lock()

    def work(copy_dir: Path, queue: list[Mutant]) -> None:
        module = copy_dir / target.path
        try:
            while True:
                with lock:
                    if not queue:
                        return
                    mutant = queue.pop(0)
                _write(module, mutant.source)
                result, mutant.seconds, mutant.detail = _run_tests(copy_dir, tests, timeout)
                mutant.status = {"passed": "survived", "failed": "killed", "timeout": "timeout"}[result]
                with lock:
                    log(f"  [{next(done)}/{len(todo)}] {mutant.path}:{mutant.line} {mutant.description}: "
                        f"{mutant.status} ({mutant.seconds:.1f} s)")
        finally:
            _write(module, original)

    queue = list(todo)
    threads = [threading.Thread(target=work, args=(c, queue), daemon=True) for c in copies]
    for t in threads:
        t.start()
    for t in threads:
        while t.is_alive():
            t.join(0.5)
    return None


def _table(results: list[tuple[Target, list[Mutant], str | None]]) -> str:
    rows = [("module", "mutants", "killed", "survived", "(unreached)", "timeout", "score %")]
    for target, mutants, error in results:
        done = [m for m in mutants if m.status != "pending"]
        killed = sum(m.status in ("killed", "timeout") for m in done)
        survived = sum(m.status == "survived" for m in done)
        timeout = sum(m.status == "timeout" for m in done)
        unreached = sum(m.detail == "no test reaches this line" for m in done)
        score = f"{100 * killed / len(done):.1f}" if done else ("error" if error else "-")
        tried = f"{len(done)}/{len(mutants)}" if len(done) != len(mutants) else str(len(mutants))
        label = target.path + (f" ({len(target.functions)} functions)" if target.functions else "")
        rows.append((label, tried, str(killed), str(survived), str(unreached), str(timeout), score))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
             for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--module", action="append", default=[],
                        help="a target's path (repeatable); default: every target")
    parser.add_argument("--before", action="store_true", help="leave out the *_mutants.py tests")
    parser.add_argument("--copy", default="/work/mut-copy", help="scratch copy of the work tree")
    parser.add_argument("--jobs", type=int, default=1, help="mutants run at once, each in its own copy")
    parser.add_argument("--sample", type=int, metavar="N",
                        help="run only N mutants per target, evenly spread over the module (a quick, "
                             "deterministic estimate; the table then counts N)")
    parser.add_argument("--list", action="store_true", help="list the mutants, run nothing")
    parser.add_argument("--json", help="write every mutant's result here")
    parser.add_argument("--survivors-of", metavar="JSON",
                        help="re-run only the mutants that survived in this earlier --json result; the "
                             "others keep their earlier status (adding tests cannot revive a killed mutant)")
    args = parser.parse_args(argv)

    targets = [t for t in TARGETS if not args.module or t.path in args.module or t.name in args.module]
    if not targets:
        parser.error(f"no target matches {args.module}; targets: {[t.path for t in TARGETS]}")
    if args.list:
        for target in targets:
            for m in make_mutants(target):
                print(f"{m.path}:{m.line}: {m.description}")
            print(f"# {target.name}: {len(make_mutants(target))} mutants")
        return 0

    def log(message):
        print(message, flush=True)

    def interrupted(signum, frame):
        raise KeyboardInterrupt

    # Ctrl-C or SIGTERM (a background shell job ignores SIGINT) ends the run with partial results.
    signal.signal(signal.SIGINT, interrupted)
    signal.signal(signal.SIGTERM, interrupted)

    started = time.monotonic()
    copies = [Path(f"{args.copy}-{i}") if args.jobs > 1 else Path(args.copy) for i in range(args.jobs)]
    for copy_dir in copies:
        make_copy(copy_dir)
        check = subprocess.run([sys.executable, "-c",
                                "import pytest_arena, router; print(pytest_arena.__file__, router.__file__)"],
                               cwd="/", env=_env(copy_dir), capture_output=True, text=True)
        if check.stdout.count(str(copy_dir) + "/") != 2:
            raise SystemExit(f"the copy's modules do not win over the installed ones: {check.stdout} {check.stderr}")
    # Mutants and originals come from the first copy: one snapshot, even while the checkout changes.
    results = [(target, make_mutants(target, copies[0]), None) for target in targets]
    if args.sample:
        results = [(t, [m for i, m in enumerate(ms) if i % max(1, -(-len(ms) // args.sample)) == 0], e)
                   for t, ms, e in results]
    if args.survivors_of:
        earlier = {(r["target"], r["line"], r["mutation"], i): r
                   for i, r in enumerate(json.loads(Path(args.survivors_of).read_text()))}
        by_key: dict[tuple, list[dict]] = {}
        for (target_name, line, mutation, _), r in earlier.items():
            by_key.setdefault((target_name, line, mutation), []).append(r)
        for _target, mutants, _ in results:
            for m in mutants:
                found = by_key.get((m.target, m.line, m.description))
                if found and found[0]["status"] in ("killed", "timeout"):
                    r = found.pop(0)
                    m.status, m.seconds, m.detail = r["status"], r["seconds"], "earlier run: " + r["detail"]
                elif found:
                    found.pop(0)
    try:
        for i, (target, mutants, _) in enumerate(results):
            error = run_target(target, mutants, copies, args.before, log)
            if error:
                log(f"{target.name}: {error}")
                results[i] = (target, mutants, error)
    except KeyboardInterrupt:
        log("interrupted: partial results (pending mutants are not counted)")
        for pgid in list(_ACTIVE):
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    finally:
        for copy_dir in copies:
            shutil.rmtree(copy_dir, ignore_errors=True)
    print()
    print(_table(results))
    survivors = [m for _, mutants, _ in results for m in mutants if m.status == "survived"]
    if survivors:
        print("\nsurvivors:")
        for m in survivors:
            print(f"  {m.path}:{m.line}: {m.description}" + (" (no test reaches it)" if m.detail else ""))
    print(f"\nwall time {time.monotonic() - started:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps([
            {"target": m.target, "path": m.path, "line": m.line, "mutation": m.description,
             "status": m.status, "seconds": round(m.seconds, 2), "detail": m.detail}
            for _, mutants, _ in results for m in mutants], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
