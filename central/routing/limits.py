"""Route request limits (pure, clock injected): the global capacity and per-client buckets.

Three token buckets stand in front of routing, checked in this order:

1. per client address (``central.route_limits.per_address_*``): one machine cannot flood;
2. per caller number (``central.route_limits.per_caller_*``): one number cannot be routed
   over and over, from however many addresses;
3. the global capacity (``central.route_capacity_cps``): the cluster's calls-per-second limit,
   like a switch's; answered ``503 route.busy``.

The per-client buckets answer ``429 route.rate_limited``. They live in an LRU map of bounded
size (``tracked_keys``): a flood of distinct numbers or addresses evicts the least recently seen
entries and never grows memory. An evicted key starts again with a full burst, which is the
same as a key idle long enough to refill, so eviction only ever errs towards letting a request
through. Addresses in ``exempt_addresses`` (the bank's own front-ends, a local test cluster) skip
both per-client limits; the global capacity still applies to them.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

Monotonic = Callable[[], float]


TRUNK = ""
"""The "address" of a route request signed by the SIP edge (its calls come from every caller)."""

class TokenBucket:
    """``rate`` tokens per second up to ``burst``; :meth:`take` says how long to wait, if at all."""

    __slots__ = ("_at", "_clock", "_tokens", "capacity", "rate")

    def __init__(self, rate: float, burst: float | None = None, *, clock: Monotonic = time.monotonic) -> None:
        if rate <= 0:
            raise ValueError("a token bucket needs a positive rate")
        self.rate = rate
        self.capacity = burst if burst is not None else max(rate, 1.0)
        self._clock = clock
        self._tokens = self.capacity
        self._at = clock()

    def _refill(self) -> float:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._at) * self.rate)
        self._at = now
        return self._tokens

    def wait(self) -> float:
        """Seconds until a token is there (0.0: now), without taking it."""
        tokens = self._refill()
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate

    def take(self) -> float:
        """0.0 if a request may go now (a token is taken), else the seconds to wait before retrying."""
        wait = self.wait()
        if wait == 0.0:
            self._tokens -= 1.0
        return wait


class KeyedBuckets:
    """One :class:`TokenBucket` per key, at most ``max_keys`` of them (least recently used out)."""

    def __init__(self, rate: float, burst: float, *, max_keys: int, clock: Monotonic = time.monotonic) -> None:
        if max_keys < 1:
            raise ValueError("max_keys must be at least 1")
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def bucket(self, key: str) -> TokenBucket:
        found = self._buckets.get(key)
        if found is not None:
            self._buckets.move_to_end(key)
            return found
        found = TokenBucket(self.rate, self.burst, clock=self._clock)
        self._buckets[key] = found
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return found


class LimitKind(StrEnum):
    """Which limit a refused route request hit (in the error's details)."""

    ADDRESS = "address"
    CALLER = "caller"


@dataclass(frozen=True, slots=True)
class Refusal:
    limit: LimitKind
    retry_after_s: float


class RouteLimits:
    """The per-address and per-caller buckets together: :meth:`check` takes from both or neither.

    A request refused by one limit takes no token from the other, so a caller number flooded
    from one address does not also use up that address's allowance for other callers (and the
    other way round) beyond the requests actually let through.
    """

    def __init__(
        self,
        *,
        per_address_cps: float,
        per_address_burst: float,
        per_caller_cps: float,
        per_caller_burst: float,
        tracked_keys: int,
        exempt_addresses: Iterable[str] = (),
        clock: Monotonic = time.monotonic,
    ) -> None:
        self.addresses = KeyedBuckets(per_address_cps, per_address_burst, max_keys=tracked_keys, clock=clock)
        self.callers = KeyedBuckets(per_caller_cps, per_caller_burst, max_keys=tracked_keys, clock=clock)
        self.exempt = frozenset(exempt_addresses)

    def check(self, address: str, caller: str) -> Refusal | None:
        """None if the request may go (a token taken from each bucket), else which limit and how
        long to wait."""
        if address in self.exempt:
            return None
        buckets = [(LimitKind.CALLER, self.callers.bucket(caller))]
        if address != TRUNK:  # the SIP edge carries every trunk call: only its callers are limited
            buckets.insert(0, (LimitKind.ADDRESS, self.addresses.bucket(address)))
        for kind, bucket in buckets:
            wait = bucket.wait()
            if wait > 0.0:
                return Refusal(kind, wait)
        for _, bucket in buckets:
            bucket.take()
        return None
