// The agent desktop: log in, states with reason codes, softphone, screen pop, wrap-up.
//
// The page is served by a site node and logs in there (POST /v1/agents/login). When the
// site's socket drops, it asks central (?central=URL[,URL]) where to continue
// (POST /v1/agents/reattach with its token) and re-attaches there without a password.
// A reload (or a crashed tab) resumes from sessionStorage: the same token joins again, the
// softphone re-offers and the site moves the call onto it (desk/session.js).
//
// Texts come from desk/status.js (derived from the state), timers from desk/timers.js (the
// site's figures), panels from desk/panels.js (a feature registers its own), keys from
// desk/hotkeys.js.

import { ApiError, Signalling, centralUrls, postCentral, retryDelayMs, postJson } from "./signalling.js";
import { Phone } from "./phone.js";
import { renderPop } from "./screenpop.js";
import { loadCodes } from "./desk/codes.js";
import { installHotkeys, loadHotkeys } from "./desk/hotkeys.js";
import { mountPanels, registerPanel, updatePanels } from "./desk/panels.js";
import { clearSession, loadSession, saveSession } from "./desk/session.js";
import { callText, stateLabel, statusText, verifiedText } from "./desk/status.js";
import { DeskTimers, clock } from "./desk/timers.js";
import { showSupervisorMessage } from "./supervisor_message.js";
import { duration, mountLanguageSwitch, onLanguage, t, translate } from "./i18n.js";
import "./desk/queue_stats.js";
import { $, el, guarded, logLine, show, showError, status } from "./ui.js";

const app = {
  centrals: centralUrls(),
  phase: "login",
  notice: null,
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
  answering: false,
  leaving: false,
  reattaching: false,
  received: [],
  pop: null, // { pop, data }: what the screen pop shows (masked), kept for a reload
  stats: null, // the site's desk_stats (queues of my skills, my day), with its arrival time
};
const phone = new Phone($("remote"), { onProblem: showError });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const timers = new DeskTimers((value) => (value === undefined ? (loadSession() || {}).call : saveSession({ call: value })));
let ticker = null;

// A notice is a catalogue key (and its parameters), so it follows a switch of language.
function notice(key, params = {}, state = app.state ? app.state.state : null) {
  app.notice = { key, params, state };
}

function showPop(pop, data) {
  app.pop = { pop, data };
  renderPop($("screen-pop"), pop, data);
  saveSession({ pop: app.pop });
}

function clearPop() {
  app.pop = null;
  $("screen-pop").replaceChildren();
  saveSession({ pop: null });
}

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
  app.phase = "logging_in";
  app.notice = null;
  render();
  try {
    const answer = await postJson(`${window.location.origin}/v1/agents/login`, {
      agent_id: agentId,
      password: $("password").value,
    });
    $("password").value = "";
    await enter(answer.token, answer.agent, answer.ws_url || null);
    logLine("logged in");
  } catch (err) {
    clearSession();
    app.phase = "login";
    notice("notice.loginFailed", {}, null);
    render();
    throw err;
  }
}

// Into the desk with a token: after a login, or after a reload (resume()).
async function enter(token, profile, wsUrl) {
  app.token = token;
  app.profile = profile;
  app.leaving = false;
  saveSession({ token, profile, wsUrl });
  await phone.open();
  await attach(wsUrl || `${window.location.origin.replace(/^http/, "ws")}/ws`);
  app.phase = "desk";
  show("login-panel", false);
  show("desk", true);
  $("agent-name").textContent = `${profile.name} (${profile.id})`;
  await loadCodes(window.location.origin); // the administered code lists (issue 19)
  if (!ticker) ticker = setInterval(renderTimers, 1000);
  if (!app.centrals.length) {
    notice("notice.noCentral");
  }
  render();
}

async function resume(saved) {
  app.phase = "resuming";
  render();
  try {
    if (saved.pop) showPop(saved.pop.pop, saved.pop.data);
    await enter(saved.token, saved.profile, saved.wsUrl);
    logLine("session restored after a reload");
  } catch (err) {
    clearPop();
    clearSession();
    app.phase = "login";
    notice("notice.sessionEnded", {}, null);
    render();
    showError(err);
  }
}

