"""The site's media switch: legs, calls, prompts, music, digits, recording.

``MediaSwitch`` owns the legs and the shared machinery (the 20 ms ticker, the prompt cache,
music on hold, the task owner). ``CallMedia`` is one call's topology: it keeps a pure
:class:`~site_node.media.topology.CallMediaState`, and every operation computes the new plan
and re-points only the ports whose hearing changed:

* hears nothing -> no source;  hears music -> the shared music channel of its codec;
* hears one leg -> forwarded encoded frames when the codecs match (zero transcode), else a
  transcoder;  hears several legs -> the call's mixer.
"""

from __future__ import annotations

import logging
from pathlib import Path

import site_node.media.aiortc_internals as aiortc_internals
import site_node.media.topology as topo
from cluster.clock import SYSTEM_CLOCK, Clock
from cluster.tasks import TaskOwner
from site_node.config import MediaConfig
from site_node.media.codecs import CodecSpec
from site_node.media.dtmf import CollectedDigits, DtmfParams, collect_digits
from site_node.media.errors import BadTopology, PromptError, UnknownLeg
from site_node.media.legs import Leg, Transcoder
from site_node.media.mixer import Mixer
from site_node.media.players import MusicChannel, PromptPlayer
from site_node.media.ports import Source
from site_node.media.prompts import MusicLibrary, PromptCache
from site_node.media.recorded import RecordedPrompts
from site_node.media.recording import Recorder, RecordingInfo
from site_node.media.rtp import RtpLeg
from site_node.media.tasks import Ticker
from site_node.media.topology import MUSIC, CallMediaState, Hearing, Mode, TapMode, plan
from site_node.media.webrtc import WebRtcLeg
from site_node.recordings.sealed import SUFFIX, AudioKeys

logger = logging.getLogger(__name__)


