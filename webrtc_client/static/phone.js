// The softphone: microphone, one RTCPeerConnection per site attachment, DTMF, and what it hears.
//
// Outgoing audio is the microphone, optionally mixed (WebAudio) with DTMF tones: two sine
// oscillators into a MediaStreamDestination together with the microphone. Each key is sent
// both ways: as an in-band tone and as one message on the RTCDataChannel labelled "dtmf".
// The site's IVR counts a key once whichever way it arrives first.
//
// Test hook (small on purpose): dominantFrequency() is the peak FFT bin (Hz) of what the
// remote side sends, or null when silent; level() is its RMS (0..1).

import { ApiError } from "./signalling.js";

const ROWS = [697, 770, 852, 941];
const COLS = [1209, 1336, 1477, 1633];
const KEYS = ["123A", "456B", "789C", "*0#D"];
export const TONE_MS = 120;
export const GAP_MS = 100;

function tonesFor(key) {
  for (let r = 0; r < KEYS.length; r++) {
    const c = KEYS[r].indexOf(key);
    if (c >= 0) return [ROWS[r], COLS[c]];
  }
  return null;
}

export class Phone {
  // audioEl: the <audio> element that plays the remote side; withDtmf: mix tones into the mic.
  constructor(audioEl, { withDtmf = false, onProblem = () => {} } = {}) {
    this.audioEl = audioEl;
    this.withDtmf = withDtmf;
    this.onProblem = onProblem;
    this.ctx = null;
    this.mic = null;
    this.outTrack = null;
    this.pc = null;
    this.channel = null;
    this.analyser = null;
    this.keys = [];
    this.playing = false;
    this._muted = false;
  }

  // Call from a user gesture (click) so the AudioContext may start.
  prepareAudio() {
    if (!this.ctx) this.ctx = new AudioContext({ sampleRate: 48000 });
    if (this.ctx.state === "suspended") this.ctx.resume();
  }

