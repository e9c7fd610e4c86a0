// Queue statistics on the desk (issue 18, defect 7): the queues of my skills (waiting calls,
// longest wait) and my day (handled calls, average handle time), pushed by the site as the
// desk_stats event on the agent's signalling channel when they change. The longest wait
// counts on here from the moment the figures arrived (a duration, like the timers).

import { duration, number, t } from "../i18n.js";
import { registerPanel } from "./panels.js";
import { el } from "../ui.js";

let last = null;

function waitedNow(row, stats, nowMs) {
  return row.waiting ? row.longest_wait_s + (nowMs - stats.at) / 1000 : 0;
}

function fill(body, stats) {
  if (!stats) {
    body.replaceChildren(el("p", { id: "stats-pending" }, t("stats.pending")));
    return;
  }
  const now = performance.now();
  const mine = el("dl", { class: "timers", id: "my-day" },
    el("div", {}, el("dt", {}, t("stats.handled")), el("dd", { id: "stats-handled" }, number(stats.handled))),
    el("div", {}, el("dt", {}, t("stats.aht")), el("dd", { id: "stats-aht" }, stats.aht_s === null ? "-" : duration(stats.aht_s))));
  if (!stats.queues.length) {
    body.replaceChildren(mine, el("p", {}, t("stats.none")));
    return;
  }
  const head = el("tr", {}, ...["stats.queue", "stats.waiting", "stats.longest"].map((k) => el("th", { scope: "col" }, t(k))));
  const rows = stats.queues.map((row) => el("tr", { "data-queue": row.queue },
    el("th", { scope: "row" }, row.queue),
    el("td", { "data-key": "waiting" }, number(row.waiting)),
    el("td", { "data-key": "longest_wait_s" }, row.waiting ? duration(waitedNow(row, stats, now)) : "-")));
  body.replaceChildren(mine, el("table", { id: "queue-stats" }, el("thead", {}, head), el("tbody", {}, ...rows)));
}

registerPanel({
  id: "stats",
  title: "Queues and my day",
  titleKey: "stats.title",
  order: 80,
  render(body) {
    fill(body, null);
    setInterval(() => { if (last && last.queues.some((q) => q.waiting)) fill(body, last); }, 1000); // lives with the page
  },
  update(body, desk) {
    last = desk.stats;
    fill(body, last);
  },
});
