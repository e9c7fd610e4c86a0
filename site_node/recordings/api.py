"""Playback of recordings and voicemail: ``GET /v1/recordings/{id}/audio`` and
``GET /v1/voicemail/{id}/audio``.

The only way sealed audio leaves a site: an agent token whose role may ``recordings.play``
(team leader, manager, administrator; :mod:`cluster.roles`), every playback audited
(``recording_played`` / ``voicemail_played``, the actor, role, site and what was played) before
the audio is sent; the answer is a WAV (``audio/wav``, never cached). A file that fails
authentication is refused with ``422 recording.tampered`` (and the refusal is audited too).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from cluster.clock import Clock
from cluster.errors import BadRequest, CallCenterError
from cluster.tokens import Claims, TokenSigner, bearer_claims
from site_node.recordings.sealed import AudioKeys, read_sealed
from site_node.storage import Storage

WHY = "only team leaders, managers and administrators play recordings and voicemail"


def _id(request: web.Request) -> int:
    raw = request.match_info["id"]
    if not raw.isdigit() or len(raw) > 18:
        raise BadRequest("the id must be a number", error_id="request.bad_field")
    return int(raw)


class PlaybackApi:
    def __init__(self, storage: Callable[[], Storage], signer: TokenSigner, keys: AudioKeys, clock: Clock, *,
                 site: str) -> None:
        self._storage = storage
        self._signer = signer
        self._keys = keys
        self._clock = clock
        self._site = site

    def install(self, app: web.Application, guard: Callable[..., Any]) -> None:
        app.router.add_get("/v1/recordings/{id}/audio", guard(self.recording))
        app.router.add_get("/v1/voicemail/{id}/audio", guard(self.voicemail))

    def _claims(self, request: web.Request) -> Claims:
        return bearer_claims(self._signer, request.headers.get("Authorization", ""), action="recordings.play", why=WHY)

    async def recording(self, request: web.Request) -> web.Response:
        claims = self._claims(request)
        meta = await self._storage().recordings.recording(_id(request))
        return await self._play(claims, "recording_played", str(meta.id), meta.path, call_id=meta.call_id)

    async def voicemail(self, request: web.Request) -> web.Response:
        claims = self._claims(request)
        message = await self._storage().voicemail.voicemail(_id(request))
        return await self._play(claims, "voicemail_played", str(message.id), message.path, call_id=message.call_id)

    async def _play(self, claims: Claims, action: str, target: str, path: str, *, call_id: str) -> web.Response:
        details = {"call_id": call_id, "role": claims.extra.get("role"), "site": self._site}
        try:
            audio = await asyncio.to_thread(read_sealed, Path(path), self._keys)
        except CallCenterError as exc:
            await self._audit(claims, action.replace("_played", "_refused"), target, {**details, "error": exc.error_id})
            raise
        except OSError as exc:
            raise CallCenterError("the audio file is missing on this site", error_id="recording.missing",
                                  status=404) from exc
        await self._audit(claims, action, target, {**details, "duration_s": len(audio.pcm) / (
            audio.rate * audio.channels * audio.sample_width)})
        return web.Response(body=audio.wav(), content_type="audio/wav",
                            headers={"Cache-Control": "no-store", "Content-Disposition": "inline"})

    async def _audit(self, claims: Claims, action: str, target: str, details: dict[str, Any]) -> None:
        await self._storage().audit.audit(at=self._clock.now(), actor=claims.subject, action=action, target=target,
                                          details=details)
