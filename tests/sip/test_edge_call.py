"""When a site's ``ended`` event ends the carrier's call at the edge (and when it must not:
a re-attach in progress, a part of the call that went on elsewhere)."""

from __future__ import annotations

import pytest

from site_node.sip.call import site_ended


@pytest.mark.parametrize(
    ("reason", "current", "ends"),
    [
        ("answered_completed", True, True),
        ("abandoned_in_ivr", True, True),
        ("callback_requested", True, True),
        (None, True, True),
        ("failed_over", True, False),  # the site let the call go to another site
        ("transferred_out", True, False),
        ("answered_completed", False, False),  # an older socket: the call has left that site
    ],
)
def test_site_ended(reason: str | None, current: bool, ends: bool) -> None:
    event = {"type": "event", "event": "ended", "data": {"reason": reason, "by": "agent"}}
    assert site_ended(event, current=current) is ends


def test_an_event_without_data_ends_the_call() -> None:
    assert site_ended({"type": "event", "event": "ended"}, current=True)