class MediaSwitch:
    def __init__(
        self,
        config: MediaConfig,
        *,
        audio_keys: AudioKeys,
        clock: Clock = SYSTEM_CLOCK,
        prompts: PromptCache | None = None,
        music: MusicLibrary | None = None,
        force_transcode: bool = False,
        dtmf: DtmfParams | None = None,
    ) -> None:
        self.config = config
        self.audio_keys = audio_keys  # recordings and voicemail are sealed with these (site.recording_key)
        self.clock = clock
        self.prompts = prompts or PromptCache()
        self.recorded = RecordedPrompts(Path(config.prompts_dir))
        self.music = music or MusicLibrary()
        self.force_transcode = force_transcode
        self.dtmf = dtmf
        self.ticker = Ticker()
        self.tasks = TaskOwner("media-switch")
        self._legs: dict[str, Leg] = {}
        self._calls: dict[str, CallMedia] = {}
        self._channels: dict[str, MusicChannel] = {}
        self._recordings = 0

    # ------------------------------------------------------------ life cycle
    async def start(self) -> None:
        aiortc_internals.check_compatibility()
        aiortc_internals.install_host_addresses(self.config.host_addresses)
        aiortc_internals.set_rtcp_interval(self.config.rtcp_interval_s)
        await self.ticker.start()

    async def stop(self) -> None:
        for call in list(self._calls.values()):
            call.end()
        for leg_id in list(self._legs):
            await self.close_leg(leg_id, "shutdown")
        await self.tasks.stop()
        await self.ticker.stop()

    # ------------------------------------------------------------ legs
    async def answer_webrtc(self, leg_id: str, offer_sdp: str) -> tuple[WebRtcLeg, str]:
        """Create a WebRTC leg from a client's offer; returns it and the SDP answer."""
        if leg_id in self._legs:
            raise BadTopology(f"leg {leg_id} already exists", leg_id=leg_id)
        leg, answer = await WebRtcLeg.answer(leg_id, offer_sdp, self.config)
        self.add_leg(leg)
        return leg, answer

    async def answer_rtp(self, leg_id: str, offer_sdp: str) -> tuple[RtpLeg, str]:
        """Create a plain-RTP leg (from the SIP edge) from its offer; returns it and the answer."""
        if leg_id in self._legs:
            raise BadTopology(f"leg {leg_id} already exists", leg_id=leg_id)
        config = self.config
        ports = range(config.rtp_port_min, config.rtp_port_max + 1) if config.rtp_port_min else None
        leg, answer = await RtpLeg.answer(leg_id, offer_sdp, self.ticker, host=config.host_addresses[0], ports=ports)
        self.add_leg(leg)
        return leg, answer

    def add_leg(self, leg: Leg) -> None:
        """Register a leg of any transport (WebRTC, SIP/RTP...)."""
        self._legs[leg.leg_id] = leg
        leg.ended.add_done_callback(lambda _: self._on_leg_ended(leg))

    def _on_leg_ended(self, leg: Leg) -> None:
        if self._legs.get(leg.leg_id) is leg and not self.tasks.closed:  # stop() closes every leg itself
            self.tasks.spawn(self.close_leg(leg.leg_id, leg.ended.result()), f"close-{leg.leg_id}")

    def leg(self, leg_id: str) -> Leg:
        try:
            return self._legs[leg_id]
        except KeyError:
            raise UnknownLeg(f"no leg {leg_id} on this switch", leg_id=leg_id) from None

    @property
    def legs(self) -> dict[str, Leg]:
        return dict(self._legs)

    async def close_leg(self, leg_id: str, reason: str = "hangup") -> None:
        leg = self._legs.pop(leg_id, None)
        if leg is None:
            return
        for call in list(self._calls.values()):
            if leg_id in call.state.legs():
                call.remove_leg(leg_id)
        await leg.close(reason)

    # ------------------------------------------------------------ building blocks
    def music_channel(self, spec: CodecSpec) -> MusicChannel:
        channel = self._channels.get(spec.name)
        if channel is None:
            packets = list(self.music.get(spec).packets)
            channel = self._channels[spec.name] = MusicChannel(spec, packets, self.ticker)
        return channel

    async def play_prompt(self, leg_id: str, text: str | None, language: str = "en", audio: str | None = None) -> bool:
        """Play a prompt over whatever the leg hears (a recorded file if given, else its text
        spoken); True if it played to the end. A file that cannot be read now falls back to
        the text, so a caller never hears nothing where a prompt was meant."""
        leg = self.leg(leg_id)
        encoded = None
        if audio is not None:
            try:
                encoded = await self.recorded.get(audio, leg.spec)
            except PromptError as exc:
                logger.error("recorded prompt %s unusable (%s); speaking its text", audio, exc)
        if encoded is None:
            if not text:
                return True
            encoded = await self.prompts.get(text, language, leg.spec)
        player = PromptPlayer(list(encoded.packets), self.ticker)
        leg.port.set_override(player)
        try:
            return await player.done
        finally:
            leg.port.clear_override(player)

    def stop_prompt(self, leg_id: str) -> None:
        self.leg(leg_id).port.set_override(None)

    async def collect_digits(
        self,
        leg_id: str,
        *,
        max_digits: int,
        timeout_s: float,
        terminators: str = "#",
        inter_digit_timeout_s: float | None = None,
        sensitive: bool = False,
    ) -> CollectedDigits:
        """Collect digits (tones or data channel); ``sensitive`` pauses the call's recording."""
        leg = self.leg(leg_id)
        calls = [c for c in self._calls.values() if leg_id in c.state.legs()] if sensitive else []
        for call in calls:
            call.pause_recording()
        try:
            return await collect_digits(
                leg,
                max_digits=max_digits,
                timeout_s=timeout_s,
                terminators=terminators,
                inter_digit_timeout_s=inter_digit_timeout_s,
                params=self.dtmf,
            )
        finally:
            for call in calls:
                call.resume_recording()

    def recorder(self, call_id: str, *, stereo: bool = True) -> Recorder:
        self._recordings += 1
        name = f"{call_id}-{self._recordings}{SUFFIX}"
        path = Path(self.config.recordings_dir) / name
        return Recorder(call_id, path, self.ticker, self.clock, keys=self.audio_keys, stereo=stereo)

    # ------------------------------------------------------------ calls
    def new_call(self, call_id: str, customer_leg_id: str) -> CallMedia:
        if call_id in self._calls:
            raise BadTopology(f"call {call_id} already has media", call_id=call_id)
        self.leg(customer_leg_id)
        call = CallMedia(self, call_id, CallMediaState(customer=customer_leg_id))
        self._calls[call_id] = call
        return call

    def call(self, call_id: str) -> CallMedia:
        try:
            return self._calls[call_id]
        except KeyError:
            raise BadTopology(f"call {call_id} has no media here", call_id=call_id) from None

    @property
    def calls(self) -> dict[str, CallMedia]:
        return dict(self._calls)

    def _forget_call(self, call_id: str) -> None:
        self._calls.pop(call_id, None)


