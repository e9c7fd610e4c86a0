// The customer's web call: call the bank, hear the IVR and the agent, use the keypad, see the
// queue, ask for a callback, and keep the call when a site fails.
//
// Central's address comes from ?central=URL[,URL]. Routing: POST /v1/calls. When the socket
// drops or the site says "moved": POST /v1/calls/{id}/reconnect {token} and attach again.

import { ApiError, Signalling, centralUrls, postCentral, retryDelayMs } from "./signalling.js";
import { Phone } from "./phone.js";
import { $, guarded, seconds, show, showError, status } from "./ui.js";

const RECONNECT_FOR_MS = 60000;

const app = {
  centrals: centralUrls(),
  callId: null,
  token: null,
  site: null,
  sig: null,
  phase: "idle", // idle, calling, ivr, queued, connected, held, ended
  agent: null,
  reconnecting: false,
  received: [],
  keysSent: 0,
};
const phone = new Phone($("remote"), { withDtmf: true, onProblem: showError });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function setPhase(phase, text) {
  app.phase = phase;
  $("call-state").textContent = text;
  status(text);
  $("call").disabled = !["idle", "ended"].includes(phase);
  $("hangup").disabled = ["idle", "ended"].includes(phase);
  $("callback").disabled = !["ivr", "queued"].includes(phase);
  if (!["queued"].includes(phase)) show("queue-panel", false);
}

async function attach(wsUrl) {
  const sig = new Signalling(wsUrl, {
    onEvent: onEvent,
    onClose: (requested) => { if (!requested && sig === app.sig) relocate(null); },
  });
  app.received.push(sig.received);
  await sig.connect(app.token);
  try {
    await phone.connect(sig);
  } catch (err) {
    sig.close();
    throw err;
  }
  if (app.sig && app.sig !== sig) app.sig.close();
  app.sig = sig;
}

async function call(ev) {
  ev.preventDefault();
  phone.prepareAudio();
  const caller = $("caller").value.trim();
  const dialled = $("dialled").value.trim();
  setPhase("calling", `Calling ${dialled}...`);
  try {
    await phone.open();
    const route = await postCentral(app.centrals, "/v1/calls", { caller, dialled });
    app.callId = route.call_id;
    app.token = route.token;
    app.site = route.site;
    await attach(route.ws_url);
  } catch (err) {
    setPhase("ended", "The call could not be made.");
    throw err;
  }
  if (app.phase === "calling") setPhase("ivr", "Connected to the bank. Listen to the menu and use the keypad.");
}

// The site failed, or moved the call away: ask central where the call is now.
async function relocate(avoidSite) {
  if (app.reconnecting || app.phase === "ended") return;
  app.reconnecting = true;
  phone.closePeer();
  phone.prepare(); // the next offer, made while central moves the call
  $("call-state").textContent = "Reconnecting your call...";
  status("The connection was interrupted. Reconnecting your call...");
  const giveUp = Date.now() + RECONNECT_FOR_MS;
  while (app.phase !== "ended") {
    try {
      const answer = await postCentral(app.centrals, `/v1/calls/${encodeURIComponent(app.callId)}/reconnect`, { token: app.token });
      app.token = answer.token;
      if (answer.site === avoidSite) throw new ApiError("call.moving", "your call is being moved; retrying");
      await attach(answer.ws_url);
      app.site = answer.site;
      showError(null);
      if (app.phase === "ivr") $("call-state").textContent = "Connected to the bank again.";
      status(`Reconnected (${answer.site}).`);
      break;
    } catch (err) {
      showError(err);
      if (err.errorId === "call.unknown" || (err.status && err.status < 500 && err.errorId !== "call.moving")) {
        setPhase("ended", "Your call could not be reconnected.");
        break;
      }
      if (Date.now() > giveUp) {
        setPhase("ended", "The bank cannot be reached right now. Please call again later.");
        break;
      }
      await sleep(retryDelayMs(err)); // central waited for the move already
    }
  }
  app.reconnecting = false;
}

