"""SIGHUP: every gateway runtime of this process re-reads its registry file and CRLs and applies
them (gateway.jobs.follow_registry), as `gateway registry apply` does.

The signal handler only wakes the runtimes' loops (`call_soon_threadsafe`): the work is theirs."""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import Any

_listeners: set[Callable[[], None]] = set()


def install() -> None:
    """Route SIGHUP here (from the main thread: `gateway serve`)."""
    signal.signal(signal.SIGHUP, _hung_up)


def listen(wake: Callable[[], None]) -> Callable[[], None]:
    """Call `wake` on each SIGHUP until the returned function is called."""
    _listeners.add(wake)
    return lambda: _listeners.discard(wake)


def _hung_up(signum: int, frame: Any) -> None:
    for wake in list(_listeners):
        wake()
