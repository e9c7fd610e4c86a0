// The agent desktop: log in, states with reason codes, softphone, screen pop, wrap-up.
//
// The page is served by a site node and logs in there (POST /v1/agents/login). When the
// site's socket drops, it asks central (?central=URL[,URL]) where to continue
// (POST /v1/agents/reattach with its token) and re-attaches there without a password.

import { ApiError, Signalling, centralUrls, postCentral, retryDelayMs, postJson } from "./signalling.js";
import { Phone } from "./phone.js";
import { renderPop } from "./screenpop.js";
import { showSupervisorMessage } from "./supervisor_message.js";
import { $, guarded, logLine, seconds, show, showError, status } from "./ui.js";

const STATE_LABELS = {
  logged_out: "Logged out",
  not_ready: "Not ready",
  ready: "Ready",
  reserved: "Ringing",
  on_call: "On a call",
  on_hold: "Call on hold",
  after_call_work: "After-call work",
};

const app = {
  centrals: centralUrls(),
  token: null,
  profile: null,
  sig: null,
  site: null,
  state: null,
  callId: null,
  ring: null,
  consulting: null,
  inIvr: false,
  verified: null,
  leaving: false,
  reattaching: false,
  received: [],
};
const phone = new Phone($("remote"), { onProblem: showError });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- attach to a site ---------------------------------------------------------------------
async function attach(wsUrl) {
  const sig = new Signalling(wsUrl, {
    onEvent: onEvent,
    onClose: (requested) => { if (!requested && sig === app.sig) lost(); },
  });
  app.received.push(sig.received);
  const joined = await sig.connect(app.token);
  applyState(joined.agent); // events that follow (during the offer) are newer than this
  try {
    await phone.connect(sig);
  } catch (err) {
    sig.close();
    throw err;
  }
  if (app.sig && app.sig !== sig) app.sig.close();
  app.sig = sig;
}

async function login(ev) {
  ev.preventDefault();
  phone.prepareAudio();
  const agentId = $("agent-id").value.trim();
  status("Logging in...");
  const answer = await postJson(`${window.location.origin}/v1/agents/login`, {
    agent_id: agentId,
    password: $("password").value,
  });
  $("password").value = "";
  app.token = answer.token;
  app.profile = answer.agent;
  app.leaving = false;
  await phone.open();
  const wsUrl = `${window.location.origin.replace(/^http/, "ws")}/ws`;
  await attach(wsUrl);
  show("login-panel", false);
  show("desk", true);
  $("agent-name").textContent = `${answer.agent.name} (${answer.agent.id})`;
  status(`Logged in as ${answer.agent.name}. You are not ready yet.`);
  logLine("logged in");
  if (!app.centrals.length) {
    showError(new ApiError("central.not_configured", "no ?central= address: this desk cannot re-attach if its site fails"));
  }
}

async function lost() {
  if (app.leaving || app.reattaching) return;
  app.reattaching = true;
  phone.closePeer();
  phone.prepare(); // the next offer, made while central moves the call
  status("The connection to the site was lost. Re-attaching at a backup site...");
  logLine("site connection lost");
  while (!app.leaving) {
    try {
      const answer = await postCentral(app.centrals, "/v1/agents/reattach", { token: app.token });
      app.token = answer.token;
      if (!answer.ws_url) throw new ApiError("route.no_site", "no site to re-attach to yet; retrying");
      await attach(answer.ws_url);
      showError(null);
      status(`Re-attached at ${answer.site}.`);
      logLine(`re-attached at ${answer.site}`);
      break;
    } catch (err) {
      showError(err);
      if (err.status === 401 || err.status === 403 || String(err.errorId).startsWith("token.")) {
        status("Your session ended. Please log in again.");
        backToLogin();
        break;
      }
      await sleep(retryDelayMs(err)); // central waited for the move already
    }
  }
  app.reattaching = false;
}

function backToLogin() {
  app.leaving = true;
  if (app.sig) app.sig.close();
  phone.close();
  clearRing();
  app.callId = null;
  show("desk", false);
  show("login-panel", true);
}

