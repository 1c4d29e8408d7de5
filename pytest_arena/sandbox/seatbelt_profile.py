"""The Seatbelt profile of one box: the policy every sandbox kind gets, written in SBPL for macOS
``sandbox-exec``.

Why it exists apart from the kind (seatbelt.py): the profile is the whole of what Seatbelt
enforces, and it must be checkable on machines where ``sandbox-exec`` does not exist. So it is a
pure function of a ``SeatbeltPolicy`` (paths and a port, nothing read from the machine), which the
tests pin with golden files and evaluate with ``seatbelt_sbpl``.

What the profile says, in order (SBPL: the last matching rule wins, so each wall that must hold
comes after what it guards against):

1. ``(deny default)``: nothing is allowed that a rule below does not name;
2. what any process needs to start and run: fork and exec (a child inherits the profile),
   signals and process information within this sandbox only, a short list of ``sysctl`` names,
   the Mach services of the C library (user lookups, logging, notifications), POSIX semaphores
   and shared memory, pseudo-terminals;
3. the system, read-only: ``/System``, ``/usr`` (but ``/usr/local``'s data), ``/bin``, ``/sbin``,
   ``/Library/Apple``, ``/Library/Frameworks``, the developer tools, ``/private/etc``, the time
   zones, package managers' install trees (Homebrew's and MacPorts' programs, never their
   ``var``); the standard devices;
4. the box's paths: read-only (the agent's install, the harness's environment, the task's
   files) and read-write (the workspace, a private TMPDIR, the paths named writable);
5. the network: nothing, except (with a router link) one outbound rule, to ``localhost:<port>``,
   the router's own TCP port on the host; Unix sockets only inside the box's writable paths;
6. hidden paths, denied even inside a shown one, with the folders above them (inside a
   writable path) pinned so they cannot be renamed away; a writable path inside a hidden one is
   shown again; metadata (``stat``) of the folders above each shown path, so that ``realpath``
   works;
7. walls no rule above may open: the host's secrets in ``/private/etc``; the Keychain
   (``com.apple.SecurityServer``, ``securityd``...), the pasteboard, Launch Services and Apple
   Events (``open``, ``osascript``), TCC; the programs that reach them (``/usr/bin/osascript``,
   ``open``, ``pbcopy``, ``security``...), neither read nor run.

Paths are resolved by the caller (Seatbelt matches the real path: ``/private/var/...``, never
``/var/...``). String literals are escaped so that no path, whatever it holds (a quote, a
backslash, a newline), ends its literal early; a path whose literal would exceed what
``sandbox-exec`` reads (1024 bytes) is refused.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

__all__ = [
    "DENIED_MACH_NAMES", "DENIED_MACH_PATTERNS", "DENIED_PROGRAMS", "HOST_SECRETS", "MAX_LITERAL_BYTES",
    "SYSTEM_READ", "SeatbeltPolicy", "render", "sbpl_string",
]

# sandbox-exec refuses a string literal longer than this ("Error reading string").
MAX_LITERAL_BYTES = 1024

# The system, read-only (and mappable as code: dylibs, Python extension modules).
SYSTEM_READ = (
    "/System",
    "/usr/bin", "/usr/sbin", "/usr/lib", "/usr/libexec", "/usr/share",
    "/bin", "/sbin",
    "/Library/Apple", "/Library/Frameworks",
    "/Library/Developer/CommandLineTools", "/Applications/Xcode.app/Contents/Developer",
    "/private/etc", "/private/var/db/timezone", "/private/var/db/dyld",
)
# Package managers' install trees (Homebrew on Apple Silicon and on Intel, MacPorts): their programs
# and libraries, never their var/ (databases, logs).
PACKAGE_PREFIXES = ("/opt/homebrew", "/usr/local", "/opt/local")
PACKAGE_DIRS = ("bin", "sbin", "lib", "libexec", "include", "share", "opt", "Cellar", "Frameworks", "etc")
# Single files of the system a process reads at start (the developer tools' selection).
SYSTEM_READ_FILES = ("/private/var/db/xcode_select_link",)
# Symlinks and folders whose metadata path resolution needs.
SYSTEM_METADATA = ("/", "/etc", "/tmp", "/var", "/private", "/private/var", "/private/var/db", "/dev",
                   "/System/Volumes", "/System/Volumes/Data", "/System/Volumes/Data/private")
# The data volume seen through /System/Volumes/Data (the firmlink's other name for /Users and
# /private): its files are reached by their own names or not at all.
DATA_VOLUME = "/System/Volumes/Data"

DEVICES_READ_WRITE = ("/dev/null", "/dev/zero", "/dev/tty", "/dev/dtracehelper")
DEVICES_READ = ("/dev/random", "/dev/urandom")
# Secrets of the host under /private/etc (most readable only by root anyway).
HOST_SECRETS = ("/private/etc/ssh", "/private/etc/sudoers", "/private/etc/sudoers.d", "/private/etc/master.passwd",
                "/private/etc/kcpassword", "/private/etc/security")

SYSCTL_NAMES = (
    "hw.activecpu", "hw.byteorder", "hw.cachelinesize", "hw.cputype", "hw.cpufamily", "hw.logicalcpu",
    "hw.logicalcpu_max", "hw.machine", "hw.memsize", "hw.model", "hw.ncpu", "hw.nperflevels", "hw.pagesize",
    "hw.physicalcpu", "hw.physicalcpu_max", "hw.vectorunit",
    "kern.argmax", "kern.hostname", "kern.maxfiles", "kern.maxfilesperproc", "kern.maxproc", "kern.ngroups",
    "kern.osproductversion", "kern.osrelease", "kern.ostype", "kern.osvariant_status", "kern.osversion",
    "kern.secure_kernel", "kern.tcsm_available", "kern.tcsm_enable", "kern.usrstack64", "kern.version",
    "machdep.ptrauth_enabled", "security.mac.lockdown_mode_state", "sysctl.proc_cputype", "vm.loadavg",
)
SYSCTL_PREFIXES = ("hw.optional.", "hw.perflevel", "machdep.cpu.")
# The Mach services the C library needs: user and group lookups, logging, notifications, the
# per-user temp folder's name, system preferences.
MACH_SERVICES = (
    "com.apple.bsd.dirhelper", "com.apple.cfprefsd.daemon", "com.apple.logd", "com.apple.system.logger",
    "com.apple.system.notification_center", "com.apple.system.opendirectoryd.libinfo",
    "com.apple.system.opendirectoryd.membership",
)
# With Limits.network: name resolution, certificate checks and the proxy settings too.
NETWORK_MACH_SERVICES = ("com.apple.SystemConfiguration.DNSConfiguration", "com.apple.SystemConfiguration.configd",
                         "com.apple.dnssd.service", "com.apple.trustd", "com.apple.trustd.agent")
NETWORK_SOCKETS = ("/private/var/run/mDNSResponder",)

# No route to these, whatever a rule above says: the Keychain, the pasteboard, Launch Services and
# Apple Events (what `open` and `osascript` talk to), privacy consent (TCC), the window server.
DENIED_MACH_NAMES = (
    "com.apple.SecurityServer", "com.apple.securityd", "com.apple.securityd.xpc", "com.apple.secd",
    "com.apple.security.agent", "com.apple.security.authhost", "com.apple.ctkd.token-client",
    "com.apple.pasteboard.1", "com.apple.coreservices.launchservicesd", "com.apple.coreservices.appleevents",
    "com.apple.coreservices.quarantine-resolver", "com.apple.CoreServices.coreservicesd", "com.apple.lsd.mapdb",
    "com.apple.lsd.open", "com.apple.lsd.modifydb", "com.apple.tccd", "com.apple.tccd.system",
    "com.apple.windowserver.active",
)
# The same families by pattern ("[.]" rather than an escaped dot: no backslash to read twice).
DENIED_MACH_PATTERNS = (
    "^com[.]apple[.]SecurityServer", "^com[.]apple[.]securityd", "^com[.]apple[.]security[.]",
    "^com[.]apple[.]secd", "^com[.]apple[.]pasteboard[.]", "^com[.]apple[.]coreservices[.]",
    "^com[.]apple[.]CoreServices[.]", "^com[.]apple[.]lsd[.]", "^com[.]apple[.]tccd",
)
# Programs that reach those services (or the Keychain), neither read (so not copied) nor run.
DENIED_PROGRAMS = (
    "/usr/bin/osascript", "/usr/bin/osacompile", "/usr/bin/osalang", "/usr/bin/open", "/usr/bin/pbcopy",
    "/usr/bin/pbpaste", "/usr/bin/security", "/usr/bin/automator", "/usr/bin/shortcuts",
)


@dataclass(frozen=True)
class SeatbeltPolicy:
    """What one box shows, as resolved absolute paths: the same policy every kind gets (BoxSpec
    and Limits.network), plus the interpreter's and the box's private TMPDIR already folded in."""

    workdir: str
    writable: tuple[str, ...] = ()  # besides workdir
    readonly: tuple[str, ...] = ()
    hidden: tuple[str, ...] = ()
    router_port: int | None = None  # the router's TCP port on the host (127.0.0.1), the one peer
    network: bool = False  # Limits.network: the whole network


def sbpl_string(text: str) -> str:
    """``text`` as an SBPL string literal: backslash, quote and control characters escaped, so
    nothing in it ends the literal. ValueError when sandbox-exec could not read it."""
    out = ['"']
    for ch in text:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    out.append('"')
    literal = "".join(out)
    if "\x00" in text or len(literal.encode("utf-8")) - 2 > MAX_LITERAL_BYTES:
        shown = text if len(text) <= 80 else text[:40] + "..." + text[-37:]
        raise ValueError(f"Seatbelt cannot name the path {shown!r}: "
                         f"longer than the {MAX_LITERAL_BYTES} bytes sandbox-exec reads in a string")
    return literal


def _regex(pattern: str) -> str:
    if '"' in pattern or "\\" in pattern:  # our patterns never need either; a #"..." literal has no escapes
        raise ValueError(f"not a pattern this generator writes: {pattern!r}")
    return f'#"{pattern}"'


def _rule(action: str, operations: str, filters: Iterable[str]) -> list[str]:
    filters = list(dict.fromkeys(filters))
    if not filters:
        return []
    return [f"({action} {operations}", *(f"  {f}" for f in filters[:-1]), f"  {filters[-1]})"]


def _literal(path: str) -> str:
    return f"(literal {sbpl_string(path)})"


def _subpath(path: str) -> str:
    return f"(subpath {sbpl_string(path)})"


def _within(path: str, folders: Iterable[str]) -> bool:
    p = PurePosixPath(path)
    return any(p == PurePosixPath(f) or PurePosixPath(f) in p.parents for f in folders)


def _ancestors(path: str) -> list[str]:
    """The folders above ``path``, nearest first, "/" left out."""
    return [str(p) for p in PurePosixPath(path).parents if str(p) != "/"]


def _system_paths() -> list[str]:
    return [*SYSTEM_READ, *(f"{prefix}/{d}" for prefix in PACKAGE_PREFIXES for d in PACKAGE_DIRS), *SYSTEM_READ_FILES]


def _system_metadata() -> list[str]:
    """SYSTEM_METADATA and the folders above every system path, each once, in a stable order."""
    found = list(SYSTEM_METADATA)
    for path in _system_paths():
        found += reversed(_ancestors(path))
    return list(dict.fromkeys(found))


def _check_absolute(paths: Sequence[str]) -> None:
    for path in paths:
        if not path.startswith("/"):
            raise ValueError(f"Seatbelt rules name absolute paths, not {path!r}")


def render(policy: SeatbeltPolicy) -> str:
    """The SBPL profile for ``policy`` (see the module docstring for what each section says)."""
    writable = list(dict.fromkeys([policy.workdir, *policy.writable]))
    readonly = [p for p in dict.fromkeys(policy.readonly) if p not in writable]
    hidden = list(dict.fromkeys(policy.hidden))
    _check_absolute([*writable, *readonly, *hidden])
    lines = [
        "(version 1)",
        ";; pytest-arena seatbelt profile: generated by pytest_arena.sandbox.seatbelt_profile, do not edit.",
        ";; Deny by default; the last matching rule wins.",
        "(deny default)",
        "",
        ";; Processes: children inherit this profile; signals and process information stay inside it.",
        "(allow process-fork)",
        "(allow process-exec)",
        "(allow signal (target same-sandbox))",
        "(allow process-info* (target same-sandbox))",
        "(allow mach-host*)",
        *_rule("allow", "sysctl-read", [*(f"(sysctl-name {sbpl_string(n)})" for n in SYSCTL_NAMES),
                                        *(f"(sysctl-name-prefix {sbpl_string(p)})" for p in SYSCTL_PREFIXES)]),
        '(allow sysctl-write (sysctl-name "kern.tcsm_enable"))',
        *_rule("allow", "mach-lookup", (f"(global-name {sbpl_string(n)})" for n in MACH_SERVICES)),
        "(allow ipc-posix-sem)",
        "(allow ipc-posix-shm)",
        "(allow pseudo-tty)",
        "(allow system-socket (socket-domain AF_UNIX))",
        "",
        ";; The system, read-only.",
        *_rule("allow", "file-read* file-map-executable",
               [_subpath(p) for p in _system_paths() if p not in SYSTEM_READ_FILES]),
        *_rule("allow", "file-read*", (_literal(p) for p in SYSTEM_READ_FILES)),
        *_rule("deny", "file-read* file-map-executable", [_subpath(DATA_VOLUME)]),
        *_rule("allow", "file-read-metadata", (_literal(p) for p in _system_metadata())),
        '(allow file-read* (literal "/"))',
        *_rule("allow", "file-read* file-write-data file-ioctl", (_literal(p) for p in DEVICES_READ_WRITE)),
        *_rule("allow", "file-read* file-ioctl", (_literal(p) for p in DEVICES_READ)),
        '(allow file-read-data file-write-data (subpath "/dev/fd"))',
        '(allow file-read* file-write* file-ioctl (literal "/dev/ptmx") (regex #"^/dev/ttys[0-9]+$"))',
        "",
        ";; The box: read-only paths (the agent's install, the harness's environment), then read-write ones.",
        *_rule("allow", "file-read* file-map-executable", (_subpath(p) for p in readonly)),
        *_rule("allow", "file-read* file-write* file-map-executable", (_subpath(p) for p in writable)),
        "",
        ";; The network: " + ("all of it (Limits.network)." if policy.network else "none but what follows."),
        *(["(allow network*)"] if policy.network else []),
        *_rule("allow", "mach-lookup", (f"(global-name {sbpl_string(n)})" for n in NETWORK_MACH_SERVICES)
               if policy.network else ()),
        ";; Unix sockets: only the box's own, inside its writable paths (never another program's).",
        '(deny network-outbound (remote unix-socket (path-regex #"^/")))',
        *_rule("allow", "network-outbound", (f"(remote unix-socket {_subpath(p)})" for p in NETWORK_SOCKETS)
               if policy.network else ()),
        *_rule("allow", "network-bind", (f"(local unix-socket {_subpath(p)})" for p in writable)),
        *_rule("allow", "network-outbound", (f"(remote unix-socket {_subpath(p)})" for p in writable)),
    ]
    if policy.router_port is not None:
        port = int(policy.router_port)
        if not 0 < port < 65536:
            raise ValueError(f"the router's port must be 1-65535, not {port}")
        lines += [";; The router link: the router's own TCP port on this host, the one network peer.",
                  f'(allow network-outbound (remote ip "localhost:{port}"))']
    shown = [*readonly, *writable]
    rename_guards = [a for h in hidden for a in _ancestors(h) if _within(a, writable) and a not in writable]
    shown_again = [w for w in writable if _within(w, hidden)]
    visible = [p for p in shown if not _within(p, hidden) or p in shown_again]
    lines += [
        "",
        ";; Hidden paths: denied even inside a shown one; the folders above them cannot be renamed away.",
        *_rule("deny", "file-read* file-write* file-map-executable", (_subpath(p) for p in hidden)),
        *_rule("deny", "file-write*", (_literal(p) for p in rename_guards)),
        *_rule("allow", "file-read* file-write* file-map-executable", (_subpath(p) for p in shown_again)),
        ";; stat() of the folders above each shown path, so that realpath() works.",
        *_rule("allow", "file-read-metadata", (_literal(a) for p in visible for a in _ancestors(p)
                                              if a not in _system_metadata())),
        "",
        ";; Walls no rule above may open.",
        *_rule("deny", "file-read* file-write*", (_subpath(p) for p in HOST_SECRETS)),
        *_rule("deny", "mach-lookup", [*(f"(global-name {sbpl_string(n)})" for n in DENIED_MACH_NAMES),
                                        *(f"(global-name-regex {_regex(p)})" for p in DENIED_MACH_PATTERNS)]),
        "(deny appleevent-send)",
        "(deny lsopen)",
        *_rule("deny", "process-exec file-read* file-map-executable", (_literal(p) for p in DENIED_PROGRAMS)),
    ]
    return "\n".join(lines) + "\n"
