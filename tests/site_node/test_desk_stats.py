"""The desk's queue statistics (issue 18, defect 7): pure figures, and pushes only on change."""

from __future__ import annotations

from typing import Any

from cluster.clock import ManualClock
from cluster.tokens import Claims
from site_node.agent import Agent, AgentState, AgentTransition
from site_node.agents.live import LiveAgent
from site_node.deskstats import DeskStatsPush, day_start, desk_figures, handled_calls
from site_node.signalling.control import Session

S = AgentState
DAY = 86_400.0
NOON = 20_000 * DAY + 12 * 3600


def tr(old: AgentState, new: AgentState, at: float) -> AgentTransition:
    return AgentTransition("a1", "e", old, new, at, None, ())


def call(start: float, talk: float, wrap: float) -> list[AgentTransition]:
    return [
        tr(S.READY, S.RESERVED, start - 3),
        tr(S.RESERVED, S.ON_CALL, start),
        tr(S.ON_CALL, S.ON_HOLD, start + 1),
        tr(S.ON_HOLD, S.ON_CALL, start + 2),
        tr(S.ON_CALL, S.AFTER_CALL_WORK, start + talk),
        tr(S.AFTER_CALL_WORK, S.READY, start + talk + wrap),
    ]


QUEUES = {
    "cards": {"skill": "credit_card", "waiting": 2, "longest_wait_s": 41.26},
    "loans": {"skill": "loans", "waiting": 5, "longest_wait_s": 90.0},
    "retail": {"skill": "retail", "waiting": 0, "longest_wait_s": 0.0},
}


def test_day_start_is_local_midnight() -> None:
    assert day_start(NOON) == 20_000 * DAY
    assert day_start(NOON, 8 * 3600) == 20_000 * DAY - 8 * 3600
    assert day_start(20_000 * DAY + 23 * 3600, 8 * 3600) == 20_001 * DAY - 8 * 3600


def test_handled_calls_count_answer_to_end_of_wrap_up_today_only() -> None:
    yesterday = call(20_000 * DAY - 600, 100, 20)
    today = call(NOON, 60, 30) + call(NOON + 1000, 200, 10)
    open_call = [tr(S.READY, S.RESERVED, NOON + 2000), tr(S.RESERVED, S.ON_CALL, NOON + 2001)]
    missed = [tr(S.READY, S.RESERVED, NOON + 3000), tr(S.RESERVED, S.NOT_READY, NOON + 3015)]
    times = handled_calls(yesterday + today + missed + open_call, day_start(NOON))
    assert times == [90.0, 210.0]


def test_figures_show_the_agents_skills_queues_only() -> None:
    figures = desk_figures({"credit_card": 5, "retail": 1}, QUEUES, call(NOON, 60, 30), NOON + 500)
    assert figures == {
        "queues": [
            {"queue": "cards", "skill": "credit_card", "waiting": 2, "longest_wait_s": 41.3},
            {"queue": "retail", "skill": "retail", "waiting": 0, "longest_wait_s": 0.0},
        ],
        "handled": 1,
        "aht_s": 90.0,
    }
    assert desk_figures({}, QUEUES, [], NOON)["aht_s"] is None


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def send(self, session: Session | None, event: str, data: dict[str, Any] | None = None) -> None:
        assert session is not None
        self.sent.append((event, data or {}))


class Snapshot:
    def __init__(self, queues: dict[str, Any]) -> None:
        self.queues = queues

    def snapshot(self, now: float) -> dict[str, Any]:
        return {"queues": self.queues}


async def _noop(message: dict[str, Any]) -> None:
    return None


def test_a_desk_is_pushed_its_figures_once_per_change() -> None:
    clock = ManualClock(NOON)
    live = LiveAgent(Agent("a1"), "A", {"credit_card": 5})
    claims = Claims("agent", "a1", "branch-north", NOON, NOON + 3600, "t1", {})
    live.session = Session(claims, _noop)
    acd = Snapshot({"cards": {"skill": "credit_card", "waiting": 1, "longest_wait_s": 5.0}})
    notify = Recorder()
    push = DeskStatsPush(agents=lambda: {"a1": live}, acd=lambda: acd, notify=notify, clock=clock)
    assert push.push_changed() == 1
    clock.advance(3)  # the same call waits longer: the desk counts on by itself
    acd.queues["cards"] = {"skill": "credit_card", "waiting": 1, "longest_wait_s": 8.0}
    assert push.push_changed() == 0
    acd.queues["cards"] = {"skill": "credit_card", "waiting": 2, "longest_wait_s": 8.0}
    assert push.push_changed() == 1
    assert notify.sent[-1] == (
        "desk_stats",
        {
            "queues": [{"queue": "cards", "skill": "credit_card", "waiting": 2, "longest_wait_s": 8.0}],
            "handled": 0,
            "aht_s": None,
        },
    )
    live.session = None
    assert push.push_changed() == 0