function onEvent(name, data) {
  switch (name) {
    case "queued": {
      setPhase("queued", "Waiting for an agent.");
      const wait = data.expected_wait_s === null || data.expected_wait_s === undefined ? "unknown" : seconds(data.expected_wait_s);
      $("queue-info").textContent = `You are number ${data.position} in the queue. Expected wait: ${wait}.`;
      show("queue-panel", true);
      break;
    }
    case "offered":
      status("An agent's phone is ringing for you...");
      break;
    case "connected":
      app.agent = data.agent;
      setPhase("connected", data.transferred ? `Transferred: connected to ${data.agent}.` : `Connected to ${data.agent}.`);
      break;
    case "in_ivr":
      setPhase("ivr", `In the automated service; you will return to ${data.returns_to || "your agent"}.`);
      break;
    case "prompt":
      $("prompt-text").textContent = data.text;
      break;
    case "on_hold":
      setPhase("held", "You are on hold. Please wait.");
      break;
    case "resumed":
      setPhase("connected", `Connected to ${app.agent || "your agent"}.`);
      break;
    case "conference":
      setPhase("connected", "You are in a conference call.");
      break;
    case "moved":
      if (app.sig) app.sig.close();
      relocate(app.site);
      break;
    case "ended":
      if (data.by === "moved") break; // the call goes on at another site
      finish(data.reason === "callback_requested"
        ? "We will call you back. You can close this page."
        : `The call has ended (${data.reason}).`);
      break;
    default:
      break;
  }
}

function finish(text) {
  setPhase("ended", text);
  if (app.sig) app.sig.close();
  phone.closePeer();
}

async function hangup() {
  if (app.sig && app.sig.isOpen) {
    try {
      await app.sig.request({ type: "hangup" }, 3000);
    } finally {
      finish("You hung up.");
    }
  } else {
    finish("You hung up.");
  }
}

async function askCallback() {
  if (!app.sig) throw new ApiError("signalling.closed", "not connected");
  await app.sig.request({ type: "callback" });
}

function press(key) {
  if (!["ivr", "queued", "connected", "held"].includes(app.phase)) {
    showError(new ApiError("client.no_call", "start a call before using the keypad"));
    return;
  }
  phone.sendKey(key);
  app.keysSent += 1;
  $("pad-echo").textContent = `Keys sent: ${"\u2022".repeat(Math.min(app.keysSent, 24))}`;
}

function wire() {
  $("call-form").addEventListener("submit", guarded(call));
  $("hangup").addEventListener("click", guarded(hangup));
  $("callback").addEventListener("click", guarded(askCallback));
  for (const button of $("dialpad").querySelectorAll("button[data-key]")) {
    button.addEventListener("click", () => press(button.dataset.key));
  }
  $("dialpad").addEventListener("keydown", (ev) => {
    if (/^[0-9*#]$/.test(ev.key)) {
      ev.preventDefault();
      press(ev.key);
    }
  });
  const dialled = new URLSearchParams(window.location.search).get("dialled");
  if (dialled) $("dialled").value = dialled;
  if (!app.centrals.length) {
    // Worded for the caller, not for a developer; Call stays off (issue 18, defect 11).
    setPhase("unconfigured", "Calls cannot be made from this page yet.");
    showError(new ApiError("central.not_configured", "this link is missing the bank's address. Please open the calling page from the bank's website or app."));
    return;
  }
  setPhase("idle", "Ready to call.");
}

wire();

// Test hook: what the page hears and every signalling message it received.
window.__cc = {
  dominantFrequency: () => phone.dominantFrequency(),
  level: () => phone.level(),
  received: () => app.received.flat(),
  state: () => ({ phase: app.phase, site: app.site, callId: app.callId, media: phone.connected, reconnecting: app.reconnecting }),
};