// ---- events from the site -------------------------------------------------------------------
function onEvent(name, data) {
  switch (name) {
    case "agent_state":
      applyState(data);
      break;
    case "ringing":
      startRing(data);
      break;
    case "missed":
      clearRing();
      logLine("missed a call (not answered in time)");
      status("You missed a call. You are now not ready.");
      break;
    case "connected":
      clearRing();
      app.callId = data.call_id;
      app.consulting = null;
      app.inIvr = false;
      if ($("screen-pop").childElementCount === 0) renderPop($("screen-pop"), null, data.data);
      logLine("call connected");
      status("Call connected.");
      break;
    case "consulted":
      app.callId = data.call_id;
      renderPop($("screen-pop"), null, data.data);
      logLine(`consultation from ${data.by}`);
      status(`${data.by} is consulting you; the caller is on hold.`);
      break;
    case "call_ended":
      if (data.call_id === app.callId) app.callId = null;
      app.consulting = null;
      app.inIvr = false;
      logLine(`call ended (${data.by})`);
      status("The call ended.");
      break;
    case "ivr_started":
      app.inIvr = true;
      logLine("caller is in the IVR");
      status("The caller is entering their PIN in the IVR. You cannot hear it.");
      break;
    case "ivr_result":
      app.inIvr = false;
      app.verified = Boolean(data.verified);
      if (data.locked) {
        logLine("verification: locked (too many wrong PINs)");
        status("The caller is back. Not verified: the PIN is locked after too many failures; a team leader can unlock it.");
      } else {
        logLine(`verification: ${app.verified ? "yes" : "no"}`);
        status(`The caller is back. Verified: ${app.verified ? "yes" : "no"}.`);
      }
      break;
    case "supervisor_message":
      showSupervisorMessage(data);
      logLine(`message from ${data.from}`);
      break;
    default:
      logLine(`event ${name}`);
  }
  render();
}

function applyState(agent) {
  if (!agent) return;
  app.state = agent;
  app.site = agent.site || app.site;
  const talking = (agent.call_ids || []).filter((c) => c !== agent.ringing_call_id);
  if (talking.length && !app.callId) app.callId = talking[talking.length - 1];
  if (!talking.length && agent.state !== "after_call_work") app.callId = null;
  if (!agent.ringing_call_id) clearRing();
  if (agent.state === "logged_out") {
    backToLogin();
    status("Logged out.");
  }
  render();
}

function startRing(data) {
  clearRing();
  const deadline = Date.now() + 1000 * (data.ring_timeout_s || 15);
  const pop = data.screen_pop || {};
  app.verified = null;
  const who = pop.customer ? pop.customer.name : pop.caller_number || "unknown caller";
  const tick = () => {
    const left = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
    $("ring-info").textContent = `${who} - queue ${pop.queue || "?"}, waited ${seconds(pop.waited_s)}. Answer within ${left} s.`;
  };
  app.ring = { callId: data.call_id, timer: setInterval(tick, 1000) };
  tick();
  renderPop($("screen-pop"), pop, null);
  logLine(`ringing: ${who}`);
  status(`Incoming call from ${who}.`);
  render();
  $("answer").focus();
}

function clearRing() {
  if (app.ring) clearInterval(app.ring.timer);
  app.ring = null;
}

// ---- what is shown and enabled ----------------------------------------------------------------
function render() {
  const s = app.state ? app.state.state : "logged_out";
  $("agent-state").textContent = STATE_LABELS[s] || s;
  $("agent-reason").textContent = app.state && app.state.reason && s === "not_ready" ? `(${app.state.reason})` : "";
  $("agent-site").textContent = app.site || "-";
  $("ready").disabled = s !== "not_ready";
  $("not-ready").disabled = !["ready", "not_ready"].includes(s);
  $("logout").disabled = !["ready", "not_ready"].includes(s);
  show("ring-panel", Boolean(app.ring));
  const onCall = ["on_call", "on_hold"].includes(s) && Boolean(app.callId);
  show("call-panel", onCall);
  show("wrap-panel", s === "after_call_work");
  const busy = Boolean(app.ring) || ["reserved", "on_call", "on_hold", "after_call_work"].includes(s);
  show("pop-panel", busy && $("screen-pop").childElementCount > 0);
  let callState = s === "on_hold" ? "On hold" : "Talking";
  if (app.consulting) callState = `Consulting ${app.consulting} (caller on hold)`;
  if (app.inIvr) callState = "Caller in the IVR";
  $("call-state").textContent = onCall ? callState : "";
  $("verified").textContent = app.verified === null ? "" : `Verified: ${app.verified ? "yes" : "no"}`;
  $("hold").disabled = s !== "on_call" || Boolean(app.consulting);
  $("resume").disabled = s !== "on_hold" || Boolean(app.consulting) || app.inIvr;
  $("consult-complete").disabled = !app.consulting;
  $("consult-cancel").disabled = !app.consulting;
  $("conference").disabled = !app.consulting;
  $("mute").textContent = phone.muted ? "Unmute" : "Mute";
  $("mute").setAttribute("aria-pressed", String(phone.muted));
}

