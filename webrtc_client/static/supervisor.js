// The supervisor console (issue 19): a team leader's team (a manager's whole site) live.
//
// Logs in like the desktop (POST /v1/agents/login), then reads GET /v1/supervisor/stream
// (server-sent events, pushed on every change) and acts with one click per agent: force not
// ready with the chosen reason, send the typed message, listen / whisper / barge on the call.
// Taps use the console's own softphone: a supervisor token (POST /v1/supervisor/media_token)
// joins the site's socket as a supervisor with its own WebRTC leg; the site checks the team,
// audits the tap and mixes the media. The agent desktop keeps working as it is.
//
// Opened with ?central=URL[,URL], the Site filter also offers every site (or one other site):
// the console then reads central's merged snapshot (GET /v1/supervisor/snapshot at central,
// once a second); actions stay with the agents of the site that served the page.

import { ApiError, Signalling, centralUrls, postJson } from "./signalling.js";
import { Phone } from "./phone.js";
import { EventStream } from "./sse.js";
import { $, el, guarded, logLine, seconds, show, showError, status } from "./ui.js";

const STATE_LABELS = {
  logged_out: "Logged out",
  not_ready: "Not ready",
  ready: "Ready",
  reserved: "Ringing",
  on_call: "On a call",
  on_hold: "Call on hold",
  after_call_work: "After-call work",
};
const TAPS = [["listen", "Listen"], ["whisper", "Whisper"], ["barge", "Barge"]];

const app = {
  token: null, me: null, stream: null, poll: null, view: null, sig: null, tap: null, updates: 0,
  centrals: centralUrls(), localSite: null,
};
const POLL_MS = 1000;
const phone = new Phone($("remote"), { onProblem: showError });
const origin = window.location.origin;

