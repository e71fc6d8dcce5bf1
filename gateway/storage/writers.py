"""Where write transactions run.

SQLite has one write lock per database, and a thread waiting for it polls with growing sleeps:
under load some writers lose for seconds while others pass. So on SQLite every write of this
process runs on one writer thread, in arrival order: a queue, first come first served, with no
one spinning on the lock. On PostgreSQL writes run on the worker threads, ordered by row locks.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import queue
import threading
from collections.abc import Callable
from functools import partial
from typing import Protocol, TypeVar

from starlette.concurrency import run_in_threadpool

T = TypeVar("T")


class Writer(Protocol):
    async def run(self, job: Callable[[], T]) -> T: ...
    def close(self) -> None: ...


class SerialWriter:
    """One thread running jobs one after the other, in the order they were submitted, each in the
    context of the request that submitted it (its pinned registry: gateway.runtime), as the worker
    threads run theirs."""

    def __init__(self, name: str = "gateway-writer") -> None:
        self._jobs: queue.SimpleQueue[tuple[Callable[[], object], concurrent.futures.Future] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    async def run(self, job: Callable[[], T]) -> T:
        """`job` runs in the submitter's context (its contextvars: the request its lines are logged for)."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._jobs.put((partial(contextvars.copy_context().run, job), future))
        return await asyncio.wrap_future(future)

    def _serve(self) -> None:
        while (item := self._jobs.get()) is not None:
            job, future = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(job())
            except BaseException as error:  # handed to the request that submitted the job
                future.set_exception(error)

    def close(self) -> None:
        self._jobs.put(None)
        self._thread.join(10)


class PooledWriter:
    """Jobs on the server's worker threads, concurrently."""

    async def run(self, job: Callable[[], T]) -> T:
        return await run_in_threadpool(job)

    def close(self) -> None:
        pass
