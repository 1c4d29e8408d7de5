"""The ``seatbelt`` kind (macOS sandbox-exec), tested where no Mac is: its profile against golden
files, read back as SBPL, evaluated for the operations an agent may try (under both readings of
which rule wins), compared with an independent generator's profile for the same policy
(@anthropic-ai/sandbox-runtime, installed from npm into a cache; skipped without npm), and its
box run through a stand-in ``sandbox-exec`` that speaks the real one's command line. The host-side
watchdog (the caps Seatbelt cannot give) and the launcher's macOS guards run for real, with the
platform simulated.

Golden files: ``ARENA_REGEN_GOLDEN=1 pytest tests/test_seatbelt.py`` rewrites tests/golden/seatbelt/.
"""
from __future__ import annotations

import fcntl
import json
import os
import shlex
import shutil
import subprocess
import sys
import textwrap
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from pytest_arena.sandbox import launcher, seatbelt
from pytest_arena.sandbox.base import Availability, BoxSpec, Limits, RouterLink, SandboxStartError
from pytest_arena.sandbox.kinds import check_sandbox_kind, get_sandbox_kind
from pytest_arena.sandbox.plain import SubprocessKind
from pytest_arena.sandbox.run import run_sandboxed
from pytest_arena.sandbox.seatbelt_profile import (
    DATA_VOLUME,
    HOST_SECRETS,
    PACKAGE_DIRS,
    PACKAGE_PREFIXES,
    SYSTEM_READ,
    SYSTEM_READ_FILES,
    SeatbeltPolicy,
    render,
    sbpl_string,
)
from pytest_arena.sandbox.seatbelt_sbpl import OPERATIONS, Query, SbplError, check, decide, read
from pytest_arena.sandbox.seatbelt_watchdog import Watchdog, parse_ps

GOLDEN = Path(__file__).parent / "golden" / "seatbelt"
REGEN = os.environ.get("ARENA_REGEN_GOLDEN") == "1"
ORACLE_PACKAGE, ORACLE_VERSION = "@anthropic-ai/sandbox-runtime", "0.0.83"
ORACLE_CACHE = Path.home() / ".cache" / "pytest-arena" / "oracle-npm" / ORACLE_VERSION

# --- the policies -------------------------------------------------------------------------------

T = "/private/var/folders/7x/k2q/T"  # a Mac's per-user temp folder, as the kernel names it
PYTHON = Path("/opt/homebrew/Cellar/python@3.12/3.12.4/Frameworks/Python.framework/Versions/3.12")
AGENT_WS = f"{T}/arena-cell-1/workspace"
AGENT_INSTALL = "/Users/alice/.cache/pytest-arena/agents/aider/0.86"
PROJECT = "/Users/alice/proj"
REFERENCE = f"{PROJECT}/tasks/folder/t1"
ODD = '/Users/alice/odd "quoted" dir\\ with\nnewline é'
ROUTER_PORT = 54321

POLICIES: dict[str, tuple[BoxSpec, Limits]] = {
    # an agent cell: workspace and home writable, its install and node read-only, the router link
    "agent": (BoxSpec(workdir=Path(AGENT_WS),
                      writable=(Path(f"{T}/arena-cell-1/home"), Path(f"{T}/arena-seatbelt-1")),
                      readonly=(Path(AGENT_INSTALL), Path("/opt/homebrew/Cellar/node/22.1.0")),
                      router=RouterLink(uds_path=f"{T}/router/router.sock", port=ROUTER_PORT), harness_env=False),
              Limits(wall_s=600, memory_mb=None)),
    # the acceptance tests: the project (and its venv) read-only, the task's folder hidden inside it
    "scoring": (BoxSpec(workdir=Path(f"{T}/arena-score-1/work"),
                        writable=(Path(f"{T}/arena-score-1/report"), Path(f"{T}/arena-seatbelt-2")),
                        readonly=(Path(PROJECT), Path(f"{PROJECT}/.venv")), hidden=(Path(REFERENCE),)),
                Limits(wall_s=120)),
    # paths that try to break out of their literals; a writable folder inside a hidden one; network on
    "awkward": (BoxSpec(workdir=Path(f"{ODD}/ws"), writable=(Path(f"{ODD}/ws/reference/out"),),
                        readonly=(Path('/Users/x/") (allow default) ("'),),
                        hidden=(Path(f"{ODD}/ws/reference"), Path(f"{ODD}/ws/data/private"))),
                Limits(wall_s=60, network=True)),
}