async function request(method, path, body, base = origin) {
  const response = await fetch(base + path, {
    method,
    headers: { Authorization: `Bearer ${app.token}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = {};
  try { data = await response.json(); } catch (_) { data = {}; }
  if (!response.ok) throw new ApiError(data.error_id || `http.${response.status}`, data.message || response.statusText, response.status);
  return data;
}

// ---- log in, then the live view -----------------------------------------------------------
async function login(ev) {
  ev.preventDefault();
  phone.prepareAudio();
  status("Logging in...");
  const answer = await postJson(`${origin}/v1/agents/login`, { agent_id: $("agent-id").value.trim(), password: $("password").value });
  $("password").value = "";
  app.token = answer.token;
  app.me = answer.agent;
  try {
    const first = await request("GET", "/v1/supervisor/snapshot"); // refused here for a plain agent
    app.localSite = first.site;
    render(first);
  } catch (err) {
    app.token = null;
    status("This page is for team leaders and managers.");
    throw err;
  }
  show("login-panel", false);
  show("console", true);
  status(`Supervising as ${answer.agent.name} (${answer.agent.role}).`);
  logLine("logged in");
  restartStream();
  connectSoftphone().catch(showError); // the view works without it; taps need it
}

function filters() {
  const query = new URLSearchParams();
  if ($("team-filter").value) query.set("team", $("team-filter").value);
  if ($("queue-filter").value) query.set("queue", $("queue-filter").value);
  return query;
}

function restartStream() {
  if (app.stream) app.stream.stop();
  app.stream = null;
  clearTimeout(app.poll);
  app.poll = null;
  const site = $("site-filter").value;
  if (site) {
    pollCentral(site === "*" ? "" : site);
    return;
  }
  const query = filters();
  app.stream = new EventStream(`${origin}/v1/supervisor/stream?${query}`, app.token, {
    onData: (view) => { app.updates += 1; render(view); },
    onProblem: showError,
  });
  app.stream.start();
}

// Central's merged view of every site (or one), read once a second from the first central that answers.
async function pollCentral(site) {
  const query = filters();
  if (site) query.set("site", site);
  let last = null;
  for (const url of app.centrals) {
    try {
      const view = await request("GET", `/v1/supervisor/snapshot?${query}`, undefined, url);
      if ($("site-filter").value !== (site || "*")) return; // the filter changed meanwhile
      app.updates += 1;
      render(view);
      if (view.unavailable && view.unavailable.length) {
        showError(new ApiError("site.unavailable", `no answer from ${view.unavailable.join(", ")}`));
      }
      last = null;
      break;
    } catch (err) {
      last = err;
      if (err.status && err.status < 500) break;
    }
  }
  if (last) showError(last);
  if ($("site-filter").value === (site || "*")) app.poll = setTimeout(() => pollCentral(site), POLL_MS);
}

async function connectSoftphone() {
  const { token } = await request("POST", "/v1/supervisor/media_token", {});
  await phone.open();
  const sig = new Signalling(`${origin.replace(/^http/, "ws")}/ws`, {
    onEvent: (name) => logLine(`event ${name}`),
    onClose: (requested) => {
      if (requested || sig !== app.sig) return;
      app.sig = null;
      app.tap = null;
      renderTap();
      showError(new ApiError("signalling.closed", "the console's softphone lost the site; log in again to listen in"));
    },
  });
  await sig.connect(token);
  await phone.connect(sig);
  app.sig = sig;
  renderTap();
  logLine("softphone connected");
}

// ---- what is shown -------------------------------------------------------------------------
function render(view) {
  app.view = view;
  $("site-name").textContent = view.site ? `at ${view.site}` : `at ${(view.sites || []).join(", ") || "no site"}`;
  if (app.centrals.length) {
    const sites = view.sites || [view.site];
    fillOptions("site-filter", ["*", ...sites.filter((s) => s !== app.localSite)], "This site (live)", { "*": "Every site" });
  }
  fillOptions("team-filter", [...new Set(view.agents.map((a) => a.team).filter(Boolean))], "All my agents");
  fillOptions("queue-filter", Object.entries(view.queues).map(([key, q]) => q.queue || key), "All queues");
  $("agents").tBodies[0].replaceChildren(...view.agents.map(agentRow));
  $("queues").tBodies[0].replaceChildren(...Object.entries(view.queues).map(queueRow));
  if (app.tap && !$("site-filter").value && !view.agents.some((a) => a.call && a.call.call_id === app.tap.callId)) {
    app.tap = null; // the call ended: the site removed the tap with it
    renderTap();
  }
}

function fillOptions(id, values, allLabel, labels = {}) {
  const select = $(id);
  const current = select.value;
  const known = [...select.options].map((o) => o.value).slice(1);
  const wanted = [...new Set([...known, ...values])].sort();
  if (wanted.join() === known.join()) return;
  select.replaceChildren(el("option", { value: "" }, allLabel), ...wanted.map((v) => el("option", { value: v }, labels[v] || v)));
  select.value = current;
}

function callText(call) {
  if (!call) return "-";
  const hold = call.on_hold_s !== null && call.on_hold_s !== undefined ? `, on hold ${seconds(call.on_hold_s)}` : "";
  return `${call.caller || "unknown"} - ${call.queue || "?"} - ${seconds(call.duration_s)}${hold}`;
}

function agentRow(agent) {
  const tapped = app.tap && agent.call && app.tap.callId === agent.call.call_id;
  const state = STATE_LABELS[agent.state] || agent.state;
  const actions = el("td", { class: "actions" });
  const talking = agent.call && ["on_call", "on_hold"].includes(agent.state);
  const here = !agent.site || agent.site === app.localSite; // actions go to the site serving this page
  for (const [mode, label] of TAPS) {
    const button = el("button", {
      type: "button", "aria-label": `${label} ${agent.agent_id}`, disabled: !talking || !app.sig || !here,
      "aria-pressed": tapped && app.tap.mode === mode ? "true" : "false",
    }, label);
    button.addEventListener("click", guarded(() => tap(agent, mode)));
    actions.append(button);
  }
  const notReady = el("button", { type: "button", "aria-label": `Not ready ${agent.agent_id}`, disabled: agent.state === "logged_out" || !here }, "Not ready");
  notReady.addEventListener("click", guarded(() => forceNotReady(agent)));
  const message = el("button", { type: "button", "aria-label": `Message ${agent.agent_id}`, disabled: !here }, "Message");
  message.addEventListener("click", guarded(() => sendMessage(agent)));
  actions.append(notReady, message);
  const skills = Object.entries(agent.skills || {}).map(([s, level]) => `${s} ${level}`).join(", ");
  return el(
    "tr",
    { class: `state-${agent.state}${tapped ? " tapped" : ""}`, "data-agent": agent.agent_id },
    el("td", {}, `${agent.name} (${agent.agent_id})`, here ? "" : el("br"), here ? "" : `at ${agent.site}`),
    el("td", {}, agent.team || "-"),
    el("td", { class: "state" }, state, agent.reason && agent.state === "not_ready" ? ` (${agent.reason})` : ""),
    el("td", {}, seconds(agent.in_state_s)),
    el("td", { class: "call" }, callText(agent.call)),
    el("td", {}, skills || "-"),
    actions,
  );
}

function queueRow([key, q]) {
  const name = q.site && q.site !== app.localSite ? `${q.queue} at ${q.site}` : q.queue || key;
  const sl = typeof q.service_level === "number" ? `${Math.round(q.service_level * 100)} %` : "-";
  return el(
    "tr", { "data-queue": name },
    el("td", {}, name), el("td", {}, q.skill || "-"), el("td", { class: "waiting" }, q.waiting ?? 0),
    el("td", {}, seconds(q.longest_wait_s)), el("td", {}, q.ready ?? 0), el("td", {}, q.staffed ?? 0),
    el("td", {}, sl), el("td", {}, seconds(q.expected_wait_s)),
  );
}

function renderTap() {
  $("tap-state").textContent = app.tap ? `${app.tap.mode} on ${app.tap.agentId}'s call` : "no";
  $("media-state").textContent = app.sig ? "(softphone connected)" : "(softphone not connected)";
  if (app.view) render(app.view);
}

// ---- one-click actions ---------------------------------------------------------------------
async function tap(agent, mode) {
  if (!app.sig) throw new ApiError("media.not_connected", "the console's softphone is not connected yet");
  await app.sig.request({ type: "supervise", call_id: agent.call.call_id, mode });
  app.tap = { callId: agent.call.call_id, agentId: agent.agent_id, mode };
  logLine(`${mode} on ${agent.agent_id}'s call`);
  renderTap();
}

async function forceNotReady(agent) {
  const reason = $("force-reason").value;
  await request("POST", `/v1/supervisor/agents/${encodeURIComponent(agent.agent_id)}/not_ready`, { reason });
  logLine(`${agent.agent_id} forced not ready (${reason})`);
}

async function sendMessage(agent) {
  const text = $("message-text").value.trim();
  if (!text) throw new ApiError("client.no_message", "type the message first");
  await request("POST", `/v1/supervisor/agents/${encodeURIComponent(agent.agent_id)}/message`, { text });
  logLine(`message sent to ${agent.agent_id}`);
}

function wire() {
  $("login-form").addEventListener("submit", guarded(login));
  $("site-filter").addEventListener("change", restartStream);
  show("site-filter", app.centrals.length > 0);
  $("site-filter").previousElementSibling.hidden = app.centrals.length === 0;
  $("team-filter").addEventListener("change", restartStream);
  $("queue-filter").addEventListener("change", restartStream);
  const agentParam = new URLSearchParams(window.location.search).get("agent");
  if (agentParam) $("agent-id").value = agentParam;
}

wire();

// Test hook: what the console shows and hears (the peak frequency of the call it taps).
window.__cc = {
  view: () => app.view,
  updates: () => app.updates,
  tap: () => app.tap,
  media: () => Boolean(app.sig) && phone.connected,
  dominantFrequency: () => phone.dominantFrequency(),
};
