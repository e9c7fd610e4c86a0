// The desk's timers, anchored on the site's figures (issue 18, defect 4).
//
// Every agent_state event carries durations (state_for_s, ring_left_s, wrap_up_left_s), not
// timestamps: each is anchored at the moment the event arrives and counts on from there, so
// the browser's clock never has to agree with the site's. Talk time starts where the site
// says the call was answered; each hold is measured from the site's state_for_s on hold.
// Pure: the caller passes `nowMs` (performance.now()); `store` keeps the call's anchor
// across a reload (sessionStorage, converted to wall time only there).

const TALKING = ["on_call", "on_hold"];

export class DeskTimers {
  constructor(store = null) {
    this.store = store;
    this.stateSince = null;
    this.ringDeadline = null;
    this.wrapDeadline = null;
    this.call = null; // { id, start, holdStart, holds: [seconds...] }
  }

  onState(agent, callId, nowMs) {
    const at = (s) => (s === null || s === undefined ? null : nowMs + 1000 * s);
    const since = agent.state_for_s === null || agent.state_for_s === undefined ? nowMs : nowMs - 1000 * agent.state_for_s;
    const changed = !this.lastState || this.lastState !== agent.state;
    if (changed || this.stateSince === null) this.stateSince = since;
    this.ringDeadline = at(agent.ring_left_s);
    this.wrapDeadline = at(agent.wrap_up_left_s);
    if (TALKING.includes(agent.state) && callId) {
      if (!this.call || this.call.id !== callId) this.call = this._restore(callId, since, nowMs);
      if (agent.state === "on_hold" && this.call.holdStart === null) this.call.holdStart = since;
      if (agent.state !== "on_hold" && this.call.holdStart !== null) {
        this.call.holds.push((since - this.call.holdStart) / 1000);
        this.call.holdStart = null;
      }
      this._save(nowMs);
    } else if (agent.state !== "after_call_work") {
      this.call = null;
    } else if (this.call && this.call.holdStart !== null) {
      this.call.holds.push((since - this.call.holdStart) / 1000);
      this.call.holdStart = null;
    }
    if (agent.state === "after_call_work" && this.call && !this.call.end) this.call.end = since;
    this.lastState = agent.state;
  }

  _restore(callId, since, nowMs) {
    const saved = this.store ? this.store() : null;
    if (saved && saved.id === callId) {
      const shift = (wall) => (wall === null ? null : nowMs - (Date.now() - wall));
      return { id: callId, start: shift(saved.start), holdStart: null, holds: saved.holds || [], end: null };
    }
    return { id: callId, start: since, holdStart: null, holds: [], end: null };
  }

  _save(nowMs) {
    if (!this.store || !this.call) return;
    const wall = (t) => Date.now() - (nowMs - t);
    this.store({ id: this.call.id, start: wall(this.call.start), holds: this.call.holds });
  }

  // Whole seconds for display; null where a figure does not apply.
  view(nowMs) {
    const up = (t) => (t === null ? null : Math.max(0, Math.floor((nowMs - t) / 1000)));
    const left = (t) => (t === null ? null : Math.max(0, Math.ceil((t - nowMs) / 1000)));
    const call = this.call;
    const holding = call && call.holdStart !== null ? (nowMs - call.holdStart) / 1000 : 0;
    const done = call ? call.holds.reduce((a, b) => a + b, 0) : 0;
    return {
      inState: up(this.stateSince),
      ringLeft: left(this.ringDeadline),
      wrapLeft: left(this.wrapDeadline),
      talk: call ? Math.max(0, Math.floor(((call.end || nowMs) - call.start) / 1000)) : null,
      hold: call && call.holdStart !== null ? Math.floor(holding) : null,
      holdTotal: call && (done || holding) ? Math.floor(done + holding) : null,
      holds: call ? call.holds.length + (call.holdStart !== null ? 1 : 0) : 0,
    };
  }
}

export function clock(s) {
  if (s === null || s === undefined) return "-";
  const m = Math.floor(s / 60);
  return `${m}:${String(s % 60).padStart(2, "0")}`;
}