def policy(name: str) -> SeatbeltPolicy:
    spec, limits = POLICIES[name]
    return seatbelt.policy_for(spec, limits, interpreter=[PYTHON])


def profile(name: str) -> str:
    return render(policy(name))


# --- golden files and reading back -----------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(POLICIES))
def test_the_profile_for_a_policy_is_its_golden_file(name):
    golden = GOLDEN / f"{name}.sb"
    text = profile(name)
    if REGEN:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text, encoding="utf-8")
    assert golden.exists(), f"no golden file {golden}: run ARENA_REGEN_GOLDEN=1 pytest {__file__}"
    assert text == golden.read_text(encoding="utf-8"), (
        f"the {name} profile changed; if that is intended, regenerate: ARENA_REGEN_GOLDEN=1 pytest {__file__}")


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_the_profile_reads_as_sbpl_with_known_operations_only(name):
    rules = check(profile(name))
    assert rules[0].action == "deny" and rules[0].operations == ("default",) and not rules[0].filters
    assert {op for r in rules for op in r.operations} <= OPERATIONS
    # every path the policy names comes back from the literals exactly as it went in
    named = {str(f[1]) for r in rules for f in r.filters if isinstance(f, list) and f[0] in ("subpath", "literal")}
    p = policy(name)
    assert {p.workdir, *p.writable, *p.readonly, *p.hidden} <= named


def test_the_reader_refuses_what_sandbox_exec_would():
    good = profile("agent")
    with pytest.raises(SbplError, match="never closed"):
        check(good + "(allow file-read* (subpath \"/x\")\n")
    with pytest.raises(SbplError, match="closes nothing"):
        check(good + "))\n")
    with pytest.raises(SbplError, match="unknown operation 'file-reed\\*'"):
        check(good + '(allow file-reed* (subpath "/x"))\n')
    with pytest.raises(SbplError, match="string literal is never closed"):
        check(good + '(allow file-read* (subpath "/x))\n')
    with pytest.raises(SbplError, match="starts with \\(version 1\\)"):
        check(good.replace("(version 1)", "", 1))


@pytest.mark.parametrize("path", [
    '/Users/a/"', '/Users/a/\\', '/Users/a/\\"', '/Users/a/\n(allow default)\n', '/Users/a/") (allow default) ("',
    '/Users/a/\\") (allow default) (\\"', "/Users/a/\t\r\x1b", "/Users/a/#\"re\"", "/Users/a/;comment",
])
def test_no_path_breaks_out_of_its_string_literal(path):
    text = render(SeatbeltPolicy(workdir=path, hidden=(path + "/h",), router_port=ROUTER_PORT))
    plain = render(SeatbeltPolicy(workdir="/Users/a/plain", hidden=("/Users/a/plain/h",), router_port=ROUTER_PORT))
    rules, plain_rules = check(text), check(plain)
    assert len(rules) == len(plain_rules)  # nothing injected: the same rules, with the path inside
    assert [str(f[1]) for r in rules for f in r.filters if isinstance(f, list) and f[0] == "subpath"].count(path) >= 1
    assert read(sbpl_string(path)) == [path]
    for query in (Query("file-read-data", "/Users/alice/.ssh/id_rsa"), Query("file-read-data", path + "/h/secret"),
                  Query("mach-lookup", name="com.apple.pasteboard.1")):
        assert decide(rules, query)[0] == "deny", query
    assert decide(rules, Query("file-write-data", path + "/made"))[0] == "allow"


def test_a_path_longer_than_sandbox_exec_reads_is_refused_not_cut():
    long = "/Users/a/" + "x" * 1100
    with pytest.raises(ValueError, match="longer than the 1024 bytes"):
        render(SeatbeltPolicy(workdir=long))
    with pytest.raises(SandboxStartError, match="seatbelt sandbox could not start: Seatbelt cannot name the path"):
        seatbelt.SeatbeltKind().prefix(BoxSpec(workdir=Path(long)), Limits(wall_s=1))


