// Server-sent events over fetch(): EventSource cannot send an Authorization header, and the
// supervisor's stream needs the agent token. Each `data: {...}` event is parsed and handed on.
//
//   const stream = new EventStream(url, token, { onData, onProblem });
//   stream.start();  ...  stream.stop();
//
// The stream reconnects by itself (after a short pause) when the site ends it or the network
// drops; a 4xx answer is not retried (the token is not good enough: onProblem says why).

import { ApiError } from "./signalling.js";

export class EventStream {
  constructor(url, token, { onData = () => {}, onProblem = () => {}, retryMs = 500 } = {}) {
    this.url = url;
    this.token = token;
    this.onData = onData;
    this.onProblem = onProblem;
    this.retryMs = retryMs;
    this.controller = null;
    this.running = false;
    this.events = 0;
  }

  start() {
    if (this.running) return;
    this.running = true;
    this._loop();
  }

  stop() {
    this.running = false;
    if (this.controller) this.controller.abort();
    this.controller = null;
  }

  async _loop() {
    while (this.running) {
      try {
        await this._once();
      } catch (err) {
        if (!this.running) return;
        this.onProblem(err);
        if (err.status && err.status < 500) {
          this.running = false;
          return;
        }
      }
      await new Promise((r) => setTimeout(r, this.retryMs));
    }
  }

  async _once() {
    this.controller = new AbortController();
    let response;
    try {
      response = await fetch(this.url, {
        headers: { Authorization: `Bearer ${this.token}`, Accept: "text/event-stream" },
        signal: this.controller.signal,
      });
    } catch (err) {
      throw new ApiError("site.unreachable", `the live stream could not be opened (${err.message})`);
    }
    if (!response.ok) {
      let data = {};
      try { data = await response.json(); } catch (_) { data = {}; }
      throw new ApiError(data.error_id || `http.${response.status}`, data.message || response.statusText, response.status);
    }
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = block.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
        if (!data) continue;
        this.events += 1;
        this.onData(JSON.parse(data));
      }
    }
  }
}
