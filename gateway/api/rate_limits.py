"""Rate limits: a token bucket per unit and one per institution, so that one client's burst cannot
take the gateway's capacity from everyone else (429 `rate-limited` with `Retry-After`).

The public listener's requests are limited the same way per client address (AddressLimiter).

A bucket holds at most `burst` tokens and refills at `per_second`; a request takes one token from
its unit's bucket and one from its institution's, or from neither: a refused request costs nothing,
so a client that waits out `Retry-After` is served. The buckets live in the process (several
gateway processes each allow the rate: README, Several instances). They are keyed by the
registry's ids, so their number is bounded by the registry; they run on the event loop, one
request at a time, and need no lock.
"""

from __future__ import annotations

import ipaddress
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


class TokenBuckets:
    """A bucket per key in each of the named scopes; `take` draws one token from each bucket a
    request falls in, or from none. At most `max_keys` buckets are kept, the least recently used
    dropped first (a dropped bucket comes back full: the same as one idle long enough to refill),
    so that keys a client chooses (its address) cannot grow the table without bound."""

    def __init__(self, rates: dict[str, Rate], clock: Callable[[], float] = time.monotonic, max_keys: int | None = None) -> None:
        self._rates = rates
        self._buckets: dict[tuple[str, str], _Bucket] = {}  # in order of last use
        self._clock = clock
        self._max_keys = max_keys

    def take(self, keys: dict[str, str]) -> int | None:
        """A token for the request whose key in each scope is `keys[scope]`, or in how many whole
        seconds to come back (Retry-After)."""
        now = self._clock()
        buckets = []
        for scope, key in keys.items():
            rate = self._rates[scope]
            if not rate.limited:
                continue
            bucket = self._buckets.pop((scope, key), None) or _Bucket(rate.burst, now)
            self._buckets[(scope, key)] = bucket  # the most recently used, last
            bucket.refill(rate, now)
            buckets.append((bucket, rate))
        if self._max_keys is not None:
            while len(self._buckets) > self._max_keys:
                del self._buckets[next(iter(self._buckets))]
        wait = max((bucket.wait(rate) for bucket, rate in buckets), default=0.0)
        if wait > 0:
            return max(1, math.ceil(wait))
        for bucket, _ in buckets:
            bucket.tokens -= 1
        return None


class RateLimiter(TokenBuckets):
    """Per unit and per institution: keyed by the registry's ids, bounded by the registry."""

    def __init__(self, unit: Rate, institution: Rate, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__({"unit": unit, "institution": institution}, clock)

    def admit(self, caller: Party) -> int | None:
        """Take a token for the caller, or say in how many whole seconds to come back (Retry-After)."""
        return self.take({"unit": caller.unit_id, "institution": caller.id})


class AddressLimiter(TokenBuckets):
    """Per client address, for the public listener (no certificate names the caller there). An IPv6
    client is its /64, which one host or site is given whole: otherwise each of its addresses would
    get a bucket of its own."""

    def __init__(self, rate: Rate, max_addresses: int, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__({"address": rate}, clock, max_addresses)

    def admit(self, address: str) -> int | None:
        return self.take({"address": client_network(address)})


def client_network(address: str) -> str:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address  # not an IP address (a Unix socket, a test client): itself
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)
