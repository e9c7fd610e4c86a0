"""Per-client route limits (finding 9): per address and per caller number, bounded memory."""

from __future__ import annotations

import pytest

from central.routing.limits import KeyedBuckets, LimitKind, Refusal, RouteLimits, TokenBucket
from cluster.clock import ManualClock


def _limits(clock: ManualClock, **overrides: object) -> RouteLimits:
    settings: dict[str, object] = {
        "per_address_cps": 2.0,
        "per_address_burst": 4.0,
        "per_caller_cps": 0.5,
        "per_caller_burst": 2.0,
        "tracked_keys": 100,
    }
    settings.update(overrides)
    return RouteLimits(clock=clock.monotonic, **settings)  # type: ignore[arg-type]


def test_a_caller_number_gets_its_burst_then_waits_for_the_refill() -> None:
    clock = ManualClock()
    limits = _limits(clock)
    assert [limits.check("10.0.0.1", "+8613800000001") for _ in range(2)] == [None, None]
    refused = limits.check("10.0.0.1", "+8613800000001")
    assert refused == Refusal(LimitKind.CALLER, pytest.approx(2.0))  # one token per 2 s
    assert limits.check("10.0.0.1", "+8613800000002") is None  # another caller from the address still routes
    clock.advance(2.0)
    assert limits.check("10.0.0.2", "+8613800000001") is None  # from anywhere: the number's limit
    assert limits.check("10.0.0.3", "+8613800000001") is not None


def test_an_address_gets_its_burst_across_distinct_callers_then_is_refused() -> None:
    clock = ManualClock()
    limits = _limits(clock)
    answers = [limits.check("10.0.0.9", f"+86139{i:08d}") for i in range(6)]
    assert answers[:4] == [None] * 4
    assert answers[4] == Refusal(LimitKind.ADDRESS, pytest.approx(0.5))
    assert limits.check("10.0.0.8", "+8613900000099") is None  # another address is not affected
    clock.advance(0.5)
    assert limits.check("10.0.0.9", "+8613900000100") is None
    assert limits.check("10.0.0.9", "+8613900000101") is not None


def test_a_refused_request_takes_no_token_from_the_other_bucket() -> None:
    clock = ManualClock()
    limits = _limits(clock, per_address_burst=3.0)
    caller = "+8613700000000"
    assert [limits.check("10.0.0.1", caller) is None for _ in range(4)] == [True, True, False, False]
    # the address let two through and refused two (by the caller's limit): one token is left
    assert limits.check("10.0.0.1", "+8613700000001") is None
    assert limits.check("10.0.0.1", "+8613700000002") == Refusal(LimitKind.ADDRESS, pytest.approx(0.5))


def test_exempt_addresses_skip_both_per_client_limits() -> None:
    clock = ManualClock()
    limits = _limits(clock, exempt_addresses=["127.0.0.1"])
    assert all(limits.check("127.0.0.1", "+8613600000000") is None for _ in range(100))
    assert [limits.check("127.0.0.2", "+8613600000000") is None for _ in range(3)] == [True, True, False]


def test_a_flood_of_distinct_numbers_keeps_memory_bounded() -> None:
    clock = ManualClock()
    limits = _limits(clock, tracked_keys=50, exempt_addresses=[])
    for i in range(10_000):
        limits.check(f"10.{i // 65536}.{i // 256 % 256}.{i % 256}", f"+1555{i:07d}")
        clock.advance(0.001)
    assert len(limits.addresses) == 50 and len(limits.callers) == 50


def test_the_least_recently_used_key_is_evicted_and_comes_back_with_a_full_burst() -> None:
    clock = ManualClock()
    buckets = KeyedBuckets(1.0, 1.0, max_keys=2, clock=clock.monotonic)
    assert buckets.bucket("a").take() == 0.0
    assert buckets.bucket("b").take() == 0.0
    assert buckets.bucket("a").take() > 0.0  # "a" used again: now the most recent
    assert buckets.bucket("c").take() == 0.0  # evicts "b", the least recently used
    assert len(buckets) == 2
    assert buckets.bucket("a").take() > 0.0  # kept, still empty
    assert buckets.bucket("b").take() == 0.0  # forgotten: starts full again (errs towards letting through)


def test_wait_does_not_take_a_token() -> None:
    clock = ManualClock()
    bucket = TokenBucket(1.0, 1.0, clock=clock.monotonic)
    assert bucket.wait() == 0.0 and bucket.wait() == 0.0
    assert bucket.take() == 0.0
    assert bucket.wait() == pytest.approx(1.0)
    with pytest.raises(ValueError):
        TokenBucket(0.0)
