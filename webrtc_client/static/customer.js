// The customer's web call: call the bank, hear the IVR and the agent, use the keypad, see the
// queue, ask for a callback, and keep the call when a site fails.
//
// Central's address comes from ?central=URL[,URL]. Routing: POST /v1/calls. When the socket
// drops or the site says "moved": POST /v1/calls/{id}/reconnect {token} and attach again.

import { ApiError, Signalling, centralUrls, postCentral, retryDelayMs } from "./signalling.js";
import { Phone } from "./phone.js";
import { duration, mountLanguageSwitch, onLanguage, t } from "./i18n.js";
import { $, guarded, show, showError, status } from "./ui.js";

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
  text: null, // [catalogue key, params] of the call line
};
const phone = new Phone($("remote"), { withDtmf: true, onProblem: showError });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// text: [catalogue key, params], kept so a switch of language re-renders it.
function setPhase(phase, [key, params = {}]) {
  app.phase = phase;
  app.text = [key, params];
  const text = t(key, params);
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
  setPhase("calling", ["cust.calling", { number: dialled }]);
  try {
    await phone.open();
    const route = await postCentral(app.centrals, "/v1/calls", { caller, dialled });
    app.callId = route.call_id;
    app.token = route.token;
    app.site = route.site;
    await attach(route.ws_url);
  } catch (err) {
    setPhase("ended", ["cust.failed"]);
    throw err;
  }
  if (app.phase === "calling") setPhase("ivr", ["cust.inIvrMenu"]);
}

// The site failed, or moved the call away: ask central where the call is now.
async function relocate(avoidSite) {
  if (app.reconnecting || app.phase === "ended") return;
  app.reconnecting = true;
  phone.closePeer();
  phone.prepare(); // the next offer, made while central moves the call
  $("call-state").textContent = t("cust.reconnecting");
  status(t("cust.interrupted"));
  const giveUp = Date.now() + RECONNECT_FOR_MS;
  while (app.phase !== "ended") {
    try {
      const answer = await postCentral(app.centrals, `/v1/calls/${encodeURIComponent(app.callId)}/reconnect`, { token: app.token });
      app.token = answer.token;
      if (answer.site === avoidSite) throw new ApiError("call.moving", "your call is being moved; retrying");
      await attach(answer.ws_url);
      app.site = answer.site;
      showError(null);
      if (app.phase === "ivr") $("call-state").textContent = t("cust.connectedAgain");
      status(t("cust.reconnected", { site: answer.site }));
      break;
    } catch (err) {
      showError(err);
      if (err.errorId === "call.unknown" || (err.status && err.status < 500 && err.errorId !== "call.moving")) {
        setPhase("ended", ["cust.notReconnected"]);
        break;
      }
      if (Date.now() > giveUp) {
        setPhase("ended", ["cust.unreachable"]);
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
      setPhase("queued", ["cust.queued"]);
      $("queue-info").textContent = t("cust.position", { position: data.position, wait: duration(data.expected_wait_s) });
      show("queue-panel", true);
      break;
    }
    case "offered":
      status(t("cust.ringing"));
      break;
    case "connected":
      app.agent = data.agent;
      setPhase("connected", [data.transferred ? "cust.transferredTo" : "cust.connectedTo", { agent: data.agent }]);
      break;
    case "in_ivr":
      setPhase("ivr", ["cust.inIvr", { who: data.returns_to || t("cust.yourAgent") }]);
      break;
    case "prompt":
      $("prompt-text").textContent = data.text;
      break;
    case "on_hold":
      setPhase("held", ["cust.onHold"]);
      break;
    case "resumed":
      setPhase("connected", ["cust.connectedTo", { agent: app.agent || t("cust.yourAgent") }]);
      break;
    case "conference":
      setPhase("connected", ["cust.conference"]);
      break;
    case "moved":
      if (app.sig) app.sig.close();
      relocate(app.site);
      break;
    case "ended":
      if (data.by === "moved") break; // the call goes on at another site
      finish(data.reason === "callback_requested" ? ["cust.callbackDone"] : ["cust.ended", { reason: data.reason }]);
      break;
    default:
      break;
  }
}

function finish(text) {
  setPhase("ended", text); // [key, params]
  if (app.sig) app.sig.close();
  phone.closePeer();
}

async function hangup() {
  if (app.sig && app.sig.isOpen) {
    try {
      await app.sig.request({ type: "hangup" }, 3000);
    } finally {
      finish(["cust.hungUp"]);
    }
  } else {
    finish(["cust.hungUp"]);
  }
}

async function askCallback() {
  if (!app.sig) throw new ApiError("signalling.closed", "not connected");
  await app.sig.request({ type: "callback" });
}

function press(key) {
  if (!["ivr", "queued", "connected", "held"].includes(app.phase)) {
    showError(new ApiError("client.no_call", t("cust.startFirst")));
    return;
  }
  phone.sendKey(key);
  app.keysSent += 1;
  $("pad-echo").textContent = t("cust.keysSent", { dots: "\u2022".repeat(Math.min(app.keysSent, 24)) });
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
    setPhase("unconfigured", ["cust.unconfigured"]);
    showError(new ApiError("central.not_configured", t("cust.noCentral")));
    return;
  }
  setPhase("idle", ["cust.readyToCall"]);
}

mountLanguageSwitch($("lang-box"));
onLanguage(() => {
  if (app.text) setPhase(app.phase, app.text);
  if (app.keysSent) $("pad-echo").textContent = t("cust.keysSent", { dots: "\u2022".repeat(Math.min(app.keysSent, 24)) });
});
wire();

// Test hook: what the page hears and every signalling message it received.
window.__cc = {
  dominantFrequency: () => phone.dominantFrequency(),
  level: () => phone.level(),
  received: () => app.received.flat(),
  state: () => ({ phase: app.phase, site: app.site, callId: app.callId, media: phone.connected, reconnecting: app.reconnecting }),
};
