"""Concurrency limits per backend.

In one router, an asyncio semaphore queues calls beyond ``BackendSpec.max_concurrency`` (in
arrival order). A local model server (Ollama, llama.cpp, vLLM on this machine) is shared by every
router that talks to it, e.g. one per pytest-xdist worker, so for loopback servers the limit also
holds across processes: each call takes one of N slot files with a non-blocking ``flock``
(released by the kernel if the process dies). Workers then queue instead of thrashing.

Across processes the slots are granted in arrival order. A call that finds no slot free (or
others already waiting) joins a queue in the lock folder: an entry file named by a ticket (the
monotonic clock, taken under a lock on the folder so tickets and entries appear in one order),
which its owner holds ``flock``'d for as long as it waits. Only the entry with the lowest ticket
whose owner still holds it may take a slot; an entry whose lock is free belongs to a process that
died while waiting and is removed by whoever finds it. Without the queue, every waiter polled
and whoever polled first after a release won, so one cell's back-to-back calls could hold the
model while another cell's call waited (a 2 s call took 14.9 s).
"""
from __future__ import annotations

import asyncio
import fcntl
import hashlib
import os
import time
from pathlib import Path
from urllib.parse import urlsplit

from pytest_arena.router.contracts import BackendSpec

_POLL_S = 0.02
_LOOPBACK = ("127.0.0.1", "localhost", "::1", "0.0.0.0")


def shared_server(spec: BackendSpec) -> bool:
    """A server other processes on this machine may call too (not an in-router stand-in)."""
    if not spec.base_url:
        return False
    host = urlsplit(spec.base_url).hostname or ""
    return host in _LOOPBACK or host.startswith("127.")


def _locked_by_someone(path: Path) -> bool | None:
    """Whether another open file holds ``path``'s lock; None if the file is gone."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing also drops a lock just taken
    return False


class _Queue:
    """The waiting line for one server's slots, shared by every process through ``lock_dir``."""

    def __init__(self, lock_dir: Path, digest: str):
        self.dir = lock_dir
        self.prefix = f"{digest}.q"

    def _entries(self) -> list[tuple[int, str]]:
        found = []
        for name in os.listdir(self.dir):
            if name.startswith(self.prefix):
                ticket, _, _ = name[len(self.prefix):].partition("-")
                if ticket.isdigit():
                    found.append((int(ticket), name))
        found.sort()
        return found

    def first_waiting(self, before: tuple[int, str] | None = None) -> bool:
        """Whether a live entry waits ahead of ``before`` (ahead of everyone: any live entry).
        Entries of processes that died are removed on the way."""
        for entry in self._entries():
            if before is not None and entry >= before:
                return False
            path = self.dir / entry[1]
            alive = _locked_by_someone(path)
            if alive:
                return True
            if alive is False:  # its owner died waiting: its ticket is void
                path.unlink(missing_ok=True)
        return False

    async def join(self) -> tuple[tuple[int, str], int]:
        """Join the line: (the entry, its locked file descriptor). The ticket is taken and the
        entry published under the folder's lock, so a later ticket never appears first."""
        guard = os.open(self.dir, os.O_RDONLY | os.O_DIRECTORY)
        try:
            while True:
                try:
                    fcntl.flock(guard, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    await asyncio.sleep(0.001)
            ticket = time.monotonic_ns()
            name = f"{self.prefix}{ticket:020d}-{os.getpid()}-{id(self):x}"
            staging = self.dir / f".{name}.new"  # locked before it gets a name others read
            fd = os.open(staging, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                os.rename(staging, self.dir / name)
            except BaseException:
                os.close(fd)
                staging.unlink(missing_ok=True)
                raise
        finally:
            os.close(guard)  # releases the folder's lock
        return (ticket, name), fd

    def leave(self, entry: tuple[int, str], fd: int) -> None:
        (self.dir / entry[1]).unlink(missing_ok=True)
        os.close(fd)


class BackendLimit:
    def __init__(self, slots: int, lock_dir: Path | None = None, key: str = ""):
        self._semaphore = asyncio.Semaphore(slots)
        self._slots = slots
        self._held: list[int] = []
        self._paths: list[Path] = []
        self._queue: _Queue | None = None
        if lock_dir is not None:
            lock_dir.mkdir(parents=True, exist_ok=True)
            digest = hashlib.sha256(key.encode()).hexdigest()[:16]
            self._paths = [lock_dir / f"{digest}.slot{i}" for i in range(slots)]
            self._queue = _Queue(lock_dir, digest)

    async def acquire(self) -> None:
        """Wait for a slot, in arrival order (within this router and, for a shared server,
        across every process using the lock folder)."""
        await self._semaphore.acquire()
        if self._queue is None:
            return
        try:
            if not self._queue.first_waiting() and self._take_slot():
                return  # nobody waiting and a slot free
            entry, fd = await self._queue.join()
            try:
                while self._queue.first_waiting(before=entry) or not self._take_slot():
                    await asyncio.sleep(_POLL_S)
            finally:
                self._queue.leave(entry, fd)
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