# --- the decision table -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Row:
    query: Query
    ours: str  # "allow" or "deny"
    theirs: str | None = None  # the oracle's profile's answer where it deliberately differs
    why: str = ""  # why it differs
    shared: bool = True  # the oracle's policy can say this at all (compared with it)

    def __str__(self) -> str:
        return str(self.query)


def read_(path: str) -> Query:
    return Query("file-read-data", path, vnode="REGULAR-FILE")


def write(path: str) -> Query:
    return Query("file-write-data", path, vnode="REGULAR-FILE")


def connect(host: str, port: int) -> Query:
    return Query("network-outbound", remote=(host, port))


def unix(path: str) -> Query:
    return Query("network-outbound", path)


def mach(name: str) -> Query:
    return Query("mach-lookup", name=name)


KEYCHAIN = "their profile lets a process reach the Keychain's services; ours never does"
EXEC = "their profile runs every program; ours neither reads nor runs the ones that reach Apple Events or the Keychain"
LAUNCH = "their profile reaches Launch Services (what `open` talks to); ours does not"
FIRMLINK = ("their profile reads all of /System, the data volume's other name included; "
            "ours reads files by their own name")

TABLE: dict[str, list[Row]] = {
    "agent": [
        Row(read_(f"{AGENT_WS}/src/app.py"), "allow"),
        Row(write(f"{AGENT_WS}/src/app.py"), "allow"),
        Row(write(f"{T}/arena-cell-1/home/.config/x"), "allow"),
        Row(read_(f"{AGENT_INSTALL}/bin/aider"), "allow"),
        Row(write(f"{AGENT_INSTALL}/bin/aider"), "deny"),
        Row(Query("file-map-executable", f"{AGENT_INSTALL}/lib/addon.node"), "allow", shared=False),
        Row(read_(f"{PYTHON}/lib/python3.12/os.py"), "allow"),
        Row(write("/Users/alice/Documents/notes.txt"), "deny"),
        Row(read_("/Users/alice/Documents/notes.txt"), "deny"),
        Row(read_("/Users/alice/.ssh/id_rsa"), "deny"),
        Row(read_("/Users/alice/proj/.env"), "deny"),
        Row(read_("/Users/alice/Library/Keychains/login.keychain-db"), "deny"),
        Row(read_(f"{DATA_VOLUME}/Users/alice/.ssh/id_rsa"), "deny", "allow", FIRMLINK),
        Row(read_("/private/etc/hosts"), "allow"),
        Row(read_("/private/etc/ssh/ssh_host_ed25519_key"), "deny"),
        Row(write("/private/etc/hosts"), "deny"),
        Row(read_("/usr/lib/libSystem.B.dylib"), "allow"),
        Row(write("/usr/lib/evil.dylib"), "deny"),
        Row(read_("/opt/homebrew/bin/git"), "allow"),
        Row(read_("/opt/homebrew/var/postgresql@16/base/1"), "deny"),
        Row(read_("/private/tmp/other-program.txt"), "deny"),
        Row(write("/private/tmp/x"), "deny"),
        Row(Query("file-read-metadata", f"{T}/arena-cell-1"), "allow", shared=False),
        Row(Query("file-read-data", f"{T}/arena-cell-1", vnode="DIRECTORY"), "deny"),
        Row(connect("127.0.0.1", ROUTER_PORT), "allow"),
        Row(connect("::1", ROUTER_PORT), "allow"),
        Row(connect("127.0.0.1", 11434), "deny"),  # Ollama, on the same host
        Row(connect("127.0.0.1", ROUTER_PORT + 1), "deny"),
        Row(connect("140.82.112.3", 443), "deny"),
        Row(unix("/private/var/run/docker.sock"), "deny"),
        Row(unix("/private/tmp/com.apple.launchd.abc/Listeners"), "deny"),
        Row(unix("/Users/alice/.ssh/agent.sock"), "deny"),
        Row(unix(f"{AGENT_WS}/.server.sock"), "allow", "deny",
            "their profile allows no Unix socket at all unless told; ours allows the box's own", shared=False),
        Row(mach("com.apple.pasteboard.1"), "deny"),
        Row(mach("com.apple.pasteboard.2"), "deny"),
        Row(mach("com.apple.SecurityServer"), "deny", "allow", KEYCHAIN),
        Row(mach("com.apple.securityd.xpc"), "deny", "allow", KEYCHAIN),
        Row(mach("com.apple.coreservices.launchservicesd"), "deny", "allow", LAUNCH),
        Row(mach("com.apple.lsd.mapdb"), "deny", "allow", LAUNCH),
        Row(mach("com.apple.coreservices.appleevents"), "deny"),
        Row(mach("com.apple.tccd"), "deny"),
        Row(mach("com.apple.system.opendirectoryd.libinfo"), "allow"),
        Row(mach("com.apple.logd"), "allow"),
        Row(Query("process-exec", "/usr/bin/osascript"), "deny", "allow", EXEC),
        Row(Query("process-exec", "/usr/bin/open"), "deny", "allow", EXEC),
        Row(Query("process-exec", "/usr/bin/security"), "deny", "allow", EXEC),
        Row(read_("/usr/bin/osascript"), "deny", "allow", EXEC),  # so no copy of it runs either
        Row(Query("process-exec", "/usr/bin/git"), "allow"),
        Row(Query("process-exec", f"{AGENT_INSTALL}/bin/aider"), "allow"),
    ],
    "scoring": [
        Row(read_(f"{PROJECT}/src/app.py"), "allow"),
        Row(read_(f"{PROJECT}/.venv/lib/python3.12/site-packages/pytest/__init__.py"), "allow"),
        Row(read_(f"{REFERENCE}/reference/solution.py"), "deny"),  # hidden inside a read-only path
        Row(read_(f"{REFERENCE}/tests/test_app.py"), "deny"),
        Row(read_(f"{PROJECT}/tasks/folder/t2/task.yaml"), "allow"),
        Row(write(f"{PROJECT}/src/app.py"), "deny"),
        Row(write(f"{T}/arena-score-1/report/junit.xml"), "allow"),
        Row(write(f"{T}/arena-score-1/work/test_app.py"), "allow"),
        Row(read_("/Users/alice/.ssh/id_rsa"), "deny"),
        Row(connect("127.0.0.1", ROUTER_PORT), "deny"),  # no router link for the acceptance tests
        Row(connect("127.0.0.1", 11434), "deny"),
        Row(mach("com.apple.pasteboard.1"), "deny"),
        Row(Query("process-exec", "/usr/bin/osascript"), "deny", "allow", EXEC),
    ],
    "awkward": [
        Row(read_(f"{ODD}/ws/main.py"), "allow", shared=False),
        Row(read_(f"{ODD}/ws/reference/solution.py"), "deny", shared=False),
        Row(write(f"{ODD}/ws/reference/out/result.txt"), "allow", shared=False),  # writable inside hidden
        Row(read_(f"{ODD}/ws/data/private/key"), "deny", shared=False),
        Row(write(f"{ODD}/ws/data/new.txt"), "allow", shared=False),
        # the folder above a hidden one cannot be renamed away (mv data x; cat x/private/key)
        Row(Query("file-write-unlink", f"{ODD}/ws/data"), "deny", shared=False),
        Row(Query("file-write-unlink", f"{ODD}/ws/main.py"), "allow", shared=False),
        Row(read_("/Users/x/secret"), "deny", shared=False),
        Row(read_("/Users/alice/.ssh/id_rsa"), "deny", shared=False),
        Row(connect("140.82.112.3", 443), "allow", shared=False),  # Limits.network
        Row(unix("/private/var/run/mDNSResponder"), "allow", shared=False),
        Row(unix("/private/var/run/docker.sock"), "deny", shared=False),
        Row(mach("com.apple.pasteboard.1"), "deny", shared=False),
    ],
}
ALL_ROWS = [pytest.param(name, row, id=f"{name}: {row}") for name, rows in TABLE.items() for row in rows]


