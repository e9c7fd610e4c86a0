"""The route throttle: a configured calls-per-second capacity with a small burst."""

from __future__ import annotations

from central.routing.limits import TokenBucket
from cluster.clock import ManualClock


def test_bucket_allows_the_burst_then_asks_to_retry_after_the_refill() -> None:
    clock = ManualClock()
    bucket = TokenBucket(rate=10.0, burst=3.0, clock=clock.monotonic)
    assert [bucket.take() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert abs(bucket.take() - 0.1) < 1e-9  # one token takes 1/rate seconds to come back
    clock.advance(0.1)
    assert bucket.take() == 0.0
    assert bucket.take() > 0.0
    clock.advance(10.0)  # idle: the bucket refills only up to its burst
    assert [bucket.take() for _ in range(4)][-1] > 0.0
