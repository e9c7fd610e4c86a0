"""A call follows its agent's softphone when the desktop re-offers (a reload, a crashed tab).

The desk keeps the agent on the call while the desktop is away (within the grace time); the
new offer brings a new leg. If the old leg is still a party, the new one takes its place; if it
already ended (the browser closed it first), the caller was left alone on the IVR path and the
new leg is connected again, on hold if the call is held.
"""

from __future__ import annotations

from site_node.call.events import CallState
from site_node.calls.live import LiveCall
from site_node.media.topology import Mode


def follow_softphone(lc: LiveCall, agent_id: str, old_leg_id: str, new_leg_id: str) -> bool:
    """Move ``lc``'s media onto ``new_leg_id``; False when the call is not with this agent."""
    media = lc.media
    if media is None or lc.call.agent_id != agent_id:
        return False
    if old_leg_id in media.state.legs():
        media.replace_leg(old_leg_id, new_leg_id)
        return True
    if media.state.mode is Mode.IVR and lc.call.state in (CallState.CONNECTED, CallState.HELD):
        media.connect_agent(new_leg_id)
        if lc.call.state is CallState.HELD:
            media.hold()
        return True
    return False
