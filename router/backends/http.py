"""What the HTTP backends share: one aiohttp session per backend, API keys, bounded retries.

aiohttp rather than httpx: measured here, httpx.AsyncClient collapsed to ~550 req/s with a
240 ms p99 at concurrency 32 while aiohttp served ~6,000 req/s (see /work/shared/bench/README.md).
"""
from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp

from ..contracts import BackendSpec
from ..errors import (
    ConfigError,
    UpstreamAuthError,
    UpstreamConnectionError,
    UpstreamError,
    UpstreamProtocolError,
)
from ..keys import KEYS
from .base import Backend

_MAX_ERROR_CHARS = 500
_MAX_RETRY_AFTER_S = 30.0
_CONNECT_TIMEOUT_S = 10.0
_DRAIN_TIMEOUT_S = 0.5


@dataclass(frozen=True, slots=True)
class HttpOptions:
    """The RouterSettings fields a backend needs (kept separate so backends do not import service)."""

    max_retries: int = 3
    retry_backoff_s: float = 0.5
    cloud_timeout_s: float = 600.0
    env_file: str | None = None


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
    return key


def api_base(base_url: str, default: str, version_path: str) -> str:
    """Base URL with the API version path: ``http://host:8080`` -> ``http://host:8080/v1``."""
    url = (base_url or default).rstrip("/")
    if not re.match(r"^https?://[^/]+/.", url + "/"):
        url += version_path
    return url


class HttpBackend(Backend):
    """A backend that talks HTTP to one upstream through one long-lived aiohttp session."""

    def __init__(self, spec: BackendSpec, options: HttpOptions):
        super().__init__(spec)
        self.options = options
        # The key is loaded by prepare(): only a run that can route here needs it (an always-local
        # run needs no cloud key). Subclasses build ``headers`` without it; prepare() adds it.
        self.api_key: str | None = None
        self.headers: dict[str, str] = {}
        self._key_pending = bool(spec.api_key_env)
        self._session: aiohttp.ClientSession | None = None
        # Built once: an aiohttp ClientTimeout per request costs measurable CPU at 3,000 req/s.
        self._timeouts = {
            True: aiohttp.ClientTimeout(total=None, sock_connect=_CONNECT_TIMEOUT_S, sock_read=options.cloud_timeout_s),
            False: aiohttp.ClientTimeout(total=None, sock_connect=_CONNECT_TIMEOUT_S),
        }

    @property
    def session(self) -> aiohttp.ClientSession:
        # Created lazily so it binds to the router's event loop, not the constructing thread's.
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=60),
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=_CONNECT_TIMEOUT_S),
                auto_decompress=True,
            )
        return self._session

    def auth_headers(self, key: str) -> dict[str, str]:
        """The request headers that carry the API key."""
        return {"Authorization": f"Bearer {key}"}

    def prepare(self) -> None:
        if self._key_pending:
            self.api_key = load_api_key(self.spec, self.options.env_file)
            self.headers.update(self.auth_headers(self.api_key))  # in place: callers hold this dict
            self._key_pending = False

    async def aclose(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    def scrub(self, text: str) -> str:
        """Error text with the API key removed, in case an upstream echoes it."""
        if self.api_key and self.api_key in text:
            text = text.replace(self.api_key, "***")
        return text

    def read_timeout(self, cloud: bool) -> aiohttp.ClientTimeout:
        # Local calls are bounded by the wall-clock guard in the call pipeline.
        return self._timeouts[cloud]

    async def post(self, url: str, body: bytes, headers: dict[str, str],
                   timeout: aiohttp.ClientTimeout) -> aiohttp.ClientResponse:
        """POST with bounded retries on 429/5xx and connection failures; returns a 2xx response."""
        if self._key_pending:  # a call its run's strategy never routes here (a !cloud suffix)
            self.prepare()
        retries = max(0, self.options.max_retries)
        for attempt in range(retries + 1):
            last = attempt == retries
            try:
                resp = await self.session.post(url, data=body, headers=headers, timeout=timeout)
            except (aiohttp.ClientConnectionError, asyncio.TimeoutError) as exc:
                if last:
                    raise UpstreamConnectionError(
                        f"upstream {self.spec.label} unreachable at {url} after {retries + 1} attempts: "
                        f"{self.scrub(str(exc) or type(exc).__name__)}") from None
                await asyncio.sleep(self.options.retry_backoff_s * (2 ** attempt))
                continue
            if resp.status < 400:
                return resp
            try:
                detail = self.scrub((await resp.text(errors="replace"))[:_MAX_ERROR_CHARS])
            except aiohttp.ClientError:
                detail = ""
            finally:
                resp.release()
            message = f"upstream {self.spec.label} returned HTTP {resp.status}: {detail}"
            if resp.status in (401, 403):
                raise UpstreamAuthError(
                    f"{message} (check the API key in {self.spec.api_key_env or 'the backend config'})",
                    upstream_status=resp.status)
            if (resp.status == 429 or resp.status >= 500) and not last:
                await asyncio.sleep(self._retry_delay(resp, attempt))
                continue
            raise UpstreamError(message, upstream_status=resp.status)
        raise AssertionError("unreachable")  # pragma: no cover

    def _retry_delay(self, resp: aiohttp.ClientResponse, attempt: int) -> float:
        after = resp.headers.get("retry-after")
        if after:
            try:
                return min(_MAX_RETRY_AFTER_S, max(0.0, float(after)))
            except ValueError:
                pass
        return self.options.retry_backoff_s * (2 ** attempt)

    async def post_with_fallback(self, url: str, build: Callable[[str], bytes], headers: dict[str, str],
                                 timeout: aiohttp.ClientTimeout) -> tuple[aiohttp.ClientResponse, str]:
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

    async def lines(self, resp: aiohttp.ClientResponse):
        """The response body line by line; a connection cut mid-body becomes a protocol error."""
        try:
            async for line in resp.content:
                yield line
        except (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError) as exc:
            raise self.protocol_error(f"a stream cut mid-way ({type(exc).__name__})") from None

    async def line_batches(self, resp: aiohttp.ClientResponse):
        """The body's complete lines (newline stripped), one list per read of the socket:
        events the upstream sent together are handled, and written to the client, together
        instead of one await and one write each. A connection cut mid-body becomes a protocol
        error; a last line without its newline still comes out."""
        rest = b""
        try:
            async for data in resp.content.iter_any():
                lines = (rest + data if rest else data).split(b"\n")
                rest = lines.pop()
                if lines:
                    yield lines
        except (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError) as exc:
            raise self.protocol_error(f"a stream cut mid-way ({type(exc).__name__})") from None
        if rest:
            yield [rest]

    async def finish_body(self, resp: aiohttp.ClientResponse) -> None:
        """Read the rest of a stream after its last event (usually just the chunked terminator):
        aiohttp closes a connection released mid-body, and reconnecting costs the next call."""
        if resp.content.is_eof():
            return
        try:
            await asyncio.wait_for(resp.content.read(), _DRAIN_TIMEOUT_S)
        except (asyncio.TimeoutError, aiohttp.ClientError):
            pass  # an upstream that keeps the body open: the connection is closed, not reused

    async def read_body(self, resp: aiohttp.ClientResponse) -> bytes:
        try:
            return await resp.read()
        except (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError) as exc:
            raise self.protocol_error(f"a reply cut mid-way ({type(exc).__name__})") from None
