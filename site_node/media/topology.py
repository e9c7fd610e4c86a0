"""Who hears whom in one call: a pure function of the call's media state.

:func:`plan` maps a :class:`CallMediaState` to, per leg, either :data:`MUSIC` or the set of legs
it hears. Transitions (hold, consult, conference, taps...) are pure functions that validate and
return a new state; :class:`~site_node.media.switch.CallMedia` applies the difference.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Literal

from site_node.media.errors import BadTopology


class Mode(StrEnum):
    IVR = "ivr"  # customer alone with the switch (prompts, digits, queue music)
    BRIDGED = "bridged"
    HOLD = "hold"
    CONSULT = "consult"  # customer hears music; agent and consulted agent talk
    CONFERENCE = "conference"


class TapMode(StrEnum):
    LISTEN = "listen"  # supervisor hears both; nobody hears the supervisor
    WHISPER = "whisper"  # ... and the agent (only) hears the supervisor
    BARGE = "barge"  # supervisor joins as a conference party


MUSIC: Literal["music"] = "music"
Hearing = frozenset[str] | Literal["music"]
Plan = dict[str, Hearing]


@dataclass(frozen=True, slots=True)
class CallMediaState:
    customer: str
    agent: str | None = None
    consulted: str | None = None
    mode: Mode = Mode.IVR
    queue_music: bool = False  # IVR mode: customer waits in queue with music
    taps: tuple[tuple[str, TapMode], ...] = field(default_factory=tuple)

    def legs(self) -> list[str]:
        out = [self.customer]
        out += [leg for leg in (self.agent, self.consulted) if leg is not None]
        return out + [leg for leg, _ in self.taps]


def _talkers(state: CallMediaState) -> list[str]:
    """Parties whose voice is part of the conversation a supervisor monitors."""
    if state.mode is Mode.IVR:
        return [state.customer]
    if state.mode is Mode.HOLD:
        return [state.agent] if state.agent else []
    if state.mode is Mode.CONSULT:
        return [leg for leg in (state.agent, state.consulted) if leg]
    return [leg for leg in (state.customer, state.agent, state.consulted) if leg]


def plan(state: CallMediaState) -> Plan:
    c, a, b = state.customer, state.agent, state.consulted
    hears: dict[str, set[str] | Literal["music"]] = {}
    if state.mode is Mode.IVR:
        hears[c] = MUSIC if state.queue_music else set()
    elif state.mode is Mode.BRIDGED and a:
        hears[c], hears[a] = {a}, {c}
    elif state.mode is Mode.HOLD and a:
        hears[c], hears[a] = MUSIC, set()
    elif state.mode is Mode.CONSULT and a and b:
        hears[c], hears[a], hears[b] = MUSIC, {b}, {a}
    elif state.mode is Mode.CONFERENCE and a:
        parties = [leg for leg in (c, a, b) if leg]
        for leg in parties:
            hears[leg] = {other for other in parties if other != leg}
    else:
        raise BadTopology(f"inconsistent call media state {state}")
    talkers = _talkers(state)
    barging = [leg for leg, mode in state.taps if mode is TapMode.BARGE]
    for sup, mode in state.taps:
        heard = set(talkers) | {other for other in barging if other != sup}
        hears[sup] = heard
        if mode is TapMode.WHISPER and a is not None:
            agent_hears = hears.get(a)
            if isinstance(agent_hears, set):
                agent_hears.add(sup)
        if mode is TapMode.BARGE:
            for talker in talkers:
                talker_hears = hears.get(talker)
                if isinstance(talker_hears, set):
                    talker_hears.add(sup)
    return {leg: (h if h == MUSIC else frozenset(h)) for leg, h in hears.items()}


# ---------------------------------------------------------------- transitions
def _need(condition: bool, message: str) -> None:
    if not condition:
        raise BadTopology(message)


def connect_agent(state: CallMediaState, agent: str) -> CallMediaState:
    _need(state.mode is Mode.IVR, f"cannot connect an agent while {state.mode}")
    _need(agent not in state.legs(), "leg is already in the call")
    return replace(state, agent=agent, mode=Mode.BRIDGED, queue_music=False)


def to_ivr(state: CallMediaState, *, queue_music: bool = False) -> CallMediaState:
    """The agent(s) leave (or are parked by the runtime); the customer is alone again."""
    return replace(state, agent=None, consulted=None, mode=Mode.IVR, queue_music=queue_music)


def hold(state: CallMediaState) -> CallMediaState:
    _need(state.mode is Mode.BRIDGED, f"cannot hold while {state.mode}")
    return replace(state, mode=Mode.HOLD)


def resume(state: CallMediaState) -> CallMediaState:
    _need(state.mode is Mode.HOLD, f"cannot resume while {state.mode}")
    return replace(state, mode=Mode.BRIDGED)


def consult(state: CallMediaState, consulted: str) -> CallMediaState:
    _need(state.mode in (Mode.BRIDGED, Mode.HOLD), f"cannot consult while {state.mode}")
    _need(consulted not in state.legs(), "leg is already in the call")
    return replace(state, consulted=consulted, mode=Mode.CONSULT)


def consult_complete(state: CallMediaState) -> CallMediaState:
    _need(state.mode in (Mode.CONSULT, Mode.CONFERENCE), "no consultation in progress")
    _need(state.consulted is not None, "no consulted agent")
    return replace(state, agent=state.consulted, consulted=None, mode=Mode.BRIDGED)


def consult_cancel(state: CallMediaState) -> CallMediaState:
    _need(state.mode is Mode.CONSULT, "no consultation in progress")
    return replace(state, consulted=None, mode=Mode.BRIDGED)


def conference(state: CallMediaState) -> CallMediaState:
    _need(state.mode is Mode.CONSULT, "a conference starts from a consultation")
    return replace(state, mode=Mode.CONFERENCE)


def add_tap(state: CallMediaState, supervisor: str, mode: TapMode) -> CallMediaState:
    _need(state.agent is not None or mode is TapMode.LISTEN, "no agent to whisper to or barge")
    taps = tuple((leg, m) for leg, m in state.taps if leg != supervisor)
    _need(supervisor not in [state.customer, state.agent, state.consulted], "party cannot tap")
    return replace(state, taps=(*taps, (supervisor, mode)))


def replace_leg(state: CallMediaState, old: str, new: str) -> CallMediaState:
    """A party's softphone was replaced (a reloaded desktop): the new leg takes its place."""
    _need(new not in state.legs(), "leg is already in the call")
    if old == state.agent:
        return replace(state, agent=new)
    if old == state.consulted:
        return replace(state, consulted=new)
    raise BadTopology(f"leg {old} is not a party of this call")


def remove_leg(state: CallMediaState, leg: str) -> CallMediaState:
    """A party left: supervisors just drop; an agent leaving falls back sensibly."""
    taps = tuple((sup, m) for sup, m in state.taps if sup != leg)
    state = replace(state, taps=taps)
    if leg == state.consulted:
        mode = Mode.BRIDGED if state.mode is Mode.CONFERENCE else Mode.HOLD
        return replace(state, consulted=None, mode=mode)
    if leg == state.agent:
        if state.consulted is not None:  # the first agent drops: the transfer completes
            return replace(state, agent=state.consulted, consulted=None, mode=Mode.BRIDGED)
        return to_ivr(state)
    return state