async function lost() {
  if (app.leaving || app.reattaching) return;
  app.reattaching = true;
  phone.closePeer();
  phone.prepare(); // the next offer, made while central moves the call
  render();
  logLine("site connection lost");
  while (!app.leaving) {
    try {
      const answer = await postCentral(app.centrals, "/v1/agents/reattach", { token: app.token });
      app.token = answer.token;
      if (!answer.ws_url) throw new ApiError("route.no_site", "no site to re-attach to yet; retrying");
      await attach(answer.ws_url);
      saveSession({ token: app.token, wsUrl: answer.ws_url });
      showError(null);
      logLine(`re-attached at ${answer.site}`);
      break;
    } catch (err) {
      showError(err);
      if (err.status === 401 || err.status === 403 || String(err.errorId).startsWith("token.")) {
        backToLogin();
        notice("notice.sessionEnded", {}, null);
        break;
      }
      await sleep(retryDelayMs(err)); // central waited for the move already
    }
  }
  app.reattaching = false;
  render();
}

function backToLogin() {
  app.leaving = true;
  app.phase = "login";
  if (app.sig) app.sig.close();
  phone.close();
  clearRing();
  clearPop();
  clearSession(); // last: clearing the pop writes the session
  clearInterval(ticker);
  ticker = null;
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
      notice("notice.missed", {}, "not_ready");
      break;
    case "connected":
      clearRing();
      app.callId = data.call_id;
      app.consulting = null;
      app.inIvr = false;
      if (!app.pop) showPop(null, data.data);
      logLine("call connected");
      break;
    case "consulted":
      app.callId = data.call_id;
      app.verified = data.screen_pop ? data.screen_pop.verified ?? null : null;
      showPop(data.screen_pop || null, data.data); // the full pop the first agent got (masked)
      logLine(`consultation from ${data.by}`);
      notice("notice.consulted", { who: data.by }, "on_call");
      break;
    case "call_ended":
      if (data.call_id === app.callId) app.callId = null;
      app.consulting = null;
      app.inIvr = false;
      logLine(`call ended (${data.by})`);
      break;
    case "ivr_started":
      app.inIvr = true;
      logLine("caller is in the IVR");
      break;
    case "ivr_result":
      app.inIvr = false;
      app.verified = Boolean(data.verified);
      if (data.locked) {
        logLine("verification: locked (too many wrong PINs)");
        notice("notice.pinLocked");
      } else {
        logLine(`verification: ${verifiedText(app.verified)}`);
      }
      break;
    case "desk_stats":
      app.stats = { ...data, at: performance.now() }; // durations anchored on arrival
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
  const before = app.state ? app.state.state : null;
  if (before !== agent.state) {
    showError(null); // an error about the state we left (e.g. "not ringing for you") is stale
    if (app.notice && app.notice.state !== agent.state) app.notice = null;
  }
  app.state = agent;
  app.site = agent.site || app.site;
  const talking = (agent.call_ids || []).filter((c) => c !== agent.ringing_call_id);
  if (talking.length && !app.callId) app.callId = talking[talking.length - 1];
  if (!talking.length && agent.state !== "after_call_work") app.callId = null;
  if (!agent.ringing_call_id) clearRing();
  timers.onState(agent, app.callId, performance.now());
  if (agent.ring_left_s !== null && agent.ring_left_s !== undefined && app.ring) {
    app.ring.deadline = performance.now() + 1000 * agent.ring_left_s;
  }
  if (agent.state === "logged_out") {
    backToLogin();
    notice("notice.loggedOut", {}, null);
  }
  render();
}

function startRing(data) {
  clearRing();
  const pop = data.screen_pop || {};
  app.verified = null;
  app.answering = false;
  const who = pop.customer ? pop.customer.name : pop.caller_number || t("desk.unknownCaller");
  const deadline = performance.now() + 1000 * (data.ring_timeout_s || 15);
  app.ring = { callId: data.call_id, who, pop, deadline };
  showPop(pop, null);
  logLine(`ringing: ${who}`);
  render();
  $("answer").focus();
}

