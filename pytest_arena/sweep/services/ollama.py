"""Ollama for a session: probe the server, start ``ollama serve`` when the binary exists and nothing
answers, and check that every configured model is pulled. Each problem ends in one message that
says what to do.

A server this module starts keeps running after the session (as if the user had started it: loaded
models stay warm, and xdist workers that share it are not cut off by the first one to finish);
``OllamaStatus.stop()`` ends it for a caller that wants it gone. Its output goes to a log file
named in the status.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from pytest_arena.errors import ArenaError

DEFAULT_BASE_URL = "http://127.0.0.1:11434"
_LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "0.0.0.0")


class OllamaUnavailable(ArenaError):
    """Ollama does not answer, cannot be started, or lacks a configured model."""


@dataclass(slots=True)
class OllamaStatus:
    base_url: str
    version: str
    models: list[str]  # every model the server has pulled, as /api/tags names them
    started: bool = False  # True when this call started `ollama serve`
    log_path: Path | None = None  # that server's stdout/stderr
    process: subprocess.Popen | None = field(default=None, repr=False)

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the server this call started (no-op for one that was already running)."""
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout_s)


def normalize_base_url(base_url: str | None) -> str:
    """Ollama's root URL. An OpenAI-style ``.../v1`` base (how Ollama is often configured for
    OpenAI clients) points at the same server, so its ``/v1`` is dropped."""
    url = (base_url or DEFAULT_BASE_URL).strip().rstrip("/")
    return url[: -len("/v1")] if url.endswith("/v1") else url


def probe(base_url: str, timeout_s: float = 1.0) -> str | None:
    """The server's version from ``GET /api/version``, or None when nothing (valid) answers."""
    try:
        resp = httpx.get(f"{normalize_base_url(base_url)}/api/version", timeout=timeout_s)
        version = resp.json().get("version") if resp.status_code == 200 else None
    except (httpx.HTTPError, httpx.InvalidURL, ValueError, AttributeError):
        return None
    return version if isinstance(version, str) and version else None


def _tag_names(base_url: str, timeout_s: float) -> list[str]:
    try:
        resp = httpx.get(f"{base_url}/api/tags", timeout=timeout_s)
        resp.raise_for_status()
        entries = resp.json().get("models") or []
    except (httpx.HTTPError, ValueError, AttributeError) as exc:
        raise OllamaUnavailable(f"Ollama at {base_url} answered /api/version but not /api/tags ({exc}); "
                                "check that the server at models.local_base_url is Ollama") from None
    names: list[str] = []
    for entry in entries:
        for key in ("name", "model"):
            if isinstance(entry, dict) and isinstance(entry.get(key), str) and entry[key] not in names:
                names.append(entry[key])
    return names


def _with_tag(model: str) -> str:
    """Ollama's own rule: a name without a tag means ``:latest``."""
    name = model.strip()
    return name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"


def missing_models(wanted: list[str], pulled: list[str]) -> list[str]:
    have = {_with_tag(name) for name in pulled}
    return [m for m in wanted if _with_tag(m) not in have]


def _start_serve(binary: str, base_url: str) -> tuple[subprocess.Popen, Path]:
    parts = urlsplit(base_url)
    hostname = f"[{parts.hostname}]" if ":" in (parts.hostname or "") else parts.hostname
    host = f"{hostname}:{parts.port or 11434}"
    log_path = Path(tempfile.gettempdir()) / f"pytest-arena-ollama-{parts.port or 11434}.log"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [binary, "serve"], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            env={**os.environ, "OLLAMA_HOST": host}, start_new_session=True,
        )
    return proc, log_path


def _log_tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()[-lines:]
    except OSError:
        return ""
    return " | ".join(text)


def ensure_ollama(base_url: str | None, models: list[str], *, start_if_missing: bool = True,
                  start_timeout_s: float = 30.0) -> OllamaStatus:
    """Make sure Ollama answers at ``base_url`` and has every model in ``models`` pulled.

    When nothing answers, the server is local and an ``ollama`` binary is on PATH, start
    ``ollama serve`` (OLLAMA_HOST set from the URL) and wait for it. Raise OllamaUnavailable with
    one message otherwise.
    """
    url = normalize_base_url(base_url)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OllamaUnavailable(f"models.local_base_url {url!r} is not an http(s) URL of an Ollama server "
                                f"(the default is {DEFAULT_BASE_URL})")
    version = probe(url)
    proc: subprocess.Popen | None = None
    log_path: Path | None = None
    if version is None:
        binary = shutil.which("ollama")
        is_local = parts.hostname in _LOCAL_HOSTS
        if binary is None or not start_if_missing or not is_local:
            why = ("no `ollama` binary was found" if binary is None
                   else "starting it was turned off" if not start_if_missing
                   else "it is not on this machine, so it cannot be started here")
            raise OllamaUnavailable(f"Ollama is not running at {url} and {why}: "
                                    "install Ollama or point models.local_base_url at a running server")
        proc, log_path = _start_serve(binary, url)
        deadline = time.monotonic() + start_timeout_s
        while version is None and time.monotonic() < deadline:
            time.sleep(0.1)
            version = probe(url, timeout_s=0.5)
        if version is None:
            # Our process may have lost a port race to another worker's; only the URL matters.
            if proc.poll() is None:
                proc.terminate()
            raise OllamaUnavailable(
                f"started `{binary} serve` for {url}, but it did not answer within {start_timeout_s:.0f} s "
                f"(log {log_path}: {_log_tail(log_path) or 'empty'}); start Ollama by hand and retry")
    pulled = _tag_names(url, timeout_s=5.0)
    missing = missing_models(models, pulled)
    if missing:
        pulls = " && ".join(f"ollama pull {m}" for m in missing)
        what = f"model {missing[0]} is" if len(missing) == 1 else f"models {', '.join(missing)} are"
        raise OllamaUnavailable(f"{what} not pulled on the Ollama server at {url}: run `{pulls}`")
    ours = proc if proc is not None and proc.poll() is None else None  # None: another process won the port
    return OllamaStatus(base_url=url, version=version, models=pulled, started=ours is not None,
                        log_path=log_path, process=ours)
