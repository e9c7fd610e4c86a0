"""ACD configuration (queues, overflow rules) and the decisions the ACD returns."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .errors import AcdConfigInvalid

MIN_LEVEL = 1
MAX_LEVEL = 10


class LimitAction(StrEnum):
    """What to do with a call that hits a queue's maximum wait or maximum length."""

    VOICEMAIL = "voicemail"
    CALLBACK = "callback"
    OVERFLOW = "overflow"  # move to ``*_target`` queue, keeping original arrival and priority


@dataclass(frozen=True, slots=True)
class OverflowRule:
    """After ``after_s`` seconds in the queue, relax the required level and/or add a queue."""

    after_s: float
    min_level: int | None = None
    add_queue: str | None = None


@dataclass(frozen=True, slots=True)
class QueueConfig:
    name: str
    skill: str
    min_level: int = 1
    overflow: tuple[OverflowRule, ...] = ()
    max_wait_s: float | None = None
    max_wait_action: LimitAction = LimitAction.VOICEMAIL
    max_wait_target: str | None = None
    max_length: int | None = None
    max_length_action: LimitAction = LimitAction.CALLBACK
    max_length_target: str | None = None
    sl_threshold_s: float = 20.0
    default_aht_s: float = 180.0

    def stage_levels(self) -> tuple[int, ...]:
        """Required level per stage (stage 0 = on entry, stage k = after rule k)."""
        levels = [self.min_level]
        for rule in self.overflow:
            levels.append(rule.min_level if rule.min_level is not None else levels[-1])
        return tuple(levels)

    def stage_queues(self) -> tuple[tuple[str, ...], ...]:
        """Queues added (cumulatively) per stage."""
        added: list[tuple[str, ...]] = [()]
        for rule in self.overflow:
            extra = (rule.add_queue,) if rule.add_queue is not None else ()
            added.append(added[-1] + extra)
        return tuple(added)


def check_level(level: int, where: str) -> None:
    if not isinstance(level, int) or not MIN_LEVEL <= level <= MAX_LEVEL:
        raise AcdConfigInvalid(f"{where}: skill level {level!r} is not in 1-10", where=where)


def validate_queues(queues: dict[str, QueueConfig]) -> None:
    """Reject a queue set whose levels, rules or targets do not make sense (names the queue)."""
    for q in queues.values():
        where = f"queue {q.name}"
        check_level(q.min_level, where)
        last_after = 0.0
        last_level = q.min_level
        for i, rule in enumerate(q.overflow):
            rw = f"{where} overflow rule {i + 1}"
            if (rule.after_s <= last_after and i > 0) or rule.after_s <= 0:
                raise AcdConfigInvalid(f"{rw}: after_s must be > 0 and increasing", where=rw)
            last_after = rule.after_s
            if rule.min_level is not None:
                check_level(rule.min_level, rw)
                if rule.min_level > last_level:
                    raise AcdConfigInvalid(f"{rw}: relaxation cannot raise the level", where=rw)
                last_level = rule.min_level
            if rule.add_queue is not None and (rule.add_queue not in queues
                                               or rule.add_queue == q.name):
                raise AcdConfigInvalid(f"{rw}: add_queue {rule.add_queue!r} is not another queue",
                                       where=rw)
            if rule.min_level is None and rule.add_queue is None:
                raise AcdConfigInvalid(f"{rw}: needs min_level or add_queue", where=rw)
        for kind, action, target, limit in (
            ("max_wait", q.max_wait_action, q.max_wait_target, q.max_wait_s),
            ("max_length", q.max_length_action, q.max_length_target, q.max_length),
        ):
            if limit is not None and limit <= 0:
                raise AcdConfigInvalid(f"{where}: {kind} must be > 0", where=where)
            if action is LimitAction.OVERFLOW and limit is not None and (
                target not in queues or target == q.name
            ):
                raise AcdConfigInvalid(
                    f"{where}: {kind} overflow target {target!r} is not another queue",
                    where=where,
                )
        if q.sl_threshold_s <= 0 or q.default_aht_s <= 0:
            raise AcdConfigInvalid(f"{where}: thresholds must be > 0", where=where)


@dataclass(frozen=True, slots=True)
class OfferCall:
    """Reserve ``agent_id`` and ring it for ``call_id`` (the agent is no longer available)."""

    call_id: str
    agent_id: str
    queue: str
    skill: str
    level: int
    waited_s: float


@dataclass(frozen=True, slots=True)
class Queued:
    """No agent now: the call waits (play "all agents are busy" with position and wait)."""

    call_id: str
    queue: str
    position: int
    expected_wait_s: float | None


@dataclass(frozen=True, slots=True)
class Relaxed:
    """Timed overflow step: the call now accepts ``min_level`` and agents of ``added_queues``."""

    call_id: str
    queue: str
    min_level: int
    added_queues: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Overflowed:
    """The call moved to another queue (reason ``max_wait`` or ``max_length``)."""

    call_id: str
    from_queue: str
    to_queue: str
    skill: str
    reason: str


@dataclass(frozen=True, slots=True)
class LimitReached:
    """The call leaves the queue: send it to voicemail or register a callback."""

    call_id: str
    queue: str
    action: LimitAction
    reason: str


Decision = OfferCall | Queued | Relaxed | Overflowed | LimitReached
