"""Where a caller or an agent who lost its site goes now, waiting (bounded) for central's move.

A reconnect (or re-attach) for a call at a site that is still a member is a report that the
site is lost: the confirmer probes it. The request then waits, up to ``wait_s``, on the hot
copy's changes until one of these holds:

* the call's record names another live site (central moved it): go there;
* the site proved alive (``healthy``: the client's own network blipped) or probing is off:
  go back to it, as before;
* the call ended or its record went away: the caller's error.

When the wait runs out the answer is ``503 call.moving`` (``agent.moving``) with
``retry_after_s``: a paused or cut-off site is judged by its lease, and its calls move when
the lease ends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from central.failure.confirmer import DeathConfirmer
from central.failure.detector import Verdict
from central.state import ClusterState

T = TypeVar("T")
RETRY_AFTER_S = 0.2  # a wait that ran out: ask again this soon (the next one waits again)


async def until(state: ClusterState, ready: Callable[[], T | None], wait_s: float) -> T | None:
    """``ready()`` once it is not None, re-checked at every change, or None after ``wait_s``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    while True:
        value = ready()
        if value is not None:
            return value
        remaining = deadline - loop.time()
        if remaining <= 0:
            return None
        await state.changes.wait(remaining)


def site_usable(state: ClusterState, confirmer: DeathConfirmer | None, site: str, *, lost: bool) -> bool:
    """Can a client that ``lost`` contact with ``site`` be sent (back) there now?"""
    if site not in state.sites:
        return False
    if not lost or confirmer is None or not confirmer.enabled:
        return True
    return confirmer.verdict(site) is Verdict.HEALTHY


async def call_settled(state: ClusterState, confirmer: DeathConfirmer | None, call_id: str, wait_s: float) -> bool:
    """Wait until the call may be rejoined where its record says (see the module doc), or has
    ended or vanished (the caller reads which); False if the wait ran out first."""
    first = state.calls.get(call_id)
    if first is None:
        return True
    lost_site = first.site
    if lost_site in state.sites and confirmer is not None:
        confirmer.report(lost_site)

    def ready() -> bool | None:
        record = state.calls.get(call_id)
        if record is None or record.state == "ended":
            return True
        return True if site_usable(state, confirmer, record.site, lost=record.site == lost_site) else None

    return await until(state, ready, wait_s) is not None


async def agent_home_settled(state: ClusterState, confirmer: DeathConfirmer | None, agent_id: str, home: str,
                             wait_s: float) -> bool:
    """An agent attached at ``home`` lost it: wait until ``home`` proves alive or has left
    (and the agent's calls there were moved). False if the wait ran out."""
    if home in state.sites and confirmer is not None:
        confirmer.report(home)

    def ready() -> bool | None:
        if site_usable(state, confirmer, home, lost=True):
            return True
        if home in state.sites:
            return None
        return True if not any(c.site == home and c.agent_id == agent_id for c in state.calls.values()) else None

    return await until(state, ready, wait_s) is not None
