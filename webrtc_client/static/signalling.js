// Signalling and HTTP for the browser pages: the same protocol as webrtc_client/client.py.
//
//   ApiError            an error with the server's stable error_id (or a client-side one)
//   postJson(url, body) POST JSON; throws ApiError carrying the server's error_id and message
//   postCentral(urls, path, body)  tries each central replica in turn (network errors, 5xx)
//   centralUrls()       central replicas from the page's ?central=URL[,URL...] parameter
//   Signalling          one WebSocket: join, requests with ids, pushed events, close notice

export class ApiError extends Error {
  constructor(errorId, message, status = null, retryAfterS = null) {
    super(`[${errorId}] ${message}`);
    this.errorId = errorId;
    this.detail = message;
    this.status = status;
    this.retryAfterS = retryAfterS; // central's call.moving / agent.moving: ask again this soon
  }
}

// How long to wait before asking central again after `err` (central's reconnect answers wait
// for the move themselves, so a retry follows at once or after the retry_after_s it names).
export function retryDelayMs(err, fallbackMs = 250) {
  const after = err && typeof err.retryAfterS === "number" ? err.retryAfterS * 1000 : fallbackMs;
  return Math.min(Math.max(after, 0), 5000);
}

export function centralUrls(search = window.location.search) {
  const raw = new URLSearchParams(search).get("central") || "";
  return raw.split(",").map((u) => u.trim().replace(/\/+$/, "")).filter(Boolean);
}

export async function postJson(url, body, { timeoutMs = 6000, unreachable = "site.unreachable" } = {}) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  let response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      signal: controller.signal,
    });
  } catch (err) {
    throw new ApiError(unreachable, `could not reach ${new URL(url).host} (${err.name === "AbortError" ? "timed out" : err.message})`);
  } finally {
    clearTimeout(timer);
  }
  let data = {};
  try {
    data = await response.json();
  } catch (_) {
    data = {};
  }
  if (!response.ok) {
    const retryAfter = data.details && typeof data.details.retry_after_s === "number" ? data.details.retry_after_s : null;
    throw new ApiError(data.error_id || `http.${response.status}`, data.message || response.statusText, response.status, retryAfter);
  }
  return data;
}

export async function postCentral(urls, path, body) {
  if (!urls.length) {
    throw new ApiError("central.not_configured", "open this page with ?central=http://HOST:PORT (central's address)");
  }
  let last = null;
  for (const url of urls) {
    try {
      return await postJson(url + path, body, { unreachable: "central.unreachable" });
    } catch (err) {
      if (err.status !== null && err.status < 500) throw err;
      last = err;
    }
  }
  throw last;
}

let nextId = 1;

export class Signalling {
  // onEvent(name, data) for pushed events; onClose(wasRequested) when the socket ends.
  constructor(wsUrl, { onEvent = () => {}, onClose = () => {} } = {}) {
    this.wsUrl = wsUrl;
    this.onEvent = onEvent;
    this.onClose = onClose;
    this.received = []; // every message from the server, parsed (the test hook reads it)
    this.pending = new Map();
    this.ws = null;
    this.closing = false;
    this.isOpen = false;
  }

  connect(token, timeoutMs = 8000) {
    return new Promise((resolve, reject) => {
      let joined = false;
      const timer = setTimeout(() => {
        reject(new ApiError("site.unreachable", `no answer from ${this.wsUrl}`));
        this.close();
      }, timeoutMs);
      let ws;
      try {
        ws = new WebSocket(this.wsUrl);
      } catch (err) {
        clearTimeout(timer);
        reject(new ApiError("site.unreachable", err.message));
        return;
      }
      this.ws = ws;
      ws.onopen = () => {
        this.isOpen = true;
        ws.send(JSON.stringify({ type: "join", token }));
      };
      ws.onmessage = (msg) => {
        let data;
        try {
          data = JSON.parse(msg.data);
        } catch (_) {
          return;
        }
        this.received.push(data);
        if (!joined) {
          if (data.type === "joined") {
            joined = true;
            clearTimeout(timer);
            resolve(data);
          } else if (data.type === "error") {
            clearTimeout(timer);
            reject(new ApiError(data.error_id, data.message));
            this.close();
          }
          return;
        }
        if (data.type === "event") {
          this.onEvent(data.event, data.data || {});
          return;
        }
        const waiter = this.pending.get(String(data.id));
        if (waiter) {
          this.pending.delete(String(data.id));
          if (data.type === "error") waiter.reject(new ApiError(data.error_id, data.message));
          else waiter.resolve(data);
        }
      };
      ws.onclose = () => {
        this.isOpen = false;
        clearTimeout(timer);
        if (!joined) reject(new ApiError("site.unreachable", `the site at ${this.wsUrl} refused or dropped the connection`));
        for (const waiter of this.pending.values()) waiter.reject(new ApiError("signalling.closed", "the connection to the site was lost"));
        this.pending.clear();
        if (joined) this.onClose(this.closing);
      };
    });
  }

  request(message, timeoutMs = 10000) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) {
      return Promise.reject(new ApiError("signalling.closed", "not connected to a site"));
    }
    const id = `b${nextId++}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new ApiError("signalling.timeout", `no reply to ${message.type}`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (v) => { clearTimeout(timer); resolve(v); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      });
      this.ws.send(JSON.stringify({ ...message, id }));
    });
  }

  close() {
    this.closing = true;
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) this.ws.close();
  }
}
