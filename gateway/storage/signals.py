"""In-process signals that a write committed events to an inbox, for the reads waiting on it.

A write commits on a worker thread (gateway.storage.writers); a waiting inbox read waits on the
event loop, holding neither a thread nor a database connection (gateway.api.v1.inbox). The
exchange rings each recipient's inbox after its commit; a read registers before it looks, so a
commit between its look and its wait still wakes it. Another process's commits ring nothing
here: a waiting read also looks again every GATEWAY_INBOX_REPOLL_SECONDS.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from typing import TypeVar

T = TypeVar("T")

_Waiter = tuple[asyncio.AbstractEventLoop, asyncio.Event]


class InboxSignals:
    def __init__(self) -> None:
        self._waiters: dict[str, set[_Waiter]] = {}
        self._lock = threading.Lock()
        self._closed = False

    def committed(self, unit_ids: Iterable[str]) -> None:
        """Events for these units' inboxes committed (from any thread): wake their waiting reads."""
        with self._lock:
            woken = [waiter for unit_id in set(unit_ids) for waiter in self._waiters.get(unit_id, ())]
        for loop, event in woken:
            _wake(loop, event)

    def close(self) -> None:
        """The process is stopping: every waiting read answers now, and none waits from here on."""
        with self._lock:
            self._closed = True
            woken = [waiter for waiters in self._waiters.values() for waiter in waiters]
        for loop, event in woken:
            _wake(loop, event)

    def waiting(self, unit_id: str) -> int:
        """How many reads wait on `unit_id`'s inbox in this process now."""
        with self._lock:
            return len(self._waiters.get(unit_id, ()))

    async def first_found(self, unit_id: str, look: Callable[[], Awaitable[list[T]]], seconds: float, every: float) -> list[T]:
        """What `look` finds: at once if it finds something, else once something commits for
        `unit_id`'s inbox (looking again every `every` seconds), or nothing after `seconds`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        with self._listening(unit_id) as rung:
            while True:
                rung.clear()
                found = await look()
                remaining = deadline - loop.time()
                if found or remaining <= 0 or self._closed:
                    return found
                with suppress(TimeoutError):
                    await asyncio.wait_for(rung.wait(), min(remaining, every))

    @contextmanager
    def _listening(self, unit_id: str) -> Iterator[asyncio.Event]:
        """An event set when `unit_id`'s inbox may have something new (or the process stops)."""
        event = asyncio.Event()
        waiter = (asyncio.get_running_loop(), event)
        with self._lock:
            self._waiters.setdefault(unit_id, set()).add(waiter)
        try:
            yield event
        finally:
            with self._lock:
                waiters = self._waiters[unit_id]
                waiters.discard(waiter)
                if not waiters:
                    del self._waiters[unit_id]


def _wake(loop: asyncio.AbstractEventLoop, event: asyncio.Event) -> None:
    try:
        loop.call_soon_threadsafe(event.set)
    except RuntimeError:  # that loop has closed: nobody is waiting on it any more
        pass
