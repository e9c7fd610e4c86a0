"""Small slotted records behind the ACD's heaps (kept tiny: thousands of waiting calls)."""

from __future__ import annotations

from collections import deque
from typing import Any

from .model import QueueConfig


class _Entry:
    __slots__ = ("arrival", "call_id", "enqueued_at", "epoch", "extra", "last", "live",
                 "priority", "queue", "seq", "stage")

    def __init__(self, call_id: str, queue: str, priority: int, arrival: float,
                 enqueued_at: float, seq: int) -> None:
        self.call_id = call_id
        self.queue = queue
        self.priority = priority
        self.arrival = arrival
        self.enqueued_at = enqueued_at
        self.seq = seq
        self.stage = 0
        self.extra: tuple[str, ...] = ()
        self.live = True
        self.epoch = 0
        self.last = True  # arrived after every call of its priority in its queue (at the tail)


class _Agent:
    __slots__ = ("active", "agent_id", "capacity", "idle_since", "ready", "skills", "token")

    def __init__(self, agent_id: str, skills: dict[str, int], capacity: int) -> None:
        self.agent_id = agent_id
        self.skills = skills
        self.capacity = capacity
        self.active = 0
        self.ready = False
        self.idle_since = 0.0
        self.token = 0


class _Queue:
    __slots__ = ("adds", "aht", "aht_sum", "answered", "cfg", "heaps", "imports", "in_sl",
                 "last_arrival", "levels", "prio_counts", "timed", "waiting")

    def __init__(self, cfg: QueueConfig, aht_window: int) -> None:
        self.cfg = cfg
        self.levels = cfg.stage_levels()
        self.adds = cfg.stage_queues()
        self.heaps: list[list[Any]] = [[] for _ in self.levels]
        self.imports: list[Any] = []
        self.waiting = 0
        self.prio_counts: dict[int, int] = {}
        # per priority, the latest arrival ever added (an upper bound: it never goes down)
        self.last_arrival: dict[int, float] = {}
        self.aht: deque[float] = deque(maxlen=aht_window)
        self.aht_sum = 0.0
        self.answered = 0
        self.in_sl = 0
        self.timed = bool(cfg.overflow) or cfg.max_wait_s is not None

    def aht_s(self) -> float:
        return self.aht_sum / len(self.aht) if self.aht else self.cfg.default_aht_s
