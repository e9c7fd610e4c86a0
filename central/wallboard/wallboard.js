// Live wallboard: renders /v1/wallboard snapshots pushed over server-sent events.
const STATES = [
  ["ready", "Ready"], ["reserved", "Ringing"], ["on_call", "On call"], ["on_hold", "On hold"],
  ["after_call_work", "Wrap-up"], ["not_ready", "Not ready"], ["logged_out", "Logged out"],
];

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

export function seconds(value) {
  if (value === null || value === undefined) return "–";
  const s = Math.round(value);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
}

export function percent(value) {
  return value === null || value === undefined ? "–" : `${Math.round(value * 100)} %`;
}

function tile(label, value, key) {
  return el("div", {}, el("dt", {}, label), el("dd", { "data-key": key }, String(value)));
}

function agentsText(byState) {
  return STATES.filter(([state]) => byState[state]).map(([state, label]) => `${label} ${byState[state]}`)
    .join(", ") || "none";
}

function renderTotal(total) {
  const ready = total.agents_by_state.ready || 0;
  const busy = (total.agents_by_state.on_call || 0) + (total.agents_by_state.on_hold || 0);
  $("total").replaceChildren(
    tile("Calls waiting", total.waiting, "waiting"),
    tile("Longest wait", seconds(total.longest_wait_s), "longest_wait_s"),
    tile("Service level today", percent(total.service_level), "service_level"),
    tile("Agents ready", ready, "ready"),
    tile("Agents on calls", busy, "on_call"),
    tile("Live calls", total.live_calls, "live_calls"),
    tile("Sites live", total.sites_live, "sites_live"),
    tile("Sites left", total.sites_left, "sites_left"),
  );
}

function queueTable(site) {
  const head = el("tr", {}, ...["Queue", "Waiting", "Longest wait", "Staffed", "Ready", "Answered",
    "Service level today"].map((h) => el("th", { scope: "col" }, h)));
  const rows = site.queues.map((q) => {
    const low = q.service_level !== null && q.service_level < 0.8;
    return el("tr", { "data-queue": q.queue },
      el("th", { scope: "row" }, q.queue),
      el("td", { class: `waiting${q.waiting ? " busy" : ""}`, "data-key": "waiting" }, String(q.waiting)),
      el("td", { "data-key": "longest_wait_s" }, seconds(q.longest_wait_s)),
      el("td", {}, String(q.staffed)),
      el("td", {}, String(q.ready)),
      el("td", {}, String(q.answered)),
      el("td", { class: `sl${low ? " low" : ""}`, "data-key": "service_level" }, percent(q.service_level)));
  });
  return el("table", { "aria-label": `Queues of ${site.site}` },
    el("caption", {}, `Queues of ${site.site}`), el("thead", {}, head), el("tbody", {}, ...rows));
}

function renderSite(site) {
  const left = site.status === "left";
  const title = el("h3", { id: `site-${site.site}` }, site.site,
    el("span", { class: "badge" }, left ? "left the cluster" : "live"));
  const card = el("article", { class: `site${left ? " left" : ""}`, "data-site": site.site,
    "data-status": site.status, "aria-labelledby": `site-${site.site}` }, title);
  if (left) {
    card.append(el("p", {}, "This site is no longer connected; its calls are re-routed."));
    return card;
  }
  card.append(
    el("dl", { class: "tiles" },
      tile("Calls waiting", site.waiting, "waiting"),
      tile("Longest wait", seconds(site.longest_wait_s), "longest_wait_s"),
      tile("Service level today", percent(site.service_level), "service_level"),
      tile("Live calls", site.live_calls, "live_calls")),
    el("p", { class: "agents", "data-key": "agents_by_state" }, `Agents: ${agentsText(site.agents_by_state)}`),
    queueTable(site));
  return card;
}

export function render(snapshot) {
  renderTotal(snapshot.total);
  $("sites").replaceChildren(...snapshot.sites.map(renderSite));
  $("empty").hidden = snapshot.sites.length > 0;
  document.body.dataset.updated = String(Date.now());
}

function status(state, text) {
  const node = $("connection");
  node.dataset.state = state;
  node.textContent = text;
}

function connect() {
  const source = new EventSource("/v1/wallboard/stream");
  source.addEventListener("open", () => status("live", "Live"));
  source.addEventListener("snapshot", (event) => {
    status("live", "Live");
    render(JSON.parse(event.data));
  });
  source.addEventListener("heartbeat", () => status("live", "Live"));
  source.addEventListener("error", () => status("lost", "Connection lost, reconnecting…"));
}

connect();