  async open() {
    this.prepareAudio();
    if (this.mic && this.mic.getAudioTracks().some((t) => t.readyState === "live")) return;
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      throw new ApiError("media.unsupported", "this browser cannot use a microphone here (a secure origin is needed)");
    }
    try {
      this.mic = await navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
      });
    } catch (err) {
      const denied = err.name === "NotAllowedError" || err.name === "SecurityError";
      throw new ApiError(
        denied ? "media.permission_denied" : "media.no_microphone",
        denied ? "microphone permission was refused: allow it in the browser and try again"
          : `no usable microphone (${err.name})`,
      );
    }
    const micTrack = this.mic.getAudioTracks()[0];
    micTrack.addEventListener("ended", () =>
      this.onProblem(new ApiError("media.microphone_lost", "the microphone stopped (permission withdrawn or device unplugged)")));
    if (!this.withDtmf) {
      this.outTrack = micTrack;
      return;
    }
    const dest = this.ctx.createMediaStreamDestination();
    this.micGain = this.ctx.createGain();
    this.ctx.createMediaStreamSource(this.mic).connect(this.micGain).connect(dest);
    this.toneGain = this.ctx.createGain();
    this.toneGain.gain.value = 0;
    this.toneGain.connect(dest);
    this.oscillators = [0, 1].map(() => {
      const osc = this.ctx.createOscillator();
      osc.type = "sine";
      osc.connect(this.toneGain);
      osc.start();
      return osc;
    });
    this.outTrack = dest.stream.getAudioTracks()[0];
  }

  // The next connection and its gathered offer, made now (while central moves the call after a
  // site failure): connect() then only sends it, so re-joining runs in parallel with the move.
  prepare() {
    if (!this._next) this._next = this._newPeer().catch(() => null);
    return this._next;
  }

  async _newPeer() {
    const pc = new RTCPeerConnection({ iceServers: [] });
    pc.addTrack(this.outTrack, new MediaStream([this.outTrack]));
    const channel = pc.createDataChannel("dtmf");
    pc.ontrack = (ev) => this._hear(ev.streams[0] || new MediaStream([ev.track]));
    await pc.setLocalDescription(await pc.createOffer());
    await this._gathered(pc, 3000);
    return { pc, channel };
  }

  // One attachment to a site: offer, answer, wait until media flows (or fails).
  // Make before break: the previous connection closes only afterwards, because the site
  // replaces our leg on the new offer; closing first would read as hanging up.
  async connect(sig, timeoutMs = 15000) {
    const prepared = this._next ? await this._next : null;
    this._next = null;
    const { pc, channel } = prepared || (await this._newPeer());
    const old = this.pc;
    this.pc = pc;
    this.channel = channel;
    try {
      const reply = await sig.request({ type: "offer", sdp: pc.localDescription.sdp }, timeoutMs);
      await pc.setRemoteDescription({ type: "answer", sdp: reply.sdp });
      await this._connected(pc, timeoutMs);
      this.muted = this._muted;
    } finally {
      if (old && old !== pc) old.close();
    }
  }

  _gathered(pc, timeoutMs) {
    if (pc.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => { clearTimeout(timer); resolve(); };
      const timer = setTimeout(done, timeoutMs);
      pc.addEventListener("icegatheringstatechange", () => { if (pc.iceGatheringState === "complete") done(); });
    });
  }

  _connected(pc, timeoutMs) {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (pc.connectionState === "connected") { clearTimeout(timer); resolve(); }
        if (pc.connectionState === "failed" || pc.connectionState === "closed") {
          clearTimeout(timer);
          reject(new ApiError("media.failed", `the audio connection ${pc.connectionState}`));
        }
      };
      const timer = setTimeout(() => reject(new ApiError("media.timeout", "the audio connection did not come up")), timeoutMs);
      pc.addEventListener("connectionstatechange", check);
      check();
    });
  }

  _hear(stream) {
    this.audioEl.srcObject = stream;
    const played = this.audioEl.play();
    if (played && played.catch) played.catch(() => this.onProblem(new ApiError("media.autoplay", "click anywhere on the page to hear the call")));
    this.prepareAudio();
    if (this.remoteSource) this.remoteSource.disconnect();
    this.remoteSource = this.ctx.createMediaStreamSource(stream);
    this.analyser = this.ctx.createAnalyser();
    this.analyser.fftSize = 8192;
    this.analyser.smoothingTimeConstant = 0;
    this.remoteSource.connect(this.analyser);
  }

  set muted(value) {
    this._muted = Boolean(value);
    if (this.mic) this.mic.getAudioTracks().forEach((t) => { t.enabled = !this._muted; });
  }

  get muted() {
    return this._muted;
  }

  // Queue a key: tones are played one after another (TONE_MS on, GAP_MS off).
  sendKey(key) {
    if (!tonesFor(key)) return;
    this.keys.push(key);
    if (!this.playing) this._playKeys();
  }

  async _playKeys() {
    this.playing = true;
    while (this.keys.length) {
      const key = this.keys.shift();
      if (this.channel && this.channel.readyState === "open") this.channel.send(key);
      if (this.withDtmf && this.oscillators) {
        const [low, high] = tonesFor(key);
        const now = this.ctx.currentTime;
        this.oscillators[0].frequency.setValueAtTime(low, now);
        this.oscillators[1].frequency.setValueAtTime(high, now);
        this.micGain.gain.setValueAtTime(0, now); // the microphone is ducked under the tone
        this.toneGain.gain.setValueAtTime(0.35, now);
        this.toneGain.gain.setValueAtTime(0, now + TONE_MS / 1000);
        this.micGain.gain.setValueAtTime(1, now + TONE_MS / 1000);
      }
      await new Promise((r) => setTimeout(r, TONE_MS + GAP_MS));
    }
    this.playing = false;
  }

  get connected() {
    return Boolean(this.pc && this.pc.connectionState === "connected");
  }

  dominantFrequency() {
    if (!this.analyser) return null;
    const bins = new Float32Array(this.analyser.frequencyBinCount);
    this.analyser.getFloatFrequencyData(bins);
    let best = 0;
    for (let i = 1; i < bins.length; i++) if (bins[i] > bins[best]) best = i;
    if (!Number.isFinite(bins[best]) || bins[best] < -70) return null;
    return (best * this.ctx.sampleRate) / this.analyser.fftSize;
  }

  level() {
    if (!this.analyser) return 0;
    const samples = new Float32Array(this.analyser.fftSize);
    this.analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const s of samples) sum += s * s;
    return Math.sqrt(sum / samples.length);
  }

  closePeer() {
    if (this.pc) this.pc.close();
    this.pc = null;
    this.channel = null;
  }

  close() {
    this.closePeer();
    if (this._next) this._next.then((next) => next && next.pc.close());
    this._next = null;
    if (this.mic) this.mic.getTracks().forEach((t) => t.stop());
    this.mic = null;
    this.audioEl.srcObject = null;
  }
}
