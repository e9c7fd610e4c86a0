"""A phone caller types their PIN during the agent's PIN check (temporary IVR, C5c; issue 15,
point 5): as RFC 2833 telephone-events and as in-band tones. The agent learns ``verified``
only; the digits reach neither the agent's audio (a Goertzel detector over everything the
agent heard), nor the call's recording (sealed at rest: read back with the site's key), nor
any log file of the cluster (sites, central, the SIP edge, Kamailio), nor the agent's socket.
A control key typed in-band while talking ("9") is found in the agent's audio and the
recording: the detector would see the PIN there if it leaked."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cluster.launcher import LocalCluster
from loadtests.sip.phone import SipPhone
from site_node.media.dtmf import DtmfDetector
from site_node.recordings.sealed import AudioKeys, read_sealed
from site_node.storage.hashing import hash_pin
from tests.e2e.helpers import a_customer, centrals, site_url, wait_published
from tests.sip.conftest import needs_sip
from webrtc_client.audio import Receiver, hears, hears_sound
from webrtc_client.client import AgentClient

pytestmark = [pytest.mark.slow, needs_sip, pytest.mark.timeout(120)]
SITE = "branch-north"
PIN = "470913"  # set for the test's customer: a string no log line has by chance


class Everything(Receiver):
    """Keeps what earlier tracks brought too (a :class:`Receiver` forgets it on a new track)."""

    def attach(self, track: Any) -> None:
        kept = list(self._audio)
        super().attach(track)
        self._audio.extend(kept)


def digits_in(pcm: np.ndarray, rate: int) -> str:  # type: ignore[type-arg]
    found: list[str] = []
    detector = DtmfDetector(lambda d: found.append(d), input_rate=rate)
    detector.push(pcm.astype(np.int16))
    return "".join(found)


def recording_of(cluster: LocalCluster, call_id: str, timeout_s: float = 20.0) -> tuple[np.ndarray, int, int]:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with sqlite3.connect(cluster.base_dir / "data" / f"{SITE}.db") as db:
            row = db.execute("select path, ended_at from recordings where call_id = ?", (call_id,)).fetchone()
        if row is not None and row[1] is not None:
            audio = read_sealed(Path(row[0]), AudioKeys(cluster.recording_key))
            pcm = np.frombuffer(audio.pcm, np.int16).reshape(-1, audio.channels)
            return pcm, audio.rate, audio.channels
        time.sleep(0.2)
    raise AssertionError(f"no recording of {call_id}")


@pytest.mark.parametrize("how", ["rfc2833", "inband"])
async def test_pin_typed_on_a_phone_reaches_only_the_pin_check(cluster: LocalCluster, how: str) -> None:
    assert cluster.sip_address is not None
    _, number = a_customer(cluster)
    with sqlite3.connect(cluster.base_dir / "data" / "business.db") as db:  # PINs are checked at central
        db.execute("update crm_customers set pin_hash = ? where customer_number = ?", (hash_pin(PIN), number))
    agent_id = {"rfc2833": "north-03", "inband": "north-04"}[how]
    agent = AgentClient(site_url(cluster, SITE), agent_id, "demo", central_urls=centrals(cluster), tone_hz=660.0)
    assert agent.phone is not None
    agent.phone.receiver = Everything(keep_s=90)  # everything the agent hears, for the detector
    await agent.login()
    await agent.ready()
    phone = await SipPhone(cluster.sip_address, caller="+8613800000021", tone_hz=440.0).open()
    try:
        await wait_published(cluster, SITE, "credit_card", ready=1)
        assert await phone.call("95589") == 200
        await asyncio.sleep(1.0)
        phone.press("2" + number + "#")  # bill enquiry: identify with the customer number (RFC 2833)
        ring = await agent.wait_ringing(40)
        call_id = ring["call_id"]
        await agent.answer(call_id)
        assert await hears(agent.phone.receiver, 440.0), "the agent does not hear the SIP caller"
        assert agent.sig is not None
        control = "9" if how == "inband" else ""  # a key while talking: the detector does hear tones
        if control:
            phone.tones(control)
            await asyncio.sleep(1.0)

        await agent.command({"type": "transfer", "target": "pin_verify", "target_kind": "ivr_return"})
        assert await hears_sound(phone.receiver), "the caller hears no PIN question"
        await asyncio.sleep(1.5)  # the question plays; keys count from now
        if how == "rfc2833":
            phone.press(PIN + "#")
        else:
            phone.tones(PIN + "#")
        result = (await agent.sig.event("ivr_result", timeout_s=40))["data"]
        assert result == {"call_id": call_id, "verified": True, "locked": False}
        assert await hears(agent.phone.receiver, 440.0), "the caller is not back with the agent"
        await asyncio.sleep(1.0)
        assert await phone.hangup() == 200

        heard = agent.phone.receiver.recent(90)
        # (while the caller is in the PIN check the agent is sent nothing: what was heard is the
        # call before and after it, and any tone would be in there)
        assert len(heard) > 1.2 * agent.phone.receiver.rate, "the agent's audio was not kept"
        assert digits_in(heard, agent.phone.receiver.rate) == control, "DTMF of the PIN reached the agent's audio"
        pcm, rate, channels = recording_of(cluster, call_id)
        assert len(pcm) > 5 * rate
        in_recording = [digits_in(pcm[:, channel], rate) for channel in range(channels)]
        assert "".join(in_recording) == control, f"DTMF of the PIN in the recording: {in_recording}"
        assert PIN not in json.dumps(agent.sig.received)
        logs = [p for p in cluster.base_dir.rglob("*.log") if p.is_file()]
        assert {p.name for p in logs} >= {f"{SITE}.log", "sip-edge-1.log", "kamailio.log"}
        for path in logs:
            assert PIN not in path.read_text(errors="replace"), f"the PIN is in {path.name}"
    finally:
        await phone.close()
        await agent.close()
