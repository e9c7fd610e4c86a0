"""The retry schedule (pure): attempt ``n`` failed -> wait ``base_s * factor**(n-1)`` (capped at
``max_s``), until ``max_attempts`` attempts have been made."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    base_s: float = 30.0
    factor: float = 2.0
    max_s: float = 3600.0
    max_attempts: int = 6

    def __post_init__(self) -> None:
        if self.base_s <= 0 or self.factor < 1 or self.max_s < self.base_s or self.max_attempts < 1:
            raise ValueError(f"bad backoff {self}")


def next_delay(policy: Backoff, attempts: int) -> float | None:
    """Seconds until the next attempt after ``attempts`` failed ones; None: give up."""
    if attempts < 1:
        raise ValueError("the first attempt is made at once")
    if attempts >= policy.max_attempts:
        return None
    return min(policy.max_s, policy.base_s * policy.factor ** (attempts - 1))