@pytest.mark.parametrize(("name", "row"), ALL_ROWS)
def test_the_profile_decides_each_intended_operation(name, row):
    rules = check(profile(name))
    last, by = decide(rules, row.query, "last")
    specific, _ = decide(rules, row.query, "specific")
    assert last == row.ours, f"{row.query}: {last} by {by}"
    assert specific == row.ours, f"{row.query}: {specific} when an exact operation beats a wildcard"


# --- the oracle: an independent generator of Seatbelt profiles ---------------------------------------

_ORACLE_SCRIPT = r"""
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
const modulePath = join(process.argv[2], 'node_modules', '@anthropic-ai', 'sandbox-runtime', 'dist', 'sandbox',
                        'macos-sandbox-utils.js');
const { wrapCommandWithSandboxMacOS } = await import(pathToFileURL(modulePath).href);
const p = JSON.parse(readFileSync(0, 'utf8'));
process.stdout.write(wrapCommandWithSandboxMacOS({
  command: 'true', needsNetworkRestriction: !p.network, httpProxyPort: p.router_port ?? undefined,
  readConfig: { denyOnly: p.deny_read, allowWithinDeny: p.allow_read },
  writeConfig: { allowOnly: p.writable, denyWithinAllow: p.deny_write },
  allowUnixSockets: [], allowPty: true,
}));
"""


