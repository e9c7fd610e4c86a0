"""Finding 11 (recordings and voicemail at rest): a real call answered by a real agent is
recorded sealed with AES-GCM (no WAV header, no plaintext PCM on disk); it is played back only
through the site's endpoint, as a valid WAV, to a role with ``recordings.play``; an agent gets
``403 role.forbidden``; a file changed by one byte is refused with ``recording.tampered``;
every playback (and refusal) is in the audit trail. Voicemail goes through the same sealing
and its own endpoint."""

from __future__ import annotations

import asyncio
import io
import json
import os
import sqlite3
import subprocess
import sys
import time
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest

from cluster.launcher import LocalCluster
from site_node.recordings.sealed import MAGIC, AudioKeys, SealedWriter
from tests.e2e.helpers import agent_ready, call_to_queue, running_cluster, site_url

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

SITE = "branch-north"


def _db(cluster: LocalCluster) -> sqlite3.Connection:
    db = sqlite3.connect(cluster.base_dir / "data" / f"{SITE}.db")
    db.row_factory = sqlite3.Row
    return db


async def _recorded_call(cluster: LocalCluster) -> str:
    agent = await agent_ready(cluster, SITE, "north-05", 660.0)
    customer = await call_to_queue(cluster, "+8613700000055", 440.0)
    try:
        ring = await agent.wait_ringing()
        await agent.answer(ring["call_id"])
        await asyncio.sleep(2.5)
        await customer.hangup()
        return str(ring["call_id"])
    finally:
        await customer.close()
        await agent.close()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    with running_cluster(tmp_path_factory.mktemp("rec"), sites=1, centrals=1) as c:
        yield c


@pytest.fixture(scope="module")
def recording(cluster: LocalCluster) -> dict[str, Any]:
    """The recording row of a real, answered call."""
    call_id = asyncio.run(_recorded_call(cluster))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with _db(cluster) as db:
            row = db.execute("SELECT * FROM recordings WHERE call_id = ?", (call_id,)).fetchone()
        if row is not None and row["ended_at"] is not None:
            return dict(row)
        time.sleep(0.2)
    raise AssertionError(f"no recording was stored for {call_id}")


async def _token(http: aiohttp.ClientSession, cluster: LocalCluster, agent_id: str) -> str:
    async with http.post(site_url(cluster, SITE) + "/v1/agents/login",
                         json={"agent_id": agent_id, "password": "demo"}) as r:
        return str((await r.json())["token"])


async def _play(cluster: LocalCluster, kind: str, item: int, agent_id: str | None) -> tuple[int, bytes, str]:
    async with aiohttp.ClientSession() as http:
        headers = {"Authorization": f"Bearer {await _token(http, cluster, agent_id)}"} if agent_id else {}
        async with http.get(f"{site_url(cluster, SITE)}/v1/{kind}/{item}/audio", headers=headers) as r:
            body = await r.read()
            error = json.loads(body).get("error_id", "") if r.content_type == "application/json" else ""
            return r.status, body, error


def _audits(cluster: LocalCluster, action: str, target: int) -> list[dict[str, Any]]:
    with _db(cluster) as db:
        rows = db.execute("SELECT * FROM audit_log WHERE action = ? AND target = ? ORDER BY id",
                          (action, str(target))).fetchall()
    return [dict(r) for r in rows]


def test_no_plaintext_audio_is_on_disk(cluster: LocalCluster, recording: dict[str, Any]) -> None:
    sealed = Path(recording["path"]).read_bytes()
    assert sealed.startswith(MAGIC) and b"RIFF" not in sealed and b"WAVE" not in sealed
    # ciphertext looks random: no long runs of the silence or tone samples a raw recording holds
    counts = np.bincount(np.frombuffer(sealed[64:], np.uint8), minlength=256)
    assert counts.max() < 3 * counts.mean()
    folder = Path(recording["path"]).parent
    assert not list(folder.glob("*.wav")) and all(p.suffix == ".sealed" for p in folder.iterdir())