function clearRing() {
  app.ring = null;
}

// Once a second: the timers (no state changes here).
function renderTimers() {
  const now = performance.now();
  const v = timers.view(now);
  const s = app.state ? app.state.state : "logged_out";
  $("time-in-state").textContent = clock(v.inState);
  $("talk-time").textContent = clock(v.talk);
  $("hold-time").textContent = clock(v.hold);
  const total = clock(v.holdTotal);
  $("hold-total").textContent = !v.holds ? clock(null) : t(v.holds > 1 ? "desk.holds" : "desk.hold1", { time: total, n: v.holds });
  $("wrap-left").textContent = v.wrapLeft === null ? t("desk.noLimit") : t("desk.sec", { n: v.wrapLeft });
  for (const item of $("timers").querySelectorAll("[data-when]")) {
    const when = item.dataset.when;
    item.hidden = !(when === "call" ? v.talk !== null : s === "after_call_work");
  }
  $("wrap-info").textContent = v.wrapLeft === null ? "" : t("desk.wrapInfo", { n: v.wrapLeft });
  if (app.ring) {
    const left = Math.max(0, Math.ceil((app.ring.deadline - now) / 1000));
    const { who, pop } = app.ring;
    $("ring-info").textContent = t("desk.ringInfo", { who, queue: pop.queue || "?", waited: duration(pop.waited_s), n: left });
  }
}

// ---- what is shown and enabled ----------------------------------------------------------------
function render() {
  const s = app.state ? app.state.state : "logged_out";
  status(statusText({
    phase: app.phase, state: s, reason: app.state && app.state.reason, ringFrom: app.ring && app.ring.who,
    reattaching: app.reattaching, consulting: app.consulting, inIvr: app.inIvr, verified: app.verified,
    notice: app.notice,
  }));
  $("login").disabled = app.phase !== "login";
  $("agent-state").textContent = stateLabel(s);
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
  $("answer").disabled = !app.ring || app.answering;
  $("call-state").textContent = onCall ? callText({ state: s, consulting: app.consulting, inIvr: app.inIvr }) : "";
  $("verified").textContent = app.verified === null ? "" : t("verified.line", { v: verifiedText(app.verified) });
  const popVerified = $("pop-verified");
  if (popVerified && app.verified !== null) popVerified.textContent = verifiedText(app.verified);
  $("hold").disabled = s !== "on_call" || Boolean(app.consulting);
  $("resume").disabled = s !== "on_hold" || Boolean(app.consulting) || app.inIvr;
  $("consult-complete").disabled = !app.consulting;
  $("consult-cancel").disabled = !app.consulting;
  $("conference").disabled = !app.consulting;
  $("mute").textContent = phone.muted ? t("desk.unmute") : t("desk.mute");
  $("mute").setAttribute("aria-pressed", String(phone.muted));
  if (ticker) renderTimers();
  updatePanels({ state: s, callId: app.callId, pop: app.pop, stats: app.stats });
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
  bind("answer", async () => {
    if (!app.ring || app.answering) return; // a double click answers once
    app.answering = true;
    try {
      await command({ type: "answer_call", call_id: app.ring.callId }, "answered");
    } finally {
      app.answering = false;
    }
  });
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
    clearPop();
    app.verified = null;
    render();
  }));
  const agentParam = new URLSearchParams(window.location.search).get("agent");
  if (agentParam) $("agent-id").value = agentParam;
  installHotkeys(loadHotkeys(), $("help-dialog"));
}

// The activity list is a panel like any other (desk/panels.js).
registerPanel({ id: "activity", title: "Activity", titleKey: "desk.activity", order: 90, render: (body) => body.append(
  el("ol", { id: "log", class: "log", tabindex: 0, "aria-labelledby": "activity-title" })) }); // scrollable: reachable by keyboard
mountPanels($("panels"));
mountLanguageSwitch($("lang-box"));
onLanguage(() => {
  if (app.pop) renderPop($("screen-pop"), app.pop.pop, app.pop.data);
  render();
});
translate();
wire();
render();
const saved = loadSession();
if (saved && saved.token && saved.profile) guarded(() => resume(saved))();

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