@pytest.fixture(scope="module")
def oracle() -> Path:
    """The oracle package, installed once into a cache (under a lock: xdist workers share it)."""
    npm, node = shutil.which("npm"), shutil.which("node")
    if not npm or not node:
        pytest.skip("npm/node are not installed: the oracle generator (npm @anthropic-ai/sandbox-runtime) cannot run")
    marker = ORACLE_CACHE / "node_modules" / "@anthropic-ai" / "sandbox-runtime" / "package.json"
    ORACLE_CACHE.mkdir(parents=True, exist_ok=True)
    with open(ORACLE_CACHE.parent / f".{ORACLE_VERSION}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not marker.exists():
            done = subprocess.run([npm, "install", "--prefix", str(ORACLE_CACHE), "--no-audit", "--no-fund",
                                   "--ignore-scripts", "--loglevel=error", f"{ORACLE_PACKAGE}@{ORACLE_VERSION}"],
                                  capture_output=True, text=True, timeout=600)
            if done.returncode != 0 or not marker.exists():
                pytest.skip(f"could not install the oracle {ORACLE_PACKAGE}@{ORACLE_VERSION} from npm (offline?): "
                            f"{done.stderr.strip()[-300:]}")
    assert json.loads(marker.read_text())["version"] == ORACLE_VERSION
    return ORACLE_CACHE


def oracle_profile(root: Path, p: SeatbeltPolicy, cwd: Path) -> str:
    """The oracle's profile for the same policy: reads denied everywhere but the system and the
    box's paths, writes only to its writable paths, the hidden paths and host secrets denied."""
    writable = [p.workdir, *p.writable]
    system = [*SYSTEM_READ, *(f"{prefix}/{d}" for prefix in PACKAGE_PREFIXES for d in PACKAGE_DIRS),
              *SYSTEM_READ_FILES]
    given = {"network": p.network, "router_port": p.router_port, "writable": writable,
             "allow_read": [*system, *p.readonly, *writable], "deny_read": ["/", *p.hidden, *HOST_SECRETS],
             "deny_write": list(p.hidden)}
    script = cwd / "oracle.mjs"
    script.write_text(_ORACLE_SCRIPT)
    done = subprocess.run(["node", str(script), str(root)], input=json.dumps(given), capture_output=True, text=True,
                          cwd=cwd, timeout=60)
    assert done.returncode == 0, done.stderr
    argv = shlex.split(done.stdout)
    return argv[argv.index("/usr/bin/sandbox-exec") + 2]  # sandbox-exec -p PROFILE shell -c command


SHARED = [pytest.param(name, row, id=f"{name}: {row}") for name, rows in TABLE.items() for row in rows if row.shared]


@pytest.fixture(scope="module")
def oracle_rules(oracle, tmp_path_factory):
    """The oracle's profile for each policy, read by our reader (which must read theirs too)."""
    made: dict[str, list] = {}

    def rules(name: str) -> list:
        if name not in made:
            made[name] = check(oracle_profile(oracle, policy(name), tmp_path_factory.mktemp(f"oracle-{name}")))
        return made[name]
    return rules


@pytest.mark.parametrize(("name", "row"), SHARED)
def test_the_oracles_profile_for_the_same_policy_agrees_but_where_we_meant_to_differ(oracle_rules, name, row):
    theirs = oracle_rules(name)
    expected = row.theirs or row.ours
    for semantics in ("last", "specific"):
        answer, by = decide(theirs, row.query, semantics)
        assert answer == expected, (
            f"the oracle's profile says {answer} for {row.query} ({semantics} rule wins; by {by}); expected "
            f"{expected}" + (f": {row.why}" if row.why else " as ours does"))


# --- the box, through a stand-in sandbox-exec -----------------------------------------------------------

FAKE_SANDBOX_EXEC = """#!{python}
# Stands in for /usr/bin/sandbox-exec (which only macOS has): the same command line
# (-p PROFILE COMMAND ARGS...), a profile it cannot read refused with exit 65, then exec.
import os, sys
sys.path[:0] = {path!r}
from pytest_arena.sandbox.seatbelt_sbpl import SbplError, check
args = sys.argv[1:]
if len(args) < 3 or args[0] != "-p":
    sys.exit("usage: sandbox-exec [-p profile-string] command [arguments ...]")
try:
    check(args[1])
except SbplError as exc:
    print("sandbox-exec: " + str(exc), file=sys.stderr)
    sys.exit(65)
with open({log!r}, "a") as log:
    log.write(args[1] + "\\f")
os.execv(args[2], args[2:])
"""


@pytest.fixture
def fake_sandbox_exec(tmp_path, monkeypatch):
    log = tmp_path / "profiles.log"
    fake = tmp_path / "sandbox-exec"
    fake.write_text(FAKE_SANDBOX_EXEC.format(python=sys.executable, path=sys.path, log=str(log)))
    fake.chmod(0o755)
    monkeypatch.setattr(seatbelt, "SANDBOX_EXEC", str(fake))
    return log


def test_the_box_runs_the_command_under_its_profile_with_a_private_tmpdir(tmp_path, fake_sandbox_exec):
    ws = tmp_path / "ws"
    ws.mkdir()
    result = run_sandboxed(
        [sys.executable, "-c", "import os, tempfile; d = tempfile.gettempdir(); open(os.path.join(d, 'x'), 'w');"
                               "print(d); print(os.listdir(d))"],
        workdir=ws, limits=Limits(wall_s=60), kind="seatbelt",
        router=RouterLink(uds_path=str(tmp_path / "r.sock"), port=ROUTER_PORT), hidden=[tmp_path / "secret"])
    assert result.exit_code == 0, result.stderr
    assert result.kind == "seatbelt"
    tmpdir, listing = result.stdout.splitlines()
    assert Path(tmpdir).name.startswith("arena-seatbelt-") and listing == "['x']"
    assert not Path(tmpdir).exists()  # the box's TMPDIR goes with the box
    (given,) = fake_sandbox_exec.read_text().split("\f")[:-1]
    rules = check(given)
    assert decide(rules, connect("127.0.0.1", ROUTER_PORT))[0] == "allow"
    assert decide(rules, write(f"{ws.resolve()}/made"))[0] == "allow"
    assert decide(rules, write(f"{tmpdir}/x"))[0] == "allow"
    assert decide(rules, read_(f"{tmp_path.resolve()}/secret/key"))[0] == "deny"


def test_a_profile_sandbox_exec_refuses_is_a_start_error_not_a_failing_command(tmp_path, fake_sandbox_exec,
                                                                               monkeypatch):
    monkeypatch.setattr(seatbelt, "render", lambda policy: "(version 1)\n(allow file-reed*)\n")
    with pytest.raises(SandboxStartError, match="seatbelt sandbox could not start.*unknown operation"):
        run_sandboxed([sys.executable, "-c", "pass"], workdir=tmp_path, limits=Limits(wall_s=30), kind="seatbelt")


def test_it_is_available_only_on_macos_with_sandbox_exec(tmp_path, fake_sandbox_exec, monkeypatch):
    kind = get_sandbox_kind("seatbelt")
    assert check_sandbox_kind("seatbelt", "agents") == check_sandbox_kind("seatbelt", "scoring") == "seatbelt"
    g = kind.guarantees
    assert (g.files, g.network, g.router_link) == ("hard", "hard", "hard")
    assert (g.memory, g.processes, g.wall_time) == ("soft", "soft", "soft")  # the watchdog's
    if sys.platform != "darwin":
        assert kind.available() == Availability(False, "is macOS only")
    monkeypatch.setattr(sys, "platform", "darwin")
    assert kind.available().ok  # the probe ran a bare interpreter through (the stand-in) sandbox-exec
    monkeypatch.setattr(seatbelt, "SANDBOX_EXEC", str(tmp_path / "nothing-here"))
    assert kind.available() == Availability(False, f"is missing ({tmp_path / 'nothing-here'} is not there)")


# --- the launcher on macOS, simulated -------------------------------------------------------------------

# Runs before the launcher: setrlimit fails for the address space (and, so that only the watchdog
# holds memory here, the data segment) with EINVAL as macOS's does, and each limit set is written
# down; with DARWIN, the platform says macOS too and /proc must not be read.
EINVAL_FOR_MEMORY = """
import errno as _errno, os as _os, resource as _resource, sys as _sys
_real_setrlimit, _real_listdir = _resource.setrlimit, _os.listdir
def _setrlimit(which, value):
    _os.write(2, ("setrlimit %d\\n" % which).encode())
    if which in (_resource.RLIMIT_AS, _resource.RLIMIT_DATA):
        raise OSError(_errno.EINVAL, "Invalid argument")
    return _real_setrlimit(which, value)
_resource.setrlimit = _setrlimit
"""
DARWIN = EINVAL_FOR_MEMORY + """
_sys.platform = "darwin"
def _listdir(path="."):
    if str(path).startswith("/proc"):
        raise AssertionError("the launcher read /proc on macOS")
    return _real_listdir(path)
_os.listdir = _listdir
"""


@pytest.fixture
def macos_launcher(monkeypatch):
    """The launcher as it runs on macOS: no cgroup, the platform and its setrlimit simulated."""
    monkeypatch.setattr(launcher, "_LAUNCHER", DARWIN + launcher._LAUNCHER)
    monkeypatch.setattr(launcher, "_LINUX", False)
    monkeypatch.setattr(launcher.PidsCgroup, "create", lambda *a: pytest.fail("a cgroup on macOS"))


def test_on_macos_the_launcher_starts_the_command_without_linux_only_calls(tmp_path, macos_launcher):
    box = SubprocessKind().open(BoxSpec(workdir=tmp_path))
    result = box.run([sys.executable, "-c", "print('ran')"],
                     Limits(wall_s=30, memory_mb=512, max_procs=64, file_bytes=10**6))
    assert result.exit_code == 0 and result.stdout == "ran\n", result.stderr
    import resource

    set_ = {int(line.split()[1]) for line in result.stderr.splitlines() if line.startswith("setrlimit ")}
    assert resource.RLIMIT_FSIZE in set_ and resource.RLIMIT_CORE in set_  # macOS has these
    assert resource.RLIMIT_DATA in set_ and resource.RLIMIT_AS not in set_  # EINVAL there: skipped
    assert resource.RLIMIT_NPROC not in set_  # would count every process of the user


def test_on_linux_a_memory_cap_that_cannot_be_set_still_stops_the_start(tmp_path, monkeypatch):
    """The guard is for macOS only: where RLIMIT_AS is the cap (Linux), failing to set it is a
    start error, never a command run without its cap."""
    if not sys.platform.startswith("linux"):
        pytest.skip("Linux's launcher")
    monkeypatch.setattr(launcher, "_LAUNCHER", EINVAL_FOR_MEMORY + launcher._LAUNCHER)
    box = SubprocessKind().open(BoxSpec(workdir=tmp_path))
    with pytest.raises(SandboxStartError, match="Invalid argument"):
        box.run([sys.executable, "-c", "print('ran')"], Limits(wall_s=30, memory_mb=512))


# --- the watchdog: memory, processes and a detached child, held from the host ------------------------------

class Watched(SubprocessKind):
    """A plain subprocess with the seatbelt kind's watchdog: the caps as they hold on a Mac."""

    name = "watched"

    def watch(self, pid: int, limits: Limits) -> Watchdog:
        return Watchdog(pid, limits, interval_s=0.1)


def alive(marker: str) -> list[int]:
    out = subprocess.run(["ps", "-A", "-ww", "-o", "pid=,command="], capture_output=True, text=True).stdout
    return [int(line.split()[0]) for line in out.splitlines() if marker in line and "ps -A" not in line]


def test_the_watchdog_kills_a_command_whose_processes_outgrow_the_memory_cap(tmp_path, macos_launcher):
    hog = "import time\nchunks = []\nfor _ in range(60):\n    chunks.append(b'x' * 10_000_000); time.sleep(0.1)\n"
    code = textwrap.dedent(f"""
        import subprocess, sys, time
        kids = [subprocess.Popen([sys.executable, "-c", {hog!r}]) for _ in range(2)]
        for kid in kids:
            kid.wait()
        print("all allocated")
    """)
    result = Watched().open(BoxSpec(workdir=tmp_path)).run([sys.executable, "-c", code],
                                                          Limits(wall_s=60, memory_mb=300))
    assert "all allocated" not in result.stdout
    assert result.killed_reason is not None and result.killed_reason.startswith("memory cap 300 MB exceeded"), (
        result.killed_reason, result.stderr[-500:])
    assert result.exit_code is not None and result.exit_code < 0


def test_the_watchdog_kills_a_command_with_more_processes_than_the_cap(tmp_path, macos_launcher):
    code = textwrap.dedent("""
        import subprocess, sys, time
        kids = [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"]) for _ in range(12)]
        time.sleep(30)
        print("all started")
    """)
    started = time.monotonic()
    result = Watched().open(BoxSpec(workdir=tmp_path)).run([sys.executable, "-c", code],
                                                          Limits(wall_s=60, max_procs=6))
    assert result.killed_reason is not None and result.killed_reason.startswith("process cap 6 exceeded")
    assert "all started" not in result.stdout and time.monotonic() - started < 25


@pytest.mark.parametrize("watched", [True, False], ids=["watchdog", "control-without-it"])
def test_a_detached_child_the_watchdog_saw_does_not_outlive_the_box(tmp_path, macos_launcher, watched):
    marker = f"arena-escapee-{uuid.uuid4().hex}"
    escapee = f"import time; time.sleep(60)  # {marker}"
    code = textwrap.dedent(f"""
        import subprocess, sys, time
        subprocess.Popen([sys.executable, "-c", {escapee!r}], start_new_session=True)
        time.sleep(2.0)  # long enough for the watchdog to look (every 0.1 s)
    """)
    kind = Watched() if watched else SubprocessKind()
    try:
        result = kind.open(BoxSpec(workdir=tmp_path)).run([sys.executable, "-c", code], Limits(wall_s=30))
        assert result.exit_code == 0 and result.killed_reason is None
        left = []
        for _ in range(20):
            left = alive(marker)
            if not left:
                break
            time.sleep(0.1)
        # the control shows the probe escapes a box without the watchdog (so the test can fail)
        assert (left == []) == watched, left
    finally:
        for pid in alive(marker):
            os.kill(pid, 9)


def test_ps_output_is_read_as_processes_with_their_start_times():
    table = parse_ps("  101     1   101  2048 Mon Jun  3 10:00:00 2024\n"
                     "  102   101   101   512 Mon Jun  3 10:00:01 2024\n"
                     "garbage line\n")
    assert sorted(table) == [101, 102]
    assert table[102].ppid == 101 and table[102].pgid == 101 and table[102].rss_kib == 512
    assert table[101].started == "Mon Jun 3 10:00:00 2024"

