"""A campaign's lifecycle, pure: ``campaign_step(state, event) -> state``.

    draft ──start──▶ running ──pause──▶ paused ──resume──▶ running
      │                 │ finish / exhausted                 │ finish
      └──── finish ─────┴──────────────▶ finished ◀──────────┘

Only a running campaign offers or dials anybody; a finished one is final (its outcomes stay).
"""

from __future__ import annotations

from enum import StrEnum

from central.campaigns.errors import TransitionNotAllowed


class CampaignState(StrEnum):
    DRAFT = "draft"
    RUNNING = "running"
    PAUSED = "paused"
    FINISHED = "finished"


class CampaignEvent(StrEnum):
    START = "start"
    PAUSE = "pause"
    RESUME = "resume"
    FINISH = "finish"
    EXHAUSTED = "exhausted"  # no contact left to try (the dialler says so)


_S, _E = CampaignState, CampaignEvent
TRANSITIONS: dict[tuple[CampaignState, CampaignEvent], CampaignState] = {
    (_S.DRAFT, _E.START): _S.RUNNING,
    (_S.DRAFT, _E.FINISH): _S.FINISHED,
    (_S.RUNNING, _E.PAUSE): _S.PAUSED,
    (_S.RUNNING, _E.FINISH): _S.FINISHED,
    (_S.RUNNING, _E.EXHAUSTED): _S.FINISHED,
    (_S.PAUSED, _E.RESUME): _S.RUNNING,
    (_S.PAUSED, _E.FINISH): _S.FINISHED,
}


def campaign_step(state: CampaignState, event: CampaignEvent) -> CampaignState:
    try:
        return TRANSITIONS[(state, event)]
    except KeyError:
        allowed = sorted(e.value for (s, e) in TRANSITIONS if s is state)
        raise TransitionNotAllowed(f"a {state.value} campaign cannot {event.value}", state=state.value,
                                   event=event.value, allowed=allowed) from None  # fmt: skip
