"""Concurrency limits per backend.

In one router, an asyncio semaphore queues calls beyond ``BackendSpec.max_concurrency``. A local
model server (Ollama, llama.cpp, vLLM on this machine) is shared by every router that talks to
it, e.g. one per pytest-xdist worker, so for loopback servers the limit also holds across
processes: each call takes one of N slot files with a non-blocking ``flock`` (released by the
kernel if the process dies), polling while all are taken. Workers then queue instead of thrashing.
"""
from __future__ import annotations

import asyncio
import fcntl
import hashlib
import os
from pathlib import Path
from urllib.parse import urlsplit

from .contracts import BackendSpec

_POLL_S = 0.02
_LOOPBACK = ("127.0.0.1", "localhost", "::1", "0.0.0.0")


def shared_server(spec: BackendSpec) -> bool:
    """A server other processes on this machine may call too (not an in-router stand-in)."""
    if not spec.base_url:
        return False
    host = urlsplit(spec.base_url).hostname or ""
    return host in _LOOPBACK or host.startswith("127.")


class BackendLimit:
    def __init__(self, slots: int, lock_dir: Path | None = None, key: str = ""):
        self._semaphore = asyncio.Semaphore(slots)
        self._slots = slots
        self._held: list[int] = []
        self._paths: list[Path] = []
        if lock_dir is not None:
            lock_dir.mkdir(parents=True, exist_ok=True)
            digest = hashlib.sha256(key.encode()).hexdigest()[:16]
            self._paths = [lock_dir / f"{digest}.slot{i}" for i in range(slots)]

    async def acquire(self) -> None:
        await self._semaphore.acquire()
        if not self._paths:
            return
        try:
            while not self._take_slot():
                await asyncio.sleep(_POLL_S)
        except BaseException:
            self._semaphore.release()
            raise

    def _take_slot(self) -> bool:
        for path in self._paths:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            self._held.append(fd)
            return True
        return False

    def release(self) -> None:
        if self._paths and self._held:
            fd = self._held.pop()
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
        self._semaphore.release()


def make_limit(spec: BackendSpec, lock_dir: Path | None) -> BackendLimit | None:
    if spec.max_concurrency <= 0:
        return None
    shared = lock_dir is not None and shared_server(spec)
    return BackendLimit(spec.max_concurrency, lock_dir if shared else None,
                        key=f"{spec.base_url}|{spec.model}|{spec.max_concurrency}")
