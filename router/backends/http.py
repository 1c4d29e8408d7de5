"""What the HTTP backends share: one upstream connection pool per backend, API keys, bounded retries.

The client is the router's own (``upstream.py``: asyncio + httptools). Before it, aiohttp, chosen
over httpx.AsyncClient, which collapsed to ~550 req/s with a 240 ms p99 at concurrency 32 where
aiohttp served ~6,000 req/s (/work/shared/bench/README.md); aiohttp in turn cost ~32 k
instructions per socket read on the streaming path (benchmarks/NOTES-router-streaming.md).
"""
from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable

from pytest_arena.router.backends.base import Backend, BackendOptions
from pytest_arena.router.backends.upstream import Response, UpstreamClosed, UpstreamPool, UpstreamTimeout
from pytest_arena.router.contracts import BackendSpec
from pytest_arena.router.errors import (
    ConfigError,
    UpstreamAuthError,
    UpstreamConnectionError,
    UpstreamError,
    UpstreamProtocolError,
    UpstreamRejectedError,
)
from pytest_arena.router.jsonfast import loads
from pytest_arena.router.keys import KEYS

_MAX_ERROR_CHARS = 500
_MAX_RETRY_AFTER_S = 30.0
_CONNECT_TIMEOUT_S = 10.0
_DRAIN_TIMEOUT_S = 0.5
# A provider's refusal of the request's content (a prompt over the context window, an invalid tool
# schema): the agent's or the model's doing. 404 (unknown model), 402, 408, 409 and a 429 after
# retries are configuration or infrastructure and stay upstream errors.
_REJECTED_STATUSES = frozenset({400, 413, 422})


def error_detail(text: str) -> str:
    """An upstream error body, shortly: ``code: message`` from an OpenAI/Anthropic/Ollama JSON
    error, else the text as sent (cut at _MAX_ERROR_CHARS)."""
    try:
        body = loads(text)
    except ValueError:
        return text[:_MAX_ERROR_CHARS]
    err = body.get("error") if isinstance(body, dict) else None
    if isinstance(err, str):  # Ollama, llama.cpp's older server
        return err[:_MAX_ERROR_CHARS]
    if not isinstance(err, dict) or not isinstance(err.get("message"), str):
        return text[:_MAX_ERROR_CHARS]
    code = err.get("code") or err.get("type")
    message = err["message"][:_MAX_ERROR_CHARS]
    return f"{code}: {message}" if isinstance(code, str) and code else message


def load_api_key(spec: BackendSpec, env_file: str | None) -> str | None:
    """The key named by ``spec.api_key_env``, from the key store (the environment, then the .env
    file); never logged. Raises ConfigError naming the variable (never a value) when it is unset."""
    if not spec.api_key_env:
        return None
    key = KEYS.get(spec.api_key_env, env_file)
    if not key:
        where = f" or in {env_file}" if env_file else ""
        raise ConfigError(
            f"backend {spec.label!r}: API key variable {spec.api_key_env} is not set in the environment{where}; "
            f"export {spec.api_key_env}=... or put it in a .env file (RouterSettings.env_file)"
        )
    if "\n" in key or "\r" in key:  # it would end the header line it is sent in
        raise ConfigError(f"backend {spec.label!r}: API key variable {spec.api_key_env} contains a line break; "
                          "set it to the key alone (e.g. strip the newline a file read left at its end)")
    return key


def api_base(base_url: str | None, default: str, version_path: str) -> str:
    """Base URL with the API version path: ``http://host:8080`` -> ``http://host:8080/v1``."""
    url = (base_url or default).rstrip("/")
    if not re.match(r"^https?://[^/]+/.", url + "/"):
        url += version_path
    return url


