"""Rate limits: a token bucket per unit and one per institution, so that one client's burst cannot
take the gateway's capacity from everyone else (429 `rate-limited` with `Retry-After`).

A bucket holds at most `burst` tokens and refills at `per_second`; a request takes one token from
its unit's bucket and one from its institution's, or from neither: a refused request costs nothing,
so a client that waits out `Retry-After` is served. The buckets live in the process (several
gateway processes each allow the rate: README, Several instances). They are keyed by the
registry's ids, so their number is bounded by the registry; they run on the event loop, one
request at a time, and need no lock.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from gateway.domain.party import Party


@dataclass(frozen=True)
class Rate:
    per_second: float  # 0: no limit
    burst: int

    @property
    def limited(self) -> bool:
        return self.per_second > 0


class _Bucket:
    __slots__ = ("tokens", "updated")

    def __init__(self, tokens: float, updated: float) -> None:
        self.tokens, self.updated = tokens, updated

    def refill(self, rate: Rate, now: float) -> None:
        self.tokens = min(rate.burst, self.tokens + (now - self.updated) * rate.per_second)
        self.updated = now

    def wait(self, rate: Rate) -> float:
        """Seconds until one token is there: 0 when one is."""
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / rate.per_second


class RateLimiter:
    def __init__(self, unit: Rate, institution: Rate, clock: Callable[[], float] = time.monotonic) -> None:
        self._rates = {"unit": unit, "institution": institution}
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._clock = clock

    def admit(self, caller: Party) -> int | None:
        """Take a token for the caller, or say in how many whole seconds to come back (Retry-After)."""
        now = self._clock()
        buckets = []
        for scope, key in (("unit", caller.unit_id), ("institution", caller.id)):
            rate = self._rates[scope]
            if not rate.limited:
                continue
            bucket = self._buckets.get((scope, key))
            if bucket is None:
                bucket = self._buckets[(scope, key)] = _Bucket(rate.burst, now)
            bucket.refill(rate, now)
            buckets.append((bucket, rate))
        wait = max((bucket.wait(rate) for bucket, rate in buckets), default=0.0)
        if wait > 0:
            return max(1, math.ceil(wait))
        for bucket, _ in buckets:
            bucket.tokens -= 1
        return None