class CallMedia:
    """One call's media topology, driven by the site runtime."""

    def __init__(self, switch: MediaSwitch, call_id: str, state: CallMediaState) -> None:
        self._switch = switch
        self.call_id = call_id
        self.state = state
        self.history: list[Mode] = [state.mode]
        self._applied: dict[str, Hearing] = {}
        self._mixer: Mixer | None = None
        self._transcoders: dict[tuple[str, str], Transcoder] = {}
        self._recorder: Recorder | None = None
        self._apply()

    # ------------------------------------------------------------ operations
    def connect_agent(self, agent_leg_id: str) -> None:
        self._switch.leg(agent_leg_id)
        self._set(topo.connect_agent(self.state, agent_leg_id))

    def to_ivr(self, *, queue_music: bool = False) -> None:
        """Agents leave the media (transfer to IVR / queue); customer hears music or prompts."""
        self._set(topo.to_ivr(self.state, queue_music=queue_music))

    def queue_music(self, on: bool = True) -> None:
        if self.state.mode is not Mode.IVR:
            raise BadTopology("queue music is for a call in the IVR/queue")
        self._set(topo.to_ivr(self.state, queue_music=on))

    def hold(self) -> None:
        self._set(topo.hold(self.state))

    def resume(self) -> None:
        self._set(topo.resume(self.state))

    def consult(self, consulted_leg_id: str) -> None:
        self._switch.leg(consulted_leg_id)
        self._set(topo.consult(self.state, consulted_leg_id))

    def consult_complete(self) -> None:
        self._set(topo.consult_complete(self.state))

    def consult_cancel(self) -> None:
        self._set(topo.consult_cancel(self.state))

    def conference(self) -> None:
        self._set(topo.conference(self.state))

    def tap(self, supervisor_leg_id: str, mode: TapMode) -> None:
        """Listen, whisper or barge; calling again switches the supervisor's mode."""
        self._switch.leg(supervisor_leg_id)
        self._set(topo.add_tap(self.state, supervisor_leg_id, mode))

    def replace_leg(self, old_leg_id: str, new_leg_id: str) -> None:
        """The agent's softphone re-offered (a reload): the call continues on the new leg."""
        self._switch.leg(new_leg_id)
        self._set(topo.replace_leg(self.state, old_leg_id, new_leg_id))
        leg = self._switch.legs.get(old_leg_id)
        if leg is not None:
            leg.port.set_base(None)

    def remove_leg(self, leg_id: str) -> None:
        self._set(topo.remove_leg(self.state, leg_id))
        leg = self._switch.legs.get(leg_id)
        if leg is not None:
            leg.port.set_base(None)

    # ------------------------------------------------------------ recording
    def start_recording(self, *, stereo: bool = True) -> None:
        if self._recorder is None:
            self._recorder = self._switch.recorder(self.call_id, stereo=stereo)
            self._update_recorder()

    def pause_recording(self) -> None:
        if self._recorder is not None:
            self._recorder.pause()

    def resume_recording(self) -> None:
        if self._recorder is not None:
            self._recorder.resume()

    def stop_recording(self) -> RecordingInfo | None:
        recorder, self._recorder = self._recorder, None
        return recorder.stop() if recorder is not None else None

    def _update_recorder(self) -> None:
        if self._recorder is None:
            return
        legs = self._switch.legs
        others = [self.state.agent, self.state.consulted]
        others += [sup for sup, mode in self.state.taps if mode is TapMode.BARGE]
        left = [legs[self.state.customer]] if self.state.customer in legs else []
        right = [legs[leg] for leg in others if leg is not None and leg in legs]
        self._recorder.set_parties(left, right)

    def end(self) -> RecordingInfo | None:
        """Release every source of this call (legs stay; the runtime closes them)."""
        info = self.stop_recording()
        legs = self._switch.legs
        for leg_id in self._applied:
            if leg_id in legs:
                legs[leg_id].port.set_base(None)
        self._applied.clear()
        if self._mixer is not None:
            self._mixer.close()
            self._mixer = None
        self._switch._forget_call(self.call_id)
        return info

    # ------------------------------------------------------------ applying a plan
    def _set(self, state: CallMediaState) -> None:
        old = self.state
        self.state = state
        if state.mode is not old.mode:
            self.history.append(state.mode)
            logger.info("call %s media %s -> %s", self.call_id, old.mode, state.mode)
        self._apply()
        self._update_recorder()

    def _apply(self) -> None:
        new = plan(self.state)
        legs = self._switch.legs
        for leg_id in list(self._applied):
            if leg_id not in new and leg_id in legs:
                legs[leg_id].port.set_base(None)
        for leg_id, hearing in new.items():
            leg = legs.get(leg_id)
            if leg is None:
                continue
            if self._applied.get(leg_id) == hearing and leg.port.base_source is not None:
                if isinstance(hearing, frozenset) and len(hearing) > 1 and self._mixer:
                    self._mixer.route(leg.port, frozenset(legs[i] for i in hearing if i in legs))
                continue
            leg.port.set_base(self._source_for(leg, hearing, legs))
        self._applied = dict(new)

    def _source_for(self, leg: Leg, hearing: Hearing, legs: dict[str, Leg]) -> Source | None:
        if hearing == MUSIC:
            return self._switch.music_channel(leg.spec)
        heard = [legs[i] for i in hearing if i in legs]
        if not heard:
            return None
        if len(heard) == 1:
            source = heard[0]
            if source.spec == leg.spec and not self._switch.force_transcode:
                return source
            key = (source.leg_id, leg.leg_id)
            transcoder = self._transcoders.get(key)
            if transcoder is None:
                transcoder = self._transcoders[key] = Transcoder(source, leg.spec)
            return transcoder
        if self._mixer is None:
            self._mixer = Mixer(self._switch.ticker)
        self._mixer.route(leg.port, frozenset(heard))
        return self._mixer
