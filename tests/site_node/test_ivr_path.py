"""The IVR path a call's CDR keeps (``ivr_path``): pure encoding, and how a flow's end is named."""

from __future__ import annotations

import pytest

from cluster import ivr_path
from site_node.call import Call, from_record, to_cdr, to_record
from site_node.calls.ivr import _end_kind
from site_node.ivr import EnqueueCall, HangupCall, StartVoicemail, TransferCall


def test_exits_in_order_and_the_end() -> None:
    path = ivr_path.with_exit(None, "main", "menu")
    path = ivr_path.with_exit(path, "loans", "rates")
    assert ivr_path.parse(path) == ([("main", "menu"), ("loans", "rates")], None)
    assert ivr_path.parse(ivr_path.with_end(path, "hangup"))[1] == "hangup"
    with pytest.raises(ValueError):
        ivr_path.with_end(path, "exploded")


def test_a_looping_caller_keeps_the_path_bounded() -> None:
    path = None
    for _ in range(ivr_path.MAX_EXITS + 10):
        path = ivr_path.with_exit(path, "main", "menu")
    exits, _ = ivr_path.parse(path)
    assert len(exits) == ivr_path.MAX_EXITS and '"more":10' in str(path)


@pytest.mark.parametrize("stored", [None, "", "not json", "[1, 2]", '{"exits": 5}'])
def test_an_unreadable_path_has_no_exits(stored: str | None) -> None:
    assert ivr_path.parse(stored) == ([], None)


def test_the_flow_end_names() -> None:
    assert _end_kind(HangupCall("done")) == "hangup"
    assert _end_kind(HangupCall("abandoned")) == "abandoned"
    assert _end_kind(EnqueueCall("retail", "retail", 0)) == "queue"
    assert _end_kind(TransferCall("queue", "loans")) == "queue"
    assert _end_kind(TransferCall("number", "+4930")) == "transfer"
    assert _end_kind(StartVoicemail("main", 60.0)) == "voicemail"


def test_the_path_is_in_the_cdr_and_survives_a_snapshot() -> None:
    call = Call("c1", site="north", caller_number="1", dialled_number="2", now=1.0)
    call.ivr_path = ivr_path.with_end(ivr_path.with_exit(None, "main", "menu"), "queue")
    assert to_cdr(call)["ivr_path"] == call.ivr_path
    assert from_record(to_record(call)).ivr_path == call.ivr_path
