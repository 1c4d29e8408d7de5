"""git as the harness runs it on real-prs repositories.

Whatever the machine, the user or an agent configured is left out: no system or global config
(``GIT_CONFIG_NOSYSTEM``, ``GIT_CONFIG_GLOBAL=/dev/null``), none of the caller's ``GIT_*``
variables (a ``GIT_DIR`` of the shell the harness runs in must not redirect it), no attributes or
excludes file of the user, no hooks, no fsmonitor, no automatic gc. The repository is always
named (``GIT_DIR``), never found by walking up from a folder, so a ``.git`` file an agent left
cannot point git at another repository.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

# -c settings every harness git command gets (they win over any repository's own config).
CONFIG = (
    "core.attributesFile=/dev/null", "core.excludesFile=/dev/null", "core.hooksPath=/dev/null",
    "core.fsmonitor=false", "core.untrackedCache=false", "gc.auto=0", "maintenance.auto=false",
    "advice.detachedHead=false", "color.ui=never", "safe.directory=*",
)
# A fixed identity and date: the base commit of a recipe's repository is reproducible.
IDENTITY = {"GIT_AUTHOR_NAME": "pytest-arena", "GIT_AUTHOR_EMAIL": "arena@localhost",
            "GIT_COMMITTER_NAME": "pytest-arena", "GIT_COMMITTER_EMAIL": "arena@localhost",
            "GIT_AUTHOR_DATE": "2000-01-01T00:00:00+0000", "GIT_COMMITTER_DATE": "2000-01-01T00:00:00+0000"}
DEFAULT_TIMEOUT_S = 600


def git_env(**extra: str) -> dict[str, str]:
    """The environment of a harness git command: the caller's, without any ``GIT_*`` variable,
    plus the fixed identity, no system or global config, no prompt, and ``extra``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
    env.update(IDENTITY, GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull, GIT_TERMINAL_PROMPT="0",
               GIT_OPTIONAL_LOCKS="0", LC_ALL="C", **extra)
    return env


def run_git(args: list[str], *, git_dir: Path | None = None, cwd: Path | None = None,
            input: bytes | None = None, env: dict[str, str] | None = None,
            config: tuple[str, ...] = (), timeout_s: float = DEFAULT_TIMEOUT_S) -> subprocess.CompletedProcess[bytes]:
    """``git <args>`` with the harness's settings; ``git_dir`` is the repository (``GIT_DIR``).
    Output is bytes; the caller checks the return code."""
    extra = dict(env or {})
    if git_dir is not None:
        extra["GIT_DIR"] = str(git_dir)
    cmd = ["git"]
    for setting in (*CONFIG, *config):
        cmd += ["-c", setting]
    return subprocess.run([*cmd, *args], cwd=cwd or (git_dir if git_dir is not None else None), input=input,
                          capture_output=True, env=git_env(**extra), timeout=timeout_s)


def last_words(run: subprocess.CompletedProcess[bytes], chars: int = 300) -> str:
    """The end of a failed git command's message, on one line."""
    text = (run.stderr or run.stdout or b"").decode("utf-8", "replace")
    return " ".join(text.split())[-chars:] or f"exit code {run.returncode}"
