// Live wallboard: renders /v1/wallboard snapshots pushed over server-sent events.
// Texts from the one catalogue (i18n.js, English and Chinese), figures formatted with Intl.
import { duration, locale, mountLanguageSwitch, number, onLanguage, t } from "./i18n.js";

const STATES = ["ready", "reserved", "on_call", "on_hold", "after_call_work", "not_ready", "logged_out"];

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
  return value === null || value === undefined ? "–" : duration(value);
}

export function percent(value) {
  if (value === null || value === undefined) return "–";
  return new Intl.NumberFormat(locale(), { style: "percent" }).format(value);
}

function tile(label, value, key) {
  return el("div", {}, el("dt", {}, t(label)), el("dd", { "data-key": key }, typeof value === "number" ? number(value) : String(value)));
}

function agentsText(byState) {
  return STATES.filter((state) => byState[state]).map((state) => `${t(`wb.st.${state}`)} ${number(byState[state])}`)
    .join(", ") || t("wb.none");
}

function renderTotal(total) {
  const ready = total.agents_by_state.ready || 0;
  const busy = (total.agents_by_state.on_call || 0) + (total.agents_by_state.on_hold || 0);
  $("total").replaceChildren(
    tile("wb.waiting", total.waiting, "waiting"),
    tile("wb.longest", seconds(total.longest_wait_s), "longest_wait_s"),
    tile("wb.sl", percent(total.service_level), "service_level"),
    tile("wb.ready", ready, "ready"),
    tile("wb.onCall", busy, "on_call"),
    tile("wb.liveCalls", total.live_calls, "live_calls"),
    tile("wb.sitesLive", total.sites_live, "sites_live"),
    tile("wb.sitesLeft", total.sites_left, "sites_left"),
  );
}

function queueTable(site) {
  const head = el("tr", {}, ...["wb.queue", "wb.qWaiting", "wb.longest", "wb.staffed", "wb.qReady", "wb.answered",
    "wb.sl"].map((h) => el("th", { scope: "col" }, t(h))));
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
  const caption = t("wb.queuesOf", { site: site.site });
  return el("table", { "aria-label": caption },
    el("caption", {}, caption), el("thead", {}, head), el("tbody", {}, ...rows));
}

function renderSite(site) {
  const left = site.status === "left";
  const title = el("h3", { id: `site-${site.site}` }, site.site,
    el("span", { class: "badge" }, left ? t("wb.left") : t("wb.siteLive")));
  const card = el("article", { class: `site${left ? " left" : ""}`, "data-site": site.site,
    "data-status": site.status, "aria-labelledby": `site-${site.site}` }, title);
  if (left) {
    card.append(el("p", {}, t("wb.leftText")));
    return card;
  }
  card.append(
    el("dl", { class: "tiles" },
      tile("wb.waiting", site.waiting, "waiting"),
      tile("wb.longest", seconds(site.longest_wait_s), "longest_wait_s"),
      tile("wb.sl", percent(site.service_level), "service_level"),
      tile("wb.liveCalls", site.live_calls, "live_calls")),
    el("p", { class: "agents", "data-key": "agents_by_state" }, t("wb.agents", { list: agentsText(site.agents_by_state) })),
    queueTable(site));
  return card;
}

let lastSnapshot = null;

export function render(snapshot) {
  lastSnapshot = snapshot;
  renderTotal(snapshot.total);
  $("sites").replaceChildren(...snapshot.sites.map(renderSite));
  $("empty").hidden = snapshot.sites.length > 0;
  document.body.dataset.updated = String(Date.now());
}

function status(state, key) {
  const node = $("connection");
  node.dataset.state = state;
  node.dataset.i18n = key; // follows a switch of language
  node.textContent = t(key);
}

function connect() {
  const source = new EventSource("/v1/wallboard/stream");
  source.addEventListener("open", () => status("live", "wb.live"));
  source.addEventListener("snapshot", (event) => {
    status("live", "wb.live");
    render(JSON.parse(event.data));
  });
  source.addEventListener("heartbeat", () => status("live", "wb.live"));
  source.addEventListener("error", () => status("lost", "wb.lost"));
}

mountLanguageSwitch($("lang-box"));
onLanguage(() => { if (lastSnapshot) render(lastSnapshot); });
connect();