// ---- commands ----------------------------------------------------------------------------------
async function command(message, label) {
  if (!app.sig) throw new ApiError("signalling.closed", "not connected to a site");
  await app.sig.request(message);
  if (label) logLine(label);
}

function bind(id, action) {
  $(id).addEventListener("click", guarded(async () => { await action(); render(); }));
}

function target(id) {
  const value = $(id).value.trim();
  if (!value) throw new ApiError("client.no_target", "enter who or where to transfer to");
  return value;
}

function wire() {
  $("login-form").addEventListener("submit", guarded(login));
  bind("ready", () => command({ type: "agent_state", state: "ready" }, "ready"));
  bind("not-ready", () => {
    const reason = $("not-ready-reason").value;
    return command({ type: "agent_state", state: "not_ready", reason }, `not ready (${reason})`);
  });
  bind("logout", async () => {
    app.leaving = true;
    await command({ type: "agent_state", state: "logout" }, "logged out");
  });
  bind("answer", () => command({ type: "answer_call", call_id: app.ring.callId }, "answered"));
  bind("decline", () => command({ type: "decline", call_id: app.ring.callId }, "declined"));
  bind("hangup", () => command({ type: "hangup" }, "hung up"));
  bind("mute", () => { phone.muted = !phone.muted; logLine(phone.muted ? "muted" : "unmuted"); });
  bind("hold", () => command({ type: "hold" }, "hold"));
  bind("resume", () => command({ type: "resume" }, "resumed"));
  bind("verify-pin", async () => {
    await command({ type: "transfer", target: "pin_verify", target_kind: "ivr_return" }, "sent the caller to PIN entry");
    app.inIvr = true;
    app.verified = null;
  });
  bind("transfer", async () => {
    const kind = $("transfer-kind").value;
    const to = target("transfer-target");
    await command({ type: "transfer", target: to, target_kind: kind }, `transferred to ${kind} ${to}`);
  });
  bind("consult", async () => {
    const to = target("consult-target");
    await command({ type: "consult", target: to }, `consulting ${to}`);
    app.consulting = to;
  });
  bind("consult-complete", async () => {
    await command({ type: "consult_complete" }, "consult transfer completed");
    app.consulting = null;
  });
  bind("consult-cancel", async () => {
    await command({ type: "consult_cancel" }, "consult cancelled");
    app.consulting = null;
  });
  bind("conference", async () => {
    await command({ type: "conference" }, "conference");
    app.consulting = null;
  });
  $("wrap-form").addEventListener("submit", guarded(async (ev) => {
    ev.preventDefault();
    const code = $("wrap-code").value;
    await command({ type: "wrap_up", code, notes: $("wrap-notes").value, end: true }, `wrap-up: ${code}`);
    $("wrap-notes").value = "";
    $("screen-pop").replaceChildren();
    app.verified = null;
    render();
  }));
  const agentParam = new URLSearchParams(window.location.search).get("agent");
  if (agentParam) $("agent-id").value = agentParam;
}

wire();
render();

// Test hook: what the page hears and every signalling message it received.
window.__cc = {
  dominantFrequency: () => phone.dominantFrequency(),
  level: () => phone.level(),
  received: () => app.received.flat(),
  state: () => ({
    agent: app.state ? app.state.state : "logged_out",
    site: app.site,
    callId: app.callId,
    media: phone.connected,
    reattaching: app.reattaching,
  }),
};