def test_a_team_leader_plays_a_valid_wav_and_it_is_audited(cluster: LocalCluster, recording: dict[str, Any]) -> None:
    before = len(_audits(cluster, "recording_played", recording["id"]))
    status, body, _ = asyncio.run(_play(cluster, "recordings", recording["id"], "north-02"))
    assert status == 200
    with wave.open(io.BytesIO(body)) as wav:
        assert (wav.getnchannels(), wav.getframerate(), wav.getsampwidth()) == (2, 16_000, 2)
        assert wav.getnframes() / 16_000 >= 2.0
    played = _audits(cluster, "recording_played", recording["id"])
    assert len(played) == before + 1 and played[-1]["actor"] == "north-02"
    details = json.loads(played[-1]["details"])
    assert details["call_id"] == recording["call_id"] and details["role"] == "team_leader" and details["site"] == SITE


def test_an_agent_or_nobody_may_not_play(cluster: LocalCluster, recording: dict[str, Any]) -> None:
    status, _, error = asyncio.run(_play(cluster, "recordings", recording["id"], "north-05"))
    assert (status, error) == (403, "role.forbidden")
    status, _, error = asyncio.run(_play(cluster, "recordings", recording["id"], None))
    assert status in (401, 403) and error.startswith("token.")
    assert all(a["actor"] != "north-05" for a in _audits(cluster, "recording_played", recording["id"]))


def test_a_tampered_recording_is_refused(cluster: LocalCluster, recording: dict[str, Any]) -> None:
    path = Path(recording["path"])
    original = path.read_bytes()
    changed = bytearray(original)
    changed[len(changed) // 2] ^= 0x01
    path.write_bytes(bytes(changed))
    try:
        status, _, error = asyncio.run(_play(cluster, "recordings", recording["id"], "north-01"))
        assert (status, error) == (422, "recording.tampered")
        path.write_bytes(original[: len(original) - 40])  # cut short
        assert asyncio.run(_play(cluster, "recordings", recording["id"], "north-01"))[2] == "recording.tampered"
    finally:
        path.write_bytes(original)
    assert _audits(cluster, "recording_refused", recording["id"])
    assert asyncio.run(_play(cluster, "recordings", recording["id"], "north-01"))[0] == 200


def test_voicemail_is_played_only_through_its_endpoint(cluster: LocalCluster) -> None:
    folder = cluster.base_dir / "data" / "recordings"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "vm-test.sealed"
    writer = SealedWriter(path, AudioKeys(cluster.recording_key), channels=1, rate=16_000)
    writer.write((np.sin(np.arange(16_000) / 5) * 8000).astype("<i2").tobytes())
    writer.close()
    with _db(cluster) as db:
        cursor = db.execute("INSERT INTO voicemail (call_id, path, duration_s, created_at, heard) "
                            "VALUES ('vm-call', ?, 1.0, 0, 0)", (str(path),))
        vm_id = int(cursor.lastrowid or 0)
    assert asyncio.run(_play(cluster, "voicemail", vm_id, "north-04"))[:3:2] == (403, "role.forbidden")
    status, body, _ = asyncio.run(_play(cluster, "voicemail", vm_id, "north-10"))
    assert status == 200 and body.startswith(b"RIFF")
    assert [a["actor"] for a in _audits(cluster, "voicemail_played", vm_id)] == ["north-10"]


def test_a_site_without_a_recording_key_refuses_to_start(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CC_SITE__RECORDING")}
    env.update(CC_TOKENS__SECRET="s" * 48, CC_SITE__ACCOUNT_HASH_KEY="k" * 48, CC_SITE__DATA_DIR=str(tmp_path))
    result = subprocess.run([sys.executable, "-m", "cluster.cli", "site", "--port", "0"], env=env,
                            cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True, timeout=60,
                            check=False)
    assert result.returncode != 0 and "site.recording_key is not set" in result.stderr