class HttpBackend(Backend):
    """A backend that talks HTTP to one upstream through one long-lived connection pool."""

    def __init__(self, spec: BackendSpec, options: BackendOptions):
        super().__init__(spec)
        self.options = options
        # The key is loaded by prepare(): only a run that can route here needs it (an always-local
        # run needs no cloud key). Subclasses build ``headers`` without it; prepare() adds it.
        self.api_key: str | None = None
        self.headers: dict[str, str] = {}
        self._key_pending = bool(spec.api_key_env)
        self._pool: UpstreamPool | None = None

    @classmethod
    def create(cls, spec: BackendSpec, options: BackendOptions) -> Backend:
        return cls(spec, options)

    @property
    def pool(self) -> UpstreamPool:
        # Created lazily, on the router's event loop, where its connections live.
        if self._pool is None or self._pool.closed:
            self._pool = UpstreamPool(connect_timeout_s=_CONNECT_TIMEOUT_S, keepalive_s=60.0)
        return self._pool

    def auth_headers(self, key: str) -> dict[str, str]:
        """The request headers that carry the API key."""
        return {"Authorization": f"Bearer {key}"}

    def prepare(self) -> None:
        if self._key_pending:
            key = load_api_key(self.spec, self.options.env_file)
            assert key is not None  # pending only when spec.api_key_env names a variable: a key, or ConfigError
            self.api_key = key
            self.headers.update(self.auth_headers(key))  # in place: callers hold this dict
            self._key_pending = False

    async def aclose(self) -> None:
        if self._pool is not None and not self._pool.closed:
            await self._pool.aclose()

    def scrub(self, text: str) -> str:
        """Error text with the API key removed, in case an upstream echoes it."""
        if self.api_key and self.api_key in text:
            text = text.replace(self.api_key, "***")
        return text

    def read_timeout(self, cloud: bool) -> float | None:
        """Seconds a read of the upstream may wait: cloud calls ``cloud_timeout_s``; local calls
        none here, they are bounded by the wall-clock guard in the call pipeline."""
        return self.options.cloud_timeout_s if cloud else None

    async def post(self, url: str, body: bytes, headers: dict[str, str],
                   timeout: float | None) -> Response:
        """POST with bounded retries on 429/5xx and connection failures; returns a 2xx response."""
        if self._key_pending:  # a call its run's strategy never routes here (a !cloud suffix)
            self.prepare()
        retries = max(0, self.options.max_retries)
        for attempt in range(retries + 1):
            last = attempt == retries
            try:
                resp = await self.pool.request("POST", url, body, headers, read_timeout=timeout)
            except (UpstreamClosed, UpstreamTimeout) as exc:
                if last:
                    raise UpstreamConnectionError(
                        f"upstream {self.spec.label} unreachable at {url} after {retries + 1} attempts: "
                        f"{self.scrub(str(exc) or type(exc).__name__)}") from None
                await asyncio.sleep(self.options.retry_backoff_s * (2 ** attempt))
                continue
            if resp.status < 400:
                return resp
            try:
                detail = error_detail(self.scrub(await resp.text(errors="replace")))
            except (UpstreamClosed, UpstreamTimeout):
                detail = ""
            finally:
                resp.release()
            message = f"upstream {self.spec.label} returned HTTP {resp.status}: {detail}"
            if resp.status in _REJECTED_STATUSES:  # not retried: the same request meets the same refusal
                raise UpstreamRejectedError(message, upstream_status=resp.status)
            if resp.status in (401, 403):
                raise UpstreamAuthError(
                    f"{message} (check the API key in {self.spec.api_key_env or 'the backend config'})",
                    upstream_status=resp.status)
            if (resp.status == 429 or resp.status >= 500) and not last:
                await asyncio.sleep(self._retry_delay(resp, attempt))
                continue
            raise UpstreamError(message, upstream_status=resp.status)
        raise AssertionError("unreachable")  # pragma: no cover

    def _retry_delay(self, resp: Response, attempt: int) -> float:
        after = resp.headers.get("retry-after")
        if after:
            try:
                return min(_MAX_RETRY_AFTER_S, max(0.0, float(after)))
            except ValueError:
                pass
        delay: float = self.options.retry_backoff_s * (2 ** attempt)  # int ** int is Any to mypy
        return delay

    async def post_with_fallback(self, url: str, build: Callable[[str], bytes], headers: dict[str, str],
                                 timeout: float | None) -> tuple[Response, str]:
        """POST for ``spec.model``; only when 5xx retries are exhausted, once more for the explicit
        ``spec.fallback_model``. Returns the response and the model actually asked for."""
        try:
            return await self.post(url, build(self.spec.model), headers, timeout), self.spec.model
        except UpstreamError as err:
            fallback = self.spec.fallback_model
            if not fallback or type(err) is not UpstreamError or (err.upstream_status or 0) < 500:
                raise
        return await self.post(url, build(fallback), headers, timeout), fallback

    def protocol_error(self, what: str) -> UpstreamProtocolError:
        return UpstreamProtocolError(f"upstream {self.spec.label} sent {self.scrub(what)[:_MAX_ERROR_CHARS]}")

    async def lines(self, resp: Response) -> AsyncIterator[bytes]:
        """The response body line by line (newline stripped); a connection cut mid-body becomes a
        protocol error."""
        async for batch in self.line_batches(resp):
            for line in batch:
                yield line

    async def line_batches(self, resp: Response) -> AsyncIterator[list[bytes]]:
        """The body's complete lines (newline stripped), one list per read of the socket:
        events the upstream sent together are handled, and written to the client, together
        instead of one await and one write each. A connection cut mid-body becomes a protocol
        error; a last line without its newline still comes out."""
        rest = b""
        try:
            while data := await resp.readany():
                lines = (rest + data if rest else data).split(b"\n")
                rest = lines.pop()
                if lines:
                    yield lines
        except (UpstreamClosed, UpstreamTimeout) as exc:
            raise self.protocol_error(f"a stream cut mid-way ({exc})") from None
        if rest:
            yield [rest]

    async def finish_body(self, resp: Response) -> None:
        """Read the rest of a stream after its last event (usually just the chunked terminator),
        so that its connection goes back to the pool instead of being closed."""
        if resp.is_eof():
            return
        try:
            async with asyncio.timeout(_DRAIN_TIMEOUT_S):
                await resp.read()
        except (TimeoutError, UpstreamClosed):  # UpstreamTimeout is a TimeoutError
            pass  # an upstream that keeps the body open: the connection is closed, not reused

    async def read_body(self, resp: Response) -> bytes:
        try:
            return await resp.read()
        except (UpstreamClosed, UpstreamTimeout) as exc:
            raise self.protocol_error(f"a reply cut mid-way ({exc})") from None
